"""The embedded log store: SQLite in WAL mode with ``synchronous=FULL``.

Durability: a batch (entries, tree nodes and its signed checkpoint) is one transaction, and
the sequencer acknowledges a registration only after that transaction's commit has been
synced, so an acknowledged registration survives ``kill -9`` and power loss. Concurrent
registrations in one process share a commit through the sequencer's group commit; writers
in several processes take turns on a lock file beside the database.

Every complete-subtree hash is stored (``nodes``), so a proof costs O(log n) reads.

The similarity index has a write buffer. Its keys are random, so inserting a registration's
64 rows straight into a large (key, entry) B-tree dirties about 64 pages, and every commit
writes each dirty page to the WAL: the index, not the log, would bound the commit rate. New
rows go into ``fp_recent``, a small table of the same shape whose pages stay few and hot;
each transaction then moves as many rows as it added, the next ones in key order after a
sweeping cursor, into ``fp_keys``, so the rows moved together share pages there. The two
tables are one index: every row is in exactly one of them, lookups read both, and both are
written in the registration's own transaction.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from copyseal.adapters.storage.sqlite_common import MAX_PARAMS, connect, translate
from copyseal.domain.log import Entry, StoredCheckpoint
from copyseal.errors import ConflictError, CopysealError, NotFound, Unavailable
from copyseal.fingerprint.text import distinct

SCHEMA_VERSION = "1"
WRITER_CACHE_KIB = 64 * 1024
RECENT_ROWS = 1 << 14
"""Index rows the write buffer holds before each new row pushes an older one out."""
_MAX_KEY = (1 << 63) - 1

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
CREATE TABLE IF NOT EXISTS fp_keys (
    key INTEGER NOT NULL,
    entry INTEGER NOT NULL,
    PRIMARY KEY (key, entry)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fp_recent (
    key INTEGER NOT NULL,
    entry INTEGER NOT NULL,
    PRIMARY KEY (key, entry)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS links (
    entry INTEGER NOT NULL,
    target INTEGER NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (entry, target, kind)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS links_target ON links (target);
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


_MAX_ROWS = 4096
"""Rows (or IN-list values) in one statement. Statements come in power-of-two sizes up to
this, so a connection prepares and caches a dozen of them per kind, whatever the batch
sizes; a statement per distinct size would fill the statement cache with large programs."""


def _runs(n: int, cap: int) -> Iterator[int]:
    """Power-of-two run lengths, none over ``cap`` (a power of two), that add up to ``n``."""
    while n:
        run = min(cap, 1 << (n.bit_length() - 1))
        yield run
        n -= run


def _insert(conn: sqlite3.Connection, head: str, rows: Sequence[Sequence[Any]]) -> int:
    """``head VALUES (…), (…), …`` in a few multi-row statements.

    One statement runs without the GIL from start to end; ``executemany`` takes the GIL back
    after every row, and in a busy server each retake can wait a switch interval.
    Returns the number of rows changed."""
    if not rows:
        return 0
    width = len(rows[0])
    group = "(" + ",".join("?" * width) + ")"
    cap = 1 << (min(_MAX_ROWS, MAX_PARAMS // width).bit_length() - 1)
    changed = start = 0
    for run in _runs(len(rows), cap):
        params = [value for row in rows[start : start + run] for value in row]
        changed += conn.execute(f"{head} VALUES {','.join([group] * run)}", params).rowcount
        start += run
    return changed


def _padded(values: Iterable[Any]) -> Iterator[list[Any]]:
    """Distinct ``values`` in lists of power-of-two lengths up to :data:`_MAX_ROWS`, the last
    one filled up with repeats of its first value: for IN lists and VALUES tables whose
    readers ignore repeats."""
    yield from _chunks(list(dict.fromkeys(values)))


def _chunks(distinct: list[Any]) -> Iterator[list[Any]]:
    """:func:`_padded` of values already distinct."""
    for start in range(0, len(distinct), _MAX_ROWS):
        chunk = distinct[start : start + _MAX_ROWS]
        size = 1 << (len(chunk) - 1).bit_length()
        yield chunk + [chunk[0]] * (size - len(chunk))


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _lookup(
    conn: sqlite3.Connection, table: str, select: str, keys: Iterable[tuple[Any, Any]]
) -> Iterator[list[Any]]:
    """Rows of ``WITH table AS (VALUES keys…) select`` (a key may come back more than once)."""
    for chunk in _padded(keys):
        values = ",".join(["(?,?)"] * len(chunk))
        params = [value for key in chunk for value in key]
        yield conn.execute(f"WITH {table} AS (VALUES {values}) {select}", params).fetchall()


def _ranked_hits(
    owners: npt.NDArray[np.int64],
    keys: npt.NDArray[np.int64],
    rows: Sequence[tuple[int, int]],
    count: int,
    limit: int,
) -> list[list[int]]:
    """For each of ``count`` queries (``owners[i]`` asked for ``keys[i]``), the entries of
    the index ``rows`` (key, entry) it shares keys with: most shared keys first, then by
    entry, at most ``limit``. A key a query asks for twice counts once."""
    ranked: list[list[int]] = [[] for _ in range(count)]
    if not rows:
        return ranked
    found = np.unique(np.array(rows, dtype=np.int64), axis=0)  # sorted by key, then entry
    present = distinct(found[:, 0])
    at = np.minimum(np.searchsorted(present, keys), len(present) - 1)
    hit = present[at] == keys
    asked = np.unique(np.stack([owners[hit], keys[hit]], axis=1), axis=0)
    lo = np.searchsorted(found[:, 0], asked[:, 1], side="left")
    n = np.searchsorted(found[:, 0], asked[:, 1], side="right") - lo
    # Every (query, entry) pair, once per key they share.
    at = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)
    pairs = np.stack([np.repeat(asked[:, 0], n), found[at, 1]], axis=1)
    pairs, shared = np.unique(pairs, axis=0, return_counts=True)
    order = np.lexsort((pairs[:, 1], -shared, pairs[:, 0]))
    for query, entry in pairs[order].tolist():
        if len(ranked[query]) < limit:
            ranked[query].append(entry)
    return ranked


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
        for rows in _lookup(
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
        for rows in _lookup(
            self.conn,
            "want(signer, nonce)",
            f"SELECT {_ENTRY_COLUMNS} FROM want JOIN entries USING (signer, nonce)",
            keys,
        ):
            found.update(((e.signer, e.nonce), e) for e in map(_entry, rows))
        return found

    def similar(self, keys: Sequence[int], *, limit: int = 200) -> list[int]:
        """Entries that share index keys with ``keys``, most shared first."""
        return self.similar_many([keys], limit=limit)[0]

    def similar_many(
        self, queries: Sequence[Sequence[int] | npt.NDArray[np.int64]], *, limit: int = 200
    ) -> list[list[int]]:
        """:meth:`similar` for many queries, with one pass over the index for all of them.

        A batch's queries hold a thousand keys each and almost all are in no row, so the
        keys are deduplicated and the rows counted with numpy, not one Python object each."""
        owners = np.repeat(np.arange(len(queries)), [len(q) for q in queries])
        keys = np.concatenate(
            [np.asarray(q, dtype=np.int64).reshape(-1) for q in queries]
            or [np.zeros(0, dtype=np.int64)]
        )
        # The write buffer is empty after a large batch or a rebuild: then only one table.
        [buffered] = self.conn.execute("SELECT EXISTS (SELECT 1 FROM fp_recent)").fetchone()
        tables = ("fp_keys", "fp_recent") if buffered else ("fp_keys",)
        rows: list[tuple[int, int]] = []
        for chunk in _chunks(distinct(keys).tolist()):
            marks = _marks(len(chunk))
            sql = " UNION ALL ".join(
                f"SELECT key, entry FROM {table} WHERE key IN ({marks})" for table in tables
            )
            rows += self.conn.execute(sql, chunk * len(tables)).fetchall()
        return _ranked_hits(owners, keys, rows, len(queries), limit)

    def entries_at(self, indices: Iterable[int]) -> dict[int, Entry]:
        """The entries at these indices (those that exist), in one query per few thousand."""
        found: dict[int, Entry] = {}
        for chunk in _padded(indices):
            rows = self.conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE idx IN ({_marks(len(chunk))})", chunk
            )
            found.update((e.index, e) for e in map(_entry, rows))
        return found

    def find_contents(self, hashes: Iterable[str]) -> dict[str, list[Entry]]:
        """:meth:`find_content` for many content hashes at once (absent ones are left out)."""
        found: dict[str, list[Entry]] = {}
        for chunk in _padded(hashes):
            rows = self.conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries"
                f" WHERE content_sha256 IN ({_marks(len(chunk))}) ORDER BY idx",
                chunk,
            )
            for e in map(_entry, rows):
                assert e.content_sha256 is not None
                found.setdefault(e.content_sha256, []).append(e)
        return found

    def links(self, entry: int) -> list[tuple[int, int, str]]:
        """Links from or to ``entry``: (entry, target, kind)."""
        rows = self.conn.execute(
            "SELECT entry, target, kind FROM links WHERE entry = ? OR target = ?"
            " ORDER BY entry, target",
            (entry, entry),
        ).fetchall()
        return [(int(a), int(b), str(k)) for a, b, k in rows]

    def head(self) -> tuple[int, str | None]:
        """The tree size and the last entry's ``logged_at`` (None while empty)."""
        row = self.conn.execute(
            "SELECT idx, logged_at FROM entries ORDER BY idx DESC LIMIT 1"
        ).fetchone()
        return (0, None) if row is None else (int(row[0]) + 1, str(row[1]))


@dataclass
class _Buffer:
    """This process's view of the index write buffer: where the sweep is, and about how many
    rows wait (other processes' writers add theirs; a recount now and then corrects it)."""

    limit: int
    cursor: int = 0
    rows: int | None = None
    writes: int = 0


class _Writer(_Reads):
    def __init__(self, conn: sqlite3.Connection, buffer: _Buffer) -> None:
        self.conn = conn
        self.buffer = buffer

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

    def add_index(
        self, keys: Iterable[tuple[int, int]], links: Iterable[tuple[int, int, str]] = ()
    ) -> None:
        """Index rows (key, entry) and links (entry, target, kind), in this transaction."""
        try:
            rows = list(keys)
            if len(rows) >= self.buffer.limit:  # a bulk load (a rebuild): in key order, direct
                rows.sort()
                _insert(self.conn, "INSERT OR IGNORE INTO fp_keys (key, entry)", rows)
            elif rows:
                added = _insert(self.conn, "INSERT OR IGNORE INTO fp_recent (key, entry)", rows)
                self._sweep(added)
            _insert(self.conn, "INSERT OR IGNORE INTO links (entry, target, kind)", list(links))
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    def _sweep(self, added: int) -> None:
        """Keep the write buffer near its limit: move the rows past it into ``fp_keys``,
        the next ones in key order from the cursor (wrapping round at the largest key)."""
        buffer = self.buffer
        buffer.writes += 1
        if buffer.rows is None or buffer.writes % 1024 == 0:
            buffer.rows = int(self.conn.execute("SELECT COUNT(*) FROM fp_recent").fetchone()[0])
        else:
            buffer.rows += added
        excess = buffer.rows - buffer.limit
        if excess <= 0:
            return
        row = self.conn.execute(
            "SELECT key FROM fp_recent WHERE key >= ? ORDER BY key LIMIT 1 OFFSET ?",
            (buffer.cursor, excess - 1),
        ).fetchone()
        upper = _MAX_KEY if row is None else int(row[0])
        span = (buffer.cursor, upper)
        self.conn.execute(
            "INSERT OR IGNORE INTO fp_keys (key, entry)"
            " SELECT key, entry FROM fp_recent WHERE key BETWEEN ? AND ?",
            span,
        )
        moved = self.conn.execute("DELETE FROM fp_recent WHERE key BETWEEN ? AND ?", span).rowcount
        buffer.rows -= moved
        buffer.cursor = 0 if upper == _MAX_KEY else upper + 1

    def clear_index(self) -> None:
        """Drop the similarity index rows and the links a rebuild re-derives from claims."""
        self.conn.execute("DELETE FROM fp_keys")
        self.conn.execute("DELETE FROM fp_recent")
        self.buffer.rows = 0
        self.conn.execute("DELETE FROM links WHERE kind IN ('derivative', 'dispute')")

    def _append(
        self,
        entries: Sequence[Entry],
        nodes: Mapping[tuple[int, int], bytes],
        checkpoint: StoredCheckpoint | None,
    ) -> None:
        _insert(
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
        _insert(
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
        recent_rows: int = RECENT_ROWS,
        background_checkpoints: bool = False,
    ) -> None:
        self.path = str(path)
        self._buffer = _Buffer(limit=recent_rows)
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
        with self._write_lock, self._process_lock():
            conn = self._writer_conn()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _translate(exc) from exc
            try:
                yield _Writer(conn, self._buffer)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise _translate(exc) from exc
        if self._checkpointer is not None:
            self._checkpointer.committed()

    @contextmanager
    def _process_lock(self) -> Iterator[None]:
        """Writers of every process take turns on an exclusive ``flock`` of a file beside the
        database. A waiting writer retries every 0.1–2 ms, so the turn passes on within a
        couple of milliseconds (SQLite's own busy handler sleeps up to 100 ms between tries),
        and gives up with :class:`Unavailable` after the busy timeout."""
        fd = os.open(self.path + "-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + self._timeout
            delay = 0.0001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise Unavailable(
                            "the log store is busy: another process is writing", retry_after=1.0
                        ) from None
                    time.sleep(delay)
                    delay = min(2 * delay, 0.002)
            yield
        finally:
            os.close(fd)  # which releases the lock

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

    def entries_by_signer(self, signer: str, *, after: int, limit: int) -> list[Entry]:
        rows = self.conn.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE signer = ? AND idx > ?"
            " ORDER BY idx LIMIT ?",
            (signer, after, limit),
        ).fetchall()
        return [_entry(r) for r in rows]

    def find_content(self, content_sha256: str) -> list[Entry]:
        rows = self.conn.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE content_sha256 = ? ORDER BY idx",
            (content_sha256,),
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
