"""In-memory stores for tests: the log store with fault hooks, the folds' stores, contents.

They pass the same contract suites as the SQLite adapters (``tests/contract``), so a test
that wires them exercises the real services without a database, and a fault hook makes a
write section fail at a chosen point (as Sunlight's MemoryBackend takes an UploadCallback).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from copyseal.domain.catalog import CatalogEntry
from copyseal.domain.folds import LinkRow, OwnerRow
from copyseal.domain.log import Entry, StoredCheckpoint
from copyseal.errors import ConflictError, ContentTooLarge, EmptyContent, NotFound

Fault = Callable[[str], None]
"""Called at each point of a write section ("begin", "append", "commit"); raising from it
fails the section there, as a crash or a full disk would."""


def _no_fault(point: str) -> None:
    return None


@dataclass
class _LogState:
    entries: list[Entry] = field(default_factory=list)
    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    checkpoints: dict[int, StoredCheckpoint] = field(default_factory=dict)
    nonces: dict[tuple[str, str], int] = field(default_factory=dict)

    def copy(self) -> _LogState:
        return _LogState(
            list(self.entries), dict(self.nodes), dict(self.checkpoints), dict(self.nonces)
        )


class _LogReads:
    state: _LogState

    def tree_size(self) -> int:
        return len(self.state.entries)

    def read_node(self, level: int, index: int) -> bytes:
        found = self.state.nodes.get((level, index))
        if found is None:
            raise NotFound(f"tree node ({level}, {index}) is not stored")
        return found

    def nodes_at(self, coords: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        return {c: self.state.nodes[c] for c in coords if c in self.state.nodes}

    def find_nonces(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Entry]:
        return {k: self.state.entries[self.state.nonces[k]] for k in keys if k in self.state.nonces}

    def find_contents(self, hashes: Iterable[str]) -> dict[str, list[Entry]]:
        wanted = set(hashes)
        found: dict[str, list[Entry]] = {}
        for entry in self.state.entries:
            if entry.content_sha256 in wanted:
                found.setdefault(entry.content_sha256, []).append(entry)
        return found

    def entries_at(self, indices: Iterable[int]) -> dict[int, Entry]:
        size = len(self.state.entries)
        return {i: self.state.entries[i] for i in indices if 0 <= i < size}

    def head(self) -> tuple[int, str | None]:
        entries = self.state.entries
        return len(entries), entries[-1].logged_at if entries else None


class _MemoryWriter(_LogReads):
    def __init__(self, state: _LogState, fault: Fault) -> None:
        self.state = state
        self.fault = fault

    def append(
        self,
        entries: Sequence[Entry],
        nodes: Mapping[tuple[int, int], bytes],
        checkpoint: StoredCheckpoint | None,
    ) -> None:
        self.fault("append")
        for entry in entries:
            key = (entry.signer, entry.nonce)
            if entry.index != len(self.state.entries) or key in self.state.nonces:
                raise ConflictError(f"the store refused entry {entry.index}")
            self.state.nonces[key] = entry.index
            self.state.entries.append(entry)
        self.state.nodes.update(nodes)
        if checkpoint is not None:
            self.state.checkpoints[checkpoint.size] = checkpoint


class MemoryLogStore(_LogReads):
    """A :class:`copyseal.domain.log.LogStore` in memory. A write section works on a copy of
    the state and replaces the state with it only when it commits."""

    def __init__(self, *, fault: Fault = _no_fault) -> None:
        self.state = _LogState()
        self.fault = fault
        self._lock = threading.Lock()

    @contextmanager
    def sequencer(self) -> Iterator[_MemoryWriter]:
        with self._lock:
            self.fault("begin")
            staged = self.state.copy()
            yield _MemoryWriter(staged, self.fault)
            self.fault("commit")
            self.state = staged

    def read_nodes(self, level: int, start: int, stop: int) -> list[bytes]:
        found = [self.state.nodes.get((level, i)) for i in range(start, stop)]
        if any(h is None for h in found):
            raise NotFound(f"tree nodes {start}..{stop} at level {level} are not all stored")
        return [h for h in found if h is not None]

    def nodes(self, level: int) -> Iterator[tuple[int, bytes]]:
        yield from sorted((i, h) for (lv, i), h in self.state.nodes.items() if lv == level)

    def entry(self, index: int) -> Entry | None:
        return self.state.entries[index] if 0 <= index < len(self.state.entries) else None

    def entries(self, start: int, stop: int) -> list[Entry]:
        return self.state.entries[max(0, start) : max(0, stop)]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        sizes = self.state.checkpoints
        return sizes[max(sizes)] if sizes else None

    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        return self.state.checkpoints.get(size)

    def checkpoints(self) -> Iterator[StoredCheckpoint]:
        yield from (self.state.checkpoints[s] for s in sorted(self.state.checkpoints))

    def add_cosignatures(self, size: int, note: str) -> None:
        with self._lock:
            old = self.state.checkpoints.get(size)
            if old is None:
                raise NotFound(f"no checkpoint of size {size}")
            if not note.startswith(old.note):
                raise ConflictError("cosignatures may only be appended to a checkpoint")
            self.state.checkpoints[size] = StoredCheckpoint(size, note, old.issued_at)

    def close(self) -> None:
        return None


# -- folds ------------------------------------------------------------------------------------


class _MemoryFold:
    def __init__(self) -> None:
        self._through = 0
        self._lock = threading.Lock()

    def through(self) -> int:
        return self._through

    def batch(self) -> AbstractContextManager[object]:
        return nullcontext()

    def _claim(self, start: int, stop: int) -> bool:
        if self._through != start:
            return False
        self._through = stop
        return True

    def close(self) -> None:
        return None


class MemorySimilarityIndex(_MemoryFold):
    def __init__(self) -> None:
        super().__init__()
        self.rows: set[tuple[int, int]] = set()

    def add(self, rows: Sequence[tuple[int, int]], start: int, stop: int) -> bool:
        with self._lock:
            if not self._claim(start, stop):
                return False
            self.rows.update(rows)
            return True

    def clear(self) -> None:
        with self._lock:
            self.rows.clear()
            self._through = 0

    def similar(self, keys: Sequence[int], *, limit: int = 200) -> list[int]:
        wanted = set(int(k) for k in keys)
        counts: dict[int, int] = {}
        for key, entry in self.rows:
            if key in wanted:
                counts[entry] = counts.get(entry, 0) + 1
        return sorted(counts, key=lambda e: (-counts[e], e))[:limit]

    def similar_many(
        self, queries: Sequence[Sequence[int] | npt.NDArray[np.int64]], *, limit: int = 200
    ) -> list[list[int]]:
        return [self.similar(list(np.asarray(q).reshape(-1)), limit=limit) for q in queries]


class MemoryLineage(_MemoryFold):
    OBSERVED = ("version",)

    def __init__(self) -> None:
        super().__init__()
        self.rows: set[LinkRow] = set()

    def add(self, links: Sequence[LinkRow], start: int, stop: int) -> bool:
        with self._lock:
            if not self._claim(start, stop):
                return False
            self.rows.update(links)
            return True

    def observe(self, links: Sequence[LinkRow]) -> None:
        with self._lock:
            self.rows.update(links)

    def clear(self) -> None:
        with self._lock:
            self.rows = {r for r in self.rows if r.relation in self.OBSERVED}
            self._through = 0

    def links(self, entry: int) -> list[LinkRow]:
        found = [r for r in self.rows if entry in (r.source, r.target)]
        return sorted(found, key=lambda r: (r.source, r.target, r.relation))


class MemoryOwnership(_MemoryFold):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[OwnerRow] = []

    def add(self, rows: Sequence[OwnerRow], start: int, stop: int) -> bool:
        with self._lock:
            if not self._claim(start, stop):
                return False
            self.rows += rows
            return True

    def clear(self) -> None:
        with self._lock:
            self.rows.clear()
            self._through = 0

    def owners(self, works: Iterable[int]) -> dict[int, str]:
        wanted = set(works)
        found: dict[int, tuple[int, str]] = {}
        for row in self.rows:
            if row.work in wanted and row.since >= found.get(row.work, (-1, ""))[0]:
                found[row.work] = (row.since, row.owner)
        return {work: owner for work, (_, owner) in found.items()}

    def history(self, work: int) -> list[OwnerRow]:
        return sorted((r for r in self.rows if r.work == work), key=lambda r: r.since)


class MemoryCatalog(_MemoryFold):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[int, CatalogEntry] = {}

    def add(self, entries: Sequence[CatalogEntry], start: int, stop: int) -> bool:
        with self._lock:
            if not self._claim(start, stop):
                return False
            self.rows.update((e.index, e) for e in entries)
            return True

    def clear(self) -> None:
        with self._lock:
            self.rows.clear()
            self._through = 0

    def find(
        self,
        *,
        owners: Sequence[str] | None = None,
        title: str | None = None,
        after: int = -1,
        limit: int = 50,
    ) -> list[CatalogEntry]:
        found = [
            e
            for i, e in sorted(self.rows.items())
            if i > after
            and (owners is None or e.owner in owners)
            and (not title or (e.title is not None and title.casefold() in e.title.casefold()))
        ]
        return found[:limit]


class MemoryContentStore:
    """The content store in a dict; ``fault`` is called before each ``put`` keeps anything
    (raising from it fails the put, as a full disk would)."""

    def __init__(self, *, max_bytes: int = 1 << 20, fault: Fault = _no_fault) -> None:
        self.max_bytes = max_bytes
        self.fault = fault
        self.blobs: dict[bytes, bytes] = {}
        self._lock = threading.Lock()

    def put(self, contents: Sequence[bytes]) -> None:
        for content in contents:
            if not content:
                raise EmptyContent("empty content is not kept")
            if len(content) > self.max_bytes:
                raise ContentTooLarge("content over the limit", limit=self.max_bytes)
        self.fault("put")
        with self._lock:
            for content in contents:
                self.blobs.setdefault(hashlib.sha256(content).digest(), bytes(content))

    def get(self, sha256: bytes) -> bytes | None:
        return self.blobs.get(sha256)

    def size(self, sha256: bytes) -> int | None:
        found = self.blobs.get(sha256)
        return None if found is None else len(found)

    def close(self) -> None:
        return None
