"""Log records and the storage port.

The storage port is deliberately small: an exclusive write section (``LogStore.sequencer``)
in which the sequencer reads the tree's right edge and appends a batch atomically (entries,
new tree nodes and the signed checkpoint commit together or not at all), and reads. Every
adapter must pass ``tests/contract/test_log_store.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from copyseal.core import merkle
from copyseal.core.claims import Claim, content_key
from copyseal.core.workid import compute_work_id


@dataclass(frozen=True)
class Entry:
    """One log entry: the leaf bytes and the columns indexed for look-ups."""

    index: int
    leaf: bytes
    leaf_hash: bytes
    type: str
    signer: str
    nonce: str
    content_sha256: str | None
    logged_at: str

    @property
    def work_id(self) -> str:
        return compute_work_id(self.index, self.leaf_hash)

    @classmethod
    def of(cls, index: int, leaf: bytes, claim: Claim, logged_at: str) -> Entry:
        """The entry of ``claim`` logged as ``leaf`` at ``index``, with its look-up columns."""
        return cls(
            index=index,
            leaf=leaf,
            leaf_hash=merkle.leaf_hash(leaf),
            type=claim.type,
            signer=claim.signer,
            nonce=claim.nonce,
            content_sha256=content_key(claim.type, claim.body),
            logged_at=logged_at,
        )


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    note: str
    issued_at: str


class LogWriter(Protocol):
    """Inside the exclusive write section. Reads see the section's own uncommitted state."""

    def tree_size(self) -> int: ...

    def read_node(self, level: int, index: int) -> bytes: ...

    def nodes_at(self, coords: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored nodes among ``coords`` (level, index)."""
        ...

    def find_nonces(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Entry]:
        """The entries that used these (signer, nonce) pairs."""
        ...

    def find_contents(self, hashes: Iterable[str]) -> dict[str, list[Entry]]:
        """Every entry with each of these content hashes (or commitments), in log order;
        absent ones are left out."""
        ...

    def head(self) -> tuple[int, str | None]:
        """The tree size and the last entry's ``logged_at`` (None while empty)."""
        ...

    def similar(self, keys: Sequence[int], *, limit: int = 200) -> list[int]: ...

    def add_index(
        self, keys: Iterable[tuple[int, int]], links: Iterable[tuple[int, int, str]] = ()
    ) -> None:
        """Similarity index rows (key, entry) and links (entry, target, kind)."""
        ...

    def clear_index(self) -> None: ...

    def append(
        self,
        entries: Sequence[Entry],
        nodes: Mapping[tuple[int, int], bytes],
        checkpoint: StoredCheckpoint | None,
    ) -> None: ...


class LogStore(Protocol):
    def sequencer(self) -> AbstractContextManager[LogWriter]:
        """An exclusive write section; it commits durably on a clean exit, else rolls back.

        Within a section, ``append`` may be called several times; a batch without a
        checkpoint extends the tree, and the section's last batch normally carries one.
        """
        ...

    def tree_size(self) -> int: ...

    def read_node(self, level: int, index: int) -> bytes: ...

    def entry(self, index: int) -> Entry | None: ...

    def entries(self, start: int, stop: int) -> list[Entry]: ...

    def entries_by_signer(self, signer: str, *, after: int, limit: int) -> list[Entry]: ...

    def find_content(self, content_sha256: str) -> list[Entry]: ...

    def find_contents(self, hashes: Iterable[str]) -> dict[str, list[Entry]]:
        """:meth:`find_content` for many hashes at once (absent ones are left out)."""
        ...

    def entries_at(self, indices: Iterable[int]) -> dict[int, Entry]:
        """The entries at these indices, those that exist."""
        ...

    def similar(self, keys: Sequence[int], *, limit: int = 200) -> list[int]:
        """Entries sharing similarity index keys with ``keys``, most shared first."""
        ...

    def similar_many(
        self, queries: Sequence[Sequence[int] | npt.NDArray[np.int64]], *, limit: int = 200
    ) -> list[list[int]]:
        """:meth:`similar` for many queries at once (each a list or an int64 array)."""
        ...

    def links(self, entry: int) -> list[tuple[int, int, str]]:
        """Lineage links from or to ``entry``: (entry, target, kind)."""
        ...

    def latest_checkpoint(self) -> StoredCheckpoint | None: ...

    def checkpoint(self, size: int) -> StoredCheckpoint | None: ...

    def checkpoints(self) -> Iterator[StoredCheckpoint]: ...

    def add_cosignatures(self, size: int, note: str) -> None:
        """Replace the checkpoint of ``size`` by the same note with more signature lines.

        The caller guarantees ``note`` has the stored note's text and signatures, plus new
        witness lines; the adapter refuses anything that changes the signed text.
        """
        ...

    def nodes(self, level: int) -> Iterator[tuple[int, bytes]]: ...

    def read_nodes(self, level: int, start: int, stop: int) -> list[bytes]:
        """Hashes of the stored nodes ``start ≤ index < stop`` at ``level``, in order."""
        ...

    def close(self) -> None: ...
