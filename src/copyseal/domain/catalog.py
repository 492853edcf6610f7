"""The works catalogue: registered works by owner and title, derived from the log.

The catalogue is a fold (``domain/folds.py``): it holds nothing the log does not, and can be
dropped and rebuilt from the log's entries at any time. It exists so that "works of this
creator" and "works titled like this" are index look-ups rather than scans of every leaf.
Every adapter must pass ``tests/contract/test_catalog.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from copyseal.domain.folds import FoldStore


@dataclass(frozen=True)
class CatalogEntry:
    index: int
    work_id: str
    owner: str
    title: str | None
    media_type: str
    size: int
    sha256: str
    logged_at: str


class WorkCatalog(FoldStore, Protocol):
    def add(self, entries: Sequence[CatalogEntry], start: int, stop: int) -> bool:
        """The works among the log entries ``start ≤ index < stop``, atomically."""
        ...

    def find(
        self,
        *,
        owners: Sequence[str] | None = None,
        title: str | None = None,
        after: int = -1,
        limit: int = 50,
    ) -> list[CatalogEntry]:
        """Works with index > ``after``, oldest first; ``owners`` restricts to those keys,
        ``title`` to titles containing it (case-insensitive)."""
        ...
