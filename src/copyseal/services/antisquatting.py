"""Anti-squatting: a registry refuses a work that copies or nearly copies another creator's
earlier work, unless the claim declares it (a derivative names it as a parent; a dispute is
a claim of another kind, which this rule does not hold back).

The rule sees a claim's content when the submitter gives it (the CLI, the web, a custodial
registration) and then checks it like "who owns this?" does (``services/search.py``); a claim
submitted alone, signed by its creator's own key, can be held only to its exact hash. A
creator's own earlier version is no conflict: it is linked (``version``). ``docs/similarity.md``
states the rule in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from copyseal.core.claims import Claim
from copyseal.core.kinds import read
from copyseal.errors import ConflictError, CopysealError
from copyseal.fingerprint import index as fx
from copyseal.services.admission import Assessment
from copyseal.services.fingerprints import media_kind
from copyseal.services.search import SimilaritySearch, TextQuery, WorkMatch, text_query

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
        """A claim submitted without its content: held to its exact hash."""
        hashes = [str((public_content(c) or {})["sha256"]) for c in claims]
        earlier = self.search.registered_by_hash(hashes)
        verdicts = []
        for claim, sha256 in zip(claims, hashes, strict=True):
            outcome = Assessment()
            parents = parents_of(claim)
            for entry in earlier.get(sha256, []):
                if entry.signer != claim.signer and entry.work_id not in parents:
                    match = fx.Match(entry.index, entry.index, fx.EXACT, 1.0, {}, original=True)
                    outcome = Assessment(refusal=squatting(self.search.describe(match)))
                    break
            verdicts.append(outcome)
        return verdicts


def verdict(claim: Claim, matches: Sequence[WorkMatch]) -> Assessment:
    """The rule's verdict on a claim whose content has these matches."""
    parents = parents_of(claim)
    links: list[tuple[int, str]] = []
    for match in matches:
        if match.owner == claim.signer:
            links.append((match.index, "version"))
        elif match.work_id not in parents:
            return Assessment(refusal=squatting(match))
    return Assessment(links=tuple(dict.fromkeys(links)))


def squatting(match: WorkMatch) -> ConflictError:
    """The refusal: names the earlier work, its owner and how alike they are. Interfaces
    word the remedy (declare it as a parent, or dispute it) in their own terms."""
    return ConflictError(
        f"this content matches work {match.work_id}, registered earlier by "
        f"{match.owner} ({match.kind}, score {match.score:.2f})",
        earlier=match.work_id,
        owner=match.owner,
        certificate=f"/api/v1/works/{match.work_id}/certificate",
        kind=match.kind,
        score=round(match.score, 4),
        remedy="derivative-or-dispute",
    )
