"""State folded from the log, and the storage ports of each fold.

A fold is derived state: the similarity index, lineage, ownership, the works catalogue. Each
is a pure function of the log's entries in order, persisted with the position it has read
(``through``), and rebuildable from the log alone. Its store records a span of entries only
if it had read exactly up to the span's start (``add(…, start, stop)`` returns False
otherwise, and nothing is written), so several processes may follow one log and no entry is
ever folded twice. ``services/folds.py`` keeps folds in step; a reader catches its fold up
before it answers, so a stale fold costs a read of the log, never a wrong answer.

Every adapter of each port passes its suite in ``tests/contract``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # only for the port's signatures: a verifier installs no numpy
    import numpy as np
    import numpy.typing as npt


class FoldStore(Protocol):
    def batch(self) -> AbstractContextManager[object]:
        """A scope whose writes commit together, with those of the stores opened with this
        one where the adapter can group them (else a scope that changes nothing)."""
        ...

    def through(self) -> int:
        """How many log entries have been folded in (whatever their kind)."""
        ...

    def clear(self) -> None:
        """Forget everything folded (``through`` becomes 0), for a rebuild."""
        ...

    def close(self) -> None: ...


class SimilarityIndex(FoldStore, Protocol):
    """Similarity index keys (``fingerprint/index.py``) of every entry that has some."""

    def add(self, rows: Sequence[tuple[int, int]], start: int, stop: int) -> bool:
        """Rows (key, entry) of the entries ``start ≤ index < stop``, atomically."""
        ...

    def similar(self, keys: Sequence[int], *, limit: int = 200) -> list[int]:
        """Entries sharing keys with ``keys``, most shared first, then oldest first."""
        ...

    def similar_many(
        self, queries: Sequence[Sequence[int] | npt.NDArray[np.int64]], *, limit: int = 200
    ) -> list[list[int]]:
        """:meth:`similar` for many queries at once (each a list or an int64 array)."""
        ...


@dataclass(frozen=True)
class LinkRow:
    """``source`` (an entry) relates to ``target`` (an earlier work) as ``relation``."""

    source: int
    target: int
    relation: str


class LineageStore(FoldStore, Protocol):
    """Links between works: those claims declare (derivative, dispute), and those the
    registry observed at admission (a creator's own earlier version). Observed links are no
    claim's: a rebuild keeps them."""

    def add(self, links: Sequence[LinkRow], start: int, stop: int) -> bool:
        """The declared links of the entries ``start ≤ index < stop``, atomically."""
        ...

    def observe(self, links: Sequence[LinkRow]) -> None:
        """Record links the registry found (idempotent)."""
        ...

    def links(self, entry: int) -> list[LinkRow]:
        """Links from or to ``entry``, by source then target."""
        ...


@dataclass(frozen=True)
class OwnerRow:
    """From entry ``since`` on, ``owner`` owns the work at index ``work``."""

    work: int
    owner: str
    since: int


class OwnershipStore(FoldStore, Protocol):
    def add(self, rows: Sequence[OwnerRow], start: int, stop: int) -> bool:
        """Changes of owner made by the entries ``start ≤ index < stop``, atomically."""
        ...

    def owners(self, works: Iterable[int]) -> dict[int, str]:
        """The current owner of each of these works (works without one are left out)."""
        ...

    def history(self, work: int) -> list[OwnerRow]:
        """Every owner the work has had, oldest first."""
        ...
