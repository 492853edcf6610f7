"""The works catalogue: registered works by owner and title, derived from the log.

The catalogue holds nothing the log does not: it can be dropped and rebuilt from the log's
entries at any time (``through`` says how far it has read). It exists so that "works of this
creator" and "works titled like this" are index look-ups rather than scans of every leaf.
Every adapter must pass ``tests/contract/test_catalog.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


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


class WorkCatalog(Protocol):
    def through(self) -> int:
        """How many log entries (registrations or not) have been read into the catalogue."""
        ...

    def add(self, entries: Sequence[CatalogEntry], through: int) -> None:
        """Add entries read from the log up to index ``through`` (exclusive), atomically."""
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

    def close(self) -> None: ...
