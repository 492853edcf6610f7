"""The anti-squatting rules: from what a claim's content matches to the claim's verdict.

Priority is log order (``docs/similarity.md``, "Registration"). A claim is refused when its
content matches another creator's work that it neither declares as a parent nor merely
copies from the signer's own earlier work; the signer's own bytes again are a repeat, never
refused. :meth:`SimilaritySearch.assess_many` finds the matches and applies :func:`verdict`;
the sequencer applies :func:`exact_copy_refusal` once more inside its transaction, to the
content hashes logged since the check, so two creators cannot both get the same new bytes.

Nothing here reads the log: the rules take the matches (or entries) they judge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from copyseal.core.claims import Claim
from copyseal.domain.log import Entry
from copyseal.errors import ConflictError, CopysealError
from copyseal.fingerprint.index import EXACT

if TYPE_CHECKING:
    from copyseal.services.search import WorkMatch


@dataclass(frozen=True)
class Assessment:
    """The policy's verdict on a registration: a refusal, or the links to record."""

    refusal: CopysealError | None = None
    links: tuple[tuple[int, str], ...] = ()  # (earlier entry index, "version")


def verdict(claim: Claim, parents: set[str], matches: Sequence[WorkMatch]) -> Assessment:
    """The verdict on a claim whose content has these matches (ranked, as a check ranks
    them); ``parents`` are the works it declares it derives from (checked to exist).

    - The signer's own exact bytes: a repeat, accepted as it is (the sequencer returns the
      earlier registration), whatever else matches.
    - The signer's other matching works: accepted, linked as versions.
    - Another creator's work refuses the claim, unless it is a declared parent, or it copies
      one of the signer's matching works registered before it (``WorkMatch.copies``): then
      it is a later copy of the signer's own work, and cannot stand in the signer's way.
    """
    if any(m.kind == EXACT and m.owner == claim.signer for m in matches):
        return Assessment()
    own = {m.index for m in matches if m.owner == claim.signer}
    links: list[tuple[int, str]] = []
    blocking: list[WorkMatch] = []
    for match in matches:
        if match.owner == claim.signer:
            links.append((match.index, "version"))
        elif match.work_id not in parents and not own.intersection(match.copies):
            blocking.append(match)
    if blocking:
        return Assessment(refusal=squatting_conflict(_named(blocking)))
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
    parents = set(claim.body.get("derivative_of", ()))
    first_own = min(versions, default=None)
    for entry in earlier:
        if entry.type != "register" or entry.signer == claim.signer or entry.work_id in parents:
            continue
        if first_own is not None and first_own < entry.index:
            continue
        return _conflict(entry.work_id, entry.signer, EXACT, 1.0)
    return None


def squatting_conflict(match: WorkMatch) -> ConflictError:
    return _conflict(match.work_id, match.owner, match.kind, match.score)


def _conflict(work_id: str, owner: str, kind: str, score: float) -> ConflictError:
    return ConflictError(
        f"this content matches work {work_id}, registered earlier by "
        f"{owner} ({kind}, score {score:.2f})",
        hint="If your work builds on it, register with --derivative-of "
        f"{work_id}; if you claim it is yours, use --dispute "
        f"{work_id} --reason '…'.",
        earlier=work_id,
        owner=owner,
        certificate=f"/api/v1/works/{work_id}/certificate",
        kind=kind,
        score=round(score, 4),
    )
