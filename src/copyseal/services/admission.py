"""What a registry admits: rules a claim must meet beyond its format and signature.

Every rule is an :class:`AdmissionPolicy`, one method that gives each claim of a batch a
verdict: a refusal, or links the registry observed and records with it. Rules compose with
:class:`AllOf` (as sigstore-python's verification policies do), and a registry takes the list
of its rules, so a new kind that needs a new rule adds one to the list:

- :class:`DeclaredLinks`: the works a claim links to (derivative of, dispute of) are works
  of this log;
- :class:`OwnerOnly`: a claim that acts for a work (its kind's ``acts_for``) is signed by
  the work's current owner (the ownership fold);
- anti-squatting (``services/antisquatting.py``): content that matches another creator's
  earlier work is refused unless declared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from copyseal.core.claims import Claim
from copyseal.core.kinds import read
from copyseal.core.workid import parse_work_id
from copyseal.domain.folds import OwnershipStore
from copyseal.domain.log import Entry, LogStore
from copyseal.errors import CopysealError, Forbidden, NotFound
from copyseal.services.folds import Follower, Logged


@dataclass(frozen=True)
class Assessment:
    """A rule's verdict on a claim: a refusal, or the links to record."""

    refusal: CopysealError | None = None
    links: tuple[tuple[int, str], ...] = ()  # (earlier entry index, relation), e.g. "version"


class AdmissionPolicy(Protocol):
    def assess_many(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None]
    ) -> list[Assessment]:
        """One verdict per claim; ``contents`` holds each claim's content where the
        submitter gave it (None for a claim submitted alone)."""
        ...


@runtime_checkable
class SequencedRule(Protocol):
    """A rule that must hold again inside the sequencer's transaction, for what was logged
    since the claim was assessed (another creator's same bytes, a claim ahead in its batch).
    It may read nothing: the sequencer hands it what it read already."""

    def in_sequence(
        self, claim: Claim, links: Sequence[tuple[int, str]], same: Sequence[Entry]
    ) -> CopysealError | None:
        """The refusal, if ``claim`` (assessed with ``links``) may no longer be logged given
        ``same``, the entries with its content hash logged before it."""
        ...


class AllOf:
    """Every rule must admit a claim; the first refusal (in the rules' order) is its
    verdict, else the links all of them found. A claim one rule refuses is not shown to
    the rules after it."""

    def __init__(self, policies: Sequence[AdmissionPolicy]) -> None:
        self.policies = list(policies)

    def assess_many(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None]
    ) -> list[Assessment]:
        verdicts = [Assessment() for _ in claims]
        for policy in self.policies:
            open_ = [i for i, v in enumerate(verdicts) if v.refusal is None]
            if not open_:
                break
            found = policy.assess_many([claims[i] for i in open_], [contents[i] for i in open_])
            for i, verdict in zip(open_, found, strict=True):
                if verdict.refusal is not None:
                    verdicts[i] = verdict
                elif verdict.links:
                    links = dict.fromkeys(verdicts[i].links + verdict.links)
                    verdicts[i] = Assessment(links=tuple(links))
        return verdicts


class DeclaredLinks:
    """The works a claim's links name must be works of this log."""

    def __init__(self, store: LogStore) -> None:
        self.store = store

    def assess_many(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None]
    ) -> list[Assessment]:
        wanted = {
            link.target
            for claim in claims
            if (kind := read(claim).kind) is not None
            for link in kind.links(claim.body)
        }
        works = works_among(self.store, wanted)
        verdicts = []
        for claim in claims:
            kind = read(claim).kind
            missing = [
                link
                for link in (kind.links(claim.body) if kind is not None else ())
                if link.target not in works
            ]
            if missing:
                link = missing[0]
                refusal = NotFound(
                    f"this claim's {link.relation} link names {link.target}, not a work here",
                    work_id=link.target,
                )
                verdicts.append(Assessment(refusal=refusal))
            else:
                verdicts.append(Assessment())
        return verdicts


def works_among(store: LogStore, work_ids: Iterable[str]) -> set[str]:
    """Those of ``work_ids`` that name a work of this log (the entry at the ID's index, with
    the ID's check characters, of a kind that registers works)."""
    wanted = set(work_ids)
    entries = store.entries_at(parse_work_id(w) for w in wanted)
    return {
        e.work_id
        for e in entries.values()
        if e.work_id in wanted and (kind := Logged.read(e).kind) is not None and kind.work
    }


class OwnerOnly:
    """A claim that acts for a work must be signed by the work's current owner."""

    def __init__(self, store: LogStore, ownership: OwnershipStore, follower: Follower) -> None:
        self.store = store
        self.ownership = ownership
        self.follower = follower

    def assess_many(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None]
    ) -> list[Assessment]:
        acting: dict[int, str] = {}
        for i, claim in enumerate(claims):
            kind = read(claim).kind
            work = kind.acts_for(claim.body) if kind is not None else None
            if work is not None:
                acting[i] = work
        if not acting:
            return [Assessment() for _ in claims]
        self.follower.catch_up(["ownership"])
        works = works_among(self.store, acting.values())
        owners = self.ownership.owners(parse_work_id(w) for w in works)
        return [
            self._verdict(claim, acting.get(i), works, owners) for i, claim in enumerate(claims)
        ]

    @staticmethod
    def _verdict(
        claim: Claim, work: str | None, works: set[str], owners: dict[int, str]
    ) -> Assessment:
        if work is None:
            return Assessment()
        if work not in works:
            return Assessment(refusal=NotFound(f"no work {work} in this log", work_id=work))
        owner = owners.get(parse_work_id(work))
        if owner != claim.signer:
            refusal = Forbidden(
                f"only the owner of {work} may sign this {claim.type} claim",
                work_id=work,
                owner=owner,
            )
            return Assessment(refusal=refusal)
        return Assessment()
