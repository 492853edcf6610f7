"""Anti-squatting: a registry refuses a work that copies or nearly copies another creator's
earlier work, unless the claim declares it (a derivative names it as a parent; a dispute is
a claim of another kind, which this rule does not hold back).

Priority is log order, and nothing a claim declares changes it (``docs/similarity.md``,
"Registration"). The rule sees a claim's content when the submitter gives it (the CLI, the
web, a custodial registration) and then checks it like "who owns this?" does
(``services/search.py``); a claim submitted alone, signed by its creator's own key, can be
held only to its exact hash. :func:`verdict` judges a claim by its matches; the sequencer
applies :func:`exact_copy_refusal` once more inside its transaction
(:meth:`AntiSquatting.in_sequence`), to the content hashes logged since the check, so two
creators cannot both get the same new bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from copyseal.core.claims import Claim
from copyseal.core.kinds import read
from copyseal.domain.log import Entry
from copyseal.errors import ConflictError, CopysealError
from copyseal.fingerprint import index as fx
from copyseal.services.admission import Assessment
from copyseal.services.fingerprints import media_kind
from copyseal.services.search import (
    SimilaritySearch,
    TextQuery,
    WorkMatch,
    registered,
    text_query,
)

POLICY_TOP = 20
"""Matches the rule looks at: any from another creator refuses."""


def public_content(claim: Claim) -> dict[str, Any] | None:
    """The published content of a claim that registers a work (None for another kind, or a
    private registration, whose content is only a commitment)."""
    kind = read(claim).kind
    if kind is None or not kind.work:
        return None
    content = kind.describe(claim.body).get("content") or {}
    return content if "sha256" in content and "media_type" in content else None


def parents_of(claim: Claim) -> set[str]:
    kind = read(claim).kind
    links = kind.links(claim.body) if kind is not None else ()
    return {link.target for link in links if link.relation == "derivative"}


class AntiSquatting:
    """The rule, as an :class:`~copyseal.services.admission.AdmissionPolicy`."""

    def __init__(self, search: SimilaritySearch) -> None:
        self.search = search

    def assess_many(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None]
    ) -> list[Assessment]:
        """One verdict per claim; the texts of a batch are checked together."""
        verdicts: list[Assessment | None] = [None] * len(claims)
        texts: list[tuple[int, TextQuery]] = []
        by_hash: list[int] = []
        for i, (claim, content) in enumerate(zip(claims, contents, strict=True)):
            published = public_content(claim)
            try:
                if published is None:
                    verdicts[i] = Assessment()
                elif content is None:
                    by_hash.append(i)
                elif media_kind(published["media_type"]) == "text":
                    texts.append((i, text_query(content)))
                else:
                    found = self.search.check(
                        content, published["media_type"], top_k=POLICY_TOP, passages=False
                    )
                    verdicts[i] = verdict(claim, found)
            except CopysealError as exc:
                verdicts[i] = Assessment(refusal=exc)
        if texts:
            checked = self.search.check_texts([query for _, query in texts], top_k=POLICY_TOP)
            for (i, _), found in zip(texts, checked, strict=True):
                verdicts[i] = verdict(claims[i], found)
        if by_hash:
            exact = self._assess_exact([claims[i] for i in by_hash])
            for i, assessment in zip(by_hash, exact, strict=True):
                verdicts[i] = assessment
        return [v if v is not None else Assessment() for v in verdicts]

    def _assess_exact(self, claims: Sequence[Claim]) -> list[Assessment]:
        """Claims without their content: held to their exact hash, by the same rule as the
        sequencer's (:func:`exact_copy_refusal`); the signer's own bytes are a repeat."""
        hashes = [str((public_content(c) or {})["sha256"]) for c in claims]
        earlier = self.search.registered_by_hash(hashes)
        verdicts = []
        for claim, sha256 in zip(claims, hashes, strict=True):
            entries = earlier.get(sha256, [])
            if any(e.signer == claim.signer for e in entries):
                verdicts.append(Assessment())
            else:
                verdicts.append(Assessment(refusal=exact_copy_refusal(claim, entries, ())))
        return verdicts

    def in_sequence(
        self, claim: Claim, links: Sequence[tuple[int, str]], same: Sequence[Entry]
    ) -> CopysealError | None:
        return refused_in_sequence(claim, links, same)


def refused_in_sequence(
    claim: Claim, links: Sequence[tuple[int, str]], same: Sequence[Entry]
) -> CopysealError | None:
    """The exact-copy rule once more, in the sequencer's transaction: ``same`` are the
    entries with the claim's content hash logged before it, in the log when the batch began
    or ahead of it in the batch (a :class:`~copyseal.services.admission.SequencedRule`)."""
    if not same or public_content(claim) is None:
        return None
    versions = (target for target, relation in links if relation == "version")
    return exact_copy_refusal(claim, same, versions)


def verdict(claim: Claim, matches: Sequence[WorkMatch]) -> Assessment:
    """The verdict on a claim whose content has these matches (ranked, as a check ranks
    them).

    - The signer's own exact bytes: a repeat, accepted as it is (the sequencer returns the
      earlier registration), whatever else matches.
    - The signer's other matching works: accepted, linked as versions.
    - Another creator's work refuses the claim, unless it is a declared parent, or it copies
      one of the signer's matching works registered before it (``WorkMatch.copies``): then
      it is a later copy of the signer's own work, and cannot stand in the signer's way.
    """
    if any(m.kind == fx.EXACT and m.owner == claim.signer for m in matches):
        return Assessment()
    parents = parents_of(claim)
    own = {m.index for m in matches if m.owner == claim.signer}
    links: list[tuple[int, str]] = []
    blocking: list[WorkMatch] = []
    for match in matches:
        if match.owner == claim.signer:
            links.append((match.index, "version"))
        elif match.work_id not in parents and not own.intersection(match.copies):
            blocking.append(match)
    if blocking:
        return Assessment(refusal=squatting(_named(blocking)))
    return Assessment(links=tuple(dict.fromkeys(links)))


def _named(blocking: Sequence[WorkMatch]) -> WorkMatch:
    """The work a refusal names: of the best-ranked blocking match and the blocking works it
    copies, the earliest registration (a closer later copy must not be named over it)."""
    best = blocking[0]
    return min((m for m in blocking if m is best or m.index in best.copies), key=lambda m: m.index)


def exact_copy_refusal(
    claim: Claim, earlier: Iterable[Entry], versions: Iterable[int]
) -> ConflictError | None:
    """:func:`verdict`'s rule for entries with the claim's exact content hash, in log order.

    Such an entry matches everything the claim's content matches, so it is a later copy of
    the signer's own work exactly when one of the signer's matching works (``versions``,
    their entry indices) was logged before it. The signer's own entries are repeats, which
    the caller resolves first."""
    parents = parents_of(claim)
    first_own = min(versions, default=None)
    for entry in registered(earlier):
        if entry.signer == claim.signer or entry.work_id in parents:
            continue
        if first_own is not None and first_own < entry.index:
            continue
        return _conflict(entry.work_id, entry.signer, fx.EXACT, 1.0)
    return None


def squatting(match: WorkMatch) -> ConflictError:
    return _conflict(match.work_id, match.owner, match.kind, match.score)


def _conflict(work_id: str, owner: str, kind: str, score: float) -> ConflictError:
    """The refusal: names the earlier work, its owner and how alike they are. Interfaces
    word the remedy (declare it as a parent, or dispute it) in their own terms."""
    return ConflictError(
        f"this content matches work {work_id}, registered earlier by "
        f"{owner} ({kind}, score {score:.2f})",
        earlier=work_id,
        owner=owner,
        certificate=f"/api/v1/works/{work_id}/certificate",
        kind=kind,
        score=round(score, 4),
        remedy="derivative-or-dispute",
    )
