"""The embedded log store: SQLite in WAL mode with ``synchronous=FULL``.

Durability: a batch (entries, tree nodes and its signed checkpoint) is one transaction, and
the sequencer acknowledges a registration only after that transaction's commit has been
synced, so an acknowledged registration survives ``kill -9`` and power loss. Concurrent
registrations in one process share a commit through the sequencer's group commit; writers
in several processes take turns on a lock file beside the database.

Every complete-subtree hash is stored (``nodes``), so a proof costs O(log n) reads.

Only the log lives here; what is derived from its entries (the similarity index, lineage,
ownership, the catalogue) is kept by the folds' stores (``folds_sqlite.py``), in the same
file, each following the log.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from copyseal.adapters.storage.sqlite_common import (
    Transactions,
    connect,
    insert_rows,
    lookup,
    marks,
    padded,
    translate,
)
from copyseal.domain.log import Entry, StoredCheckpoint
from copyseal.errors import ConflictError, CopysealError, NotFound

SCHEMA_VERSION = "1"
WRITER_CACHE_KIB = 64 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    idx INTEGER PRIMARY KEY,
    leaf BLOB NOT NULL,
    leaf_hash BLOB NOT NULL,
    type TEXT NOT NULL,
    signer TEXT NOT NULL,
    nonce TEXT NOT NULL,
    content_sha256 TEXT,
    logged_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS entries_nonce ON entries (signer, nonce);
CREATE INDEX IF NOT EXISTS entries_content ON entries (content_sha256)
    WHERE content_sha256 IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_signer ON entries (signer, idx);
CREATE TABLE IF NOT EXISTS nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
"""

_ENTRY_COLUMNS = "idx, leaf, leaf_hash, type, signer, nonce, content_sha256, logged_at"


def _entry(row: Any) -> Entry:
    return Entry(
        index=row[0],
        leaf=bytes(row[1]),
        leaf_hash=bytes(row[2]),
        type=row[3],
        signer=row[4],
        nonce=row[5],
        content_sha256=row[6],
        logged_at=row[7],
    )


def _translate(exc: sqlite3.Error) -> CopysealError:
    return translate(exc, "log store")


class _Reads:
    """Queries shared by the store and its writer, over one connection."""

    conn: sqlite3.Connection

    def tree_size(self) -> int:
        row = self.conn.execute("SELECT max(idx) FROM entries").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def read_node(self, level: int, index: int) -> bytes:
        row = self.conn.execute(
            "SELECT hash FROM nodes WHERE level = ? AND idx = ?", (level, index)
        ).fetchone()
        if row is None:
            raise NotFound(f"tree node ({level}, {index}) is not stored")
        return bytes(row[0])

    def nodes_at(self, coords: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored nodes among ``coords`` (level, index), in one query."""
        found: dict[tuple[int, int], bytes] = {}
        for rows in lookup(
            self.conn,
            "want(level, idx)",
            "SELECT level, idx, hash FROM want JOIN nodes USING (level, idx)",
            coords,
        ):
            found.update(((int(a), int(b)), bytes(h)) for a, b, h in rows)
        return found

    def find_nonces(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Entry]:
        """The entries that used these (signer, nonce) pairs."""
        found: dict[tuple[str, str], Entry] = {}
        for rows in lookup(
            self.conn,
            "want(signer, nonce)",
            f"SELECT {_ENTRY_COLUMNS} FROM want JOIN entries USING (signer, nonce)",
            keys,
        ):
            found.update(((e.signer, e.nonce), e) for e in map(_entry, rows))
        return found

    def entries_at(self, indices: Iterable[int]) -> dict[int, Entry]:
        """The entries at these indices (those that exist), in one query per few thousand."""
        found: dict[int, Entry] = {}
        for chunk in padded(indices):
            rows = self.conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE idx IN ({marks(len(chunk))})", chunk
            )
            found.update((e.index, e) for e in map(_entry, rows))
        return found

    def find_contents(self, hashes: Iterable[str]) -> dict[str, list[Entry]]:
        """:meth:`find_content` for many content hashes at once (absent ones are left out)."""
        found: dict[str, list[Entry]] = {}
        for chunk in padded(hashes):
            rows = self.conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries"
                f" WHERE content_sha256 IN ({marks(len(chunk))}) ORDER BY idx",
                chunk,
            )
            for e in map(_entry, rows):
                assert e.content_sha256 is not None
                found.setdefault(e.content_sha256, []).append(e)
        return found

    def head(self) -> tuple[int, str | None]:
        """The tree size and the last entry's ``logged_at`` (None while empty)."""
        row = self.conn.execute(
            "SELECT idx, logged_at FROM entries ORDER BY idx DESC LIMIT 1"
        ).fetchone()
        return (0, None) if row is None else (int(row[0]) + 1, str(row[1]))


class _Writer(_Reads):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def append(
        self,
        entries: Sequence[Entry],
        nodes: Mapping[tuple[int, int], bytes],
        checkpoint: StoredCheckpoint | None,
    ) -> None:
        try:
            self._append(entries, nodes, checkpoint)
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"the store refused the batch: {exc}") from exc
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    def _append(
        self,
        entries: Sequence[Entry],
        nodes: Mapping[tuple[int, int], bytes],
        checkpoint: StoredCheckpoint | None,
    ) -> None:
        insert_rows(
            self.conn,
            f"INSERT INTO entries ({_ENTRY_COLUMNS})",
            [
                (
                    e.index,
                    e.leaf,
                    e.leaf_hash,
                    e.type,
                    e.signer,
                    e.nonce,
                    e.content_sha256,
                    e.logged_at,
                )
                for e in entries
            ],
        )
        insert_rows(
            self.conn,
            "INSERT INTO nodes (level, idx, hash)",
            [(level, index, h) for (level, index), h in nodes.items()],
        )
        if checkpoint is not None:
            self.conn.execute(
                "INSERT INTO checkpoints (size, note, issued_at) VALUES (?, ?, ?)",
                (checkpoint.size, checkpoint.note, checkpoint.issued_at),
            )


class SqliteLogStore(_Reads):
    """A :class:`copyseal.domain.log.LogStore` on one SQLite file."""

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout_s: float = 30.0,
        background_checkpoints: bool = False,
    ) -> None:
        self.path = str(path)
        self._checkpointer: _Checkpointer | None = None
        if background_checkpoints:
            self._checkpointer = _Checkpointer(self.path, busy_timeout_s)
        self._timeout = busy_timeout_s
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        with self._write_lock:
            conn = self._connect()
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
            )
            conn.commit()

    def _connect(self) -> sqlite3.Connection:
        conn = connect(self.path, what="log store", timeout=self._timeout)
        with self._all_lock:
            self._all.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:  # type: ignore[override]
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def sequencer(self) -> Iterator[_Writer]:
        with self._write_lock:
            writes = self._transactions()
        with writes.write() as conn:
            yield _Writer(conn)
        if self._checkpointer is not None:
            self._checkpointer.committed()

    def _transactions(self) -> Transactions:
        writes: Transactions | None = getattr(self, "_writes", None)
        if writes is None:
            writes = self._writes = Transactions(
                self._writer_conn(), self.path, self._timeout, "log store"
            )
        return writes

    def _writer_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self, "_wconn", None)
        if conn is None:
            conn = self._wconn = self._connect()
            # The one writer touches index pages all over the file (random similarity keys):
            # a bounded cache of its own keeps them warm. Readers keep SQLite's default.
            conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
            if self._checkpointer is not None:
                conn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer's job
        return conn

    def entry(self, index: int) -> Entry | None:
        row = self.conn.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE idx = ?", (index,)
        ).fetchone()
        return None if row is None else _entry(row)

    def entries(self, start: int, stop: int) -> list[Entry]:
        rows = self.conn.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
            (start, stop),
        ).fetchall()
        return [_entry(r) for r in rows]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        row = self.conn.execute(
            "SELECT size, note, issued_at FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return None if row is None else StoredCheckpoint(*row)

    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        row = self.conn.execute(
            "SELECT size, note, issued_at FROM checkpoints WHERE size = ?", (size,)
        ).fetchone()
        return None if row is None else StoredCheckpoint(*row)

    def checkpoints(self) -> Iterator[StoredCheckpoint]:
        for row in self.conn.execute("SELECT size, note, issued_at FROM checkpoints ORDER BY size"):
            yield StoredCheckpoint(*row)

    def add_cosignatures(self, size: int, note: str) -> None:
        with self.sequencer() as writer:
            row = writer.conn.execute(
                "SELECT note FROM checkpoints WHERE size = ?", (size,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no checkpoint of size {size}")
            old = str(row[0])
            if not note.startswith(old):
                raise ConflictError("cosignatures may only be appended to a checkpoint")
            writer.conn.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (note, size))

    def nodes(self, level: int) -> Iterator[tuple[int, bytes]]:
        for idx, h in self.conn.execute(
            "SELECT idx, hash FROM nodes WHERE level = ? ORDER BY idx", (level,)
        ):
            yield int(idx), bytes(h)

    def read_nodes(self, level: int, start: int, stop: int) -> list[bytes]:
        rows = self.conn.execute(
            "SELECT idx, hash FROM nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx",
            (level, start, stop),
        ).fetchall()
        if len(rows) != stop - start:
            raise NotFound(f"tree nodes {start}..{stop} at level {level} are not all stored")
        return [bytes(h) for _, h in rows]

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
        self.__dict__.pop("_wconn", None)
        self.__dict__.pop("_writes", None)


CHECKPOINT_WAL_BYTES = 4 << 20


class _Checkpointer:
    """Copies the WAL back into the database in a thread of its own.

    By default SQLite checkpoints inside the commit that takes the WAL past 1,000 pages: that
    commit, and every registration waiting for the write lock behind it, waits for the copy
    and its fsync (over 100 ms under load). A busy service instead turns automatic
    checkpoints off for its writer and runs PASSIVE ones here, which never block a writer:
    after commits, whenever the WAL has grown past :data:`CHECKPOINT_WAL_BYTES`. Durability
    is unchanged; a commit is synced in the WAL either way."""

    def __init__(self, path: str, busy_timeout_s: float) -> None:
        self.path = path
        self.timeout = busy_timeout_s
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="copyseal-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stopping:
                self._wake.wait(timeout=5.0)
                self._wake.clear()
                if self._stopping or self._wal_bytes() <= CHECKPOINT_WAL_BYTES:
                    continue
                # Busy, even when connecting while the store creates the file: the next
                # wake-up retries.
                with contextlib.suppress(sqlite3.Error, CopysealError):
                    conn = conn or connect(self.path, what="log store", timeout=self.timeout)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            if conn is not None:
                conn.close()

    def _wal_bytes(self) -> int:
        try:
            return os.path.getsize(self.path + "-wal")
        except OSError:
            return 0
