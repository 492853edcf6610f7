"""The folds' stores in SQLite, beside the log's tables in the same file (derived data; see
``domain/folds.py``): the similarity index, lineage and ownership.

The stores of one home write through one connection (:func:`fold_transactions`) with
``synchronous=NORMAL`` (a fold is rebuilt from the log, so its commits need not wait for the
disk), taking turns with every other writer of the file, so a batch's folds commit in one
transaction; each store reads through a connection per thread.

The similarity index has a write buffer. Its keys are random, so inserting a registration's
64 rows straight into a large (key, entry) B-tree dirties about 64 pages, and every commit
writes each dirty page to the WAL. New rows go into ``fp_recent``, a small table of the same
shape whose pages stay few and hot; each transaction then moves as many rows as it added,
the next ones in key order after a sweeping cursor, into ``fp_keys``, so the rows moved
together share pages there. The two tables are one index: every row is in exactly one of
them, and lookups read both.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from copyseal.adapters.storage.sqlite_common import (
    FOLD_SCHEMA,
    Transactions,
    chunks,
    claim_span,
    connect,
    fold_through,
    insert_rows,
    marks,
    padded,
    translate,
)
from copyseal.domain.folds import LinkRow, OwnerRow
from copyseal.fingerprint.text import distinct

RECENT_ROWS = 1 << 14
"""Index rows the write buffer holds before each new row pushes an older one out."""
_MAX_KEY = (1 << 63) - 1
FOLD_CACHE_KIB = 64 * 1024


class SqliteFold:
    """What every fold store shares: its connections, its progress, its transactions."""

    name = ""
    tables: tuple[str, ...] = ()
    schema = ""

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout_s: float = 30.0,
        transactions: Transactions | None = None,
    ) -> None:
        self.path = str(path)
        self._timeout = busy_timeout_s
        self._what = f"{self.name} store"
        self._tx = transactions or fold_transactions(self.path, busy_timeout_s)
        writer = self._tx.conn
        try:
            writer.executescript(FOLD_SCHEMA + self.schema)
        except sqlite3.Error as exc:
            raise translate(exc, self._what) from exc
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        if fold_through(writer, self.name) is None:
            # A store older than its progress record was kept another way: derive it anew.
            self.clear()

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path, what=self._what, timeout=self._timeout)
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def batch(self) -> AbstractContextManager[object]:
        """A scope whose writes, this store's and those of every store opened with the same
        :func:`fold_transactions`, commit together (each store's own undone alone if it
        fails)."""
        return self._tx.write()

    def through(self) -> int:
        try:
            return fold_through(self.conn, self.name) or 0
        except sqlite3.Error as exc:
            raise translate(exc, self._what) from exc

    def _add(self, start: int, stop: int, write: Callable[[sqlite3.Connection], object]) -> bool:
        try:
            with self._tx.write() as conn:
                if not claim_span(conn, self.name, start, stop):
                    return False
                write(conn)
        except sqlite3.Error as exc:
            raise translate(exc, self._what) from exc
        return True

    def _cleared(self, conn: sqlite3.Connection) -> None:
        for table in self.tables:
            conn.execute(f"DELETE FROM {table}")

    def clear(self) -> None:
        try:
            with self._tx.write() as conn:
                self._cleared(conn)
                conn.execute(
                    "INSERT INTO fold_progress (name, through) VALUES (?, 0)"
                    " ON CONFLICT (name) DO UPDATE SET through = 0",
                    (self.name,),
                )
        except sqlite3.Error as exc:
            raise translate(exc, self._what) from exc

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._local = threading.local()
        self._tx.conn.close()  # idempotent: stores that share it all close it


def fold_transactions(path: str, busy_timeout_s: float = 30.0) -> Transactions:
    """One writer for folds' stores: ``synchronous=NORMAL`` (a fold is rebuilt from the log,
    so its commits need not wait for the disk), with a bounded cache of its own, as the
    index's writes touch pages all over the file."""
    writer = connect(path, what="folds", timeout=busy_timeout_s, synchronous="NORMAL")
    writer.execute(f"PRAGMA cache_size = -{FOLD_CACHE_KIB}")
    return Transactions(writer, path, busy_timeout_s, "folds")


# -- the similarity index ---------------------------------------------------------------------


@dataclass
class _Buffer:
    """This process's view of the index write buffer: where the sweep is, and about how many
    rows wait (other processes' writers add theirs; a recount now and then corrects it)."""

    limit: int
    cursor: int = 0
    rows: int | None = None
    writes: int = 0


class SqliteSimilarityIndex(SqliteFold):
    """A :class:`copyseal.domain.folds.SimilarityIndex` in SQLite."""

    name = "similarity"
    tables = ("fp_keys", "fp_recent")
    schema = """
    CREATE TABLE IF NOT EXISTS fp_keys (
        key INTEGER NOT NULL, entry INTEGER NOT NULL, PRIMARY KEY (key, entry)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS fp_recent (
        key INTEGER NOT NULL, entry INTEGER NOT NULL, PRIMARY KEY (key, entry)
    ) WITHOUT ROWID;
    """

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout_s: float = 30.0,
        transactions: Transactions | None = None,
        recent_rows: int = RECENT_ROWS,
    ) -> None:
        self._buffer = _Buffer(limit=recent_rows)
        super().__init__(path, busy_timeout_s=busy_timeout_s, transactions=transactions)

    def add(self, rows: Sequence[tuple[int, int]], start: int, stop: int) -> bool:
        def write(conn: sqlite3.Connection) -> None:
            if len(rows) >= self._buffer.limit:  # a bulk load (a rebuild): in key order, direct
                insert_rows(conn, "INSERT OR IGNORE INTO fp_keys (key, entry)", sorted(rows))
            elif rows:
                added = insert_rows(conn, "INSERT OR IGNORE INTO fp_recent (key, entry)", rows)
                self._sweep(conn, added)

        return self._add(start, stop, write)

    def _sweep(self, conn: sqlite3.Connection, added: int) -> None:
        """Keep the write buffer near its limit: move the rows past it into ``fp_keys``,
        the next ones in key order from the cursor (wrapping round at the largest key)."""
        buffer = self._buffer
        buffer.writes += 1
        if buffer.rows is None or buffer.writes % 1024 == 0:
            buffer.rows = int(conn.execute("SELECT COUNT(*) FROM fp_recent").fetchone()[0])
        else:
            buffer.rows += added
        excess = buffer.rows - buffer.limit
        if excess <= 0:
            return
        row = conn.execute(
            "SELECT key FROM fp_recent WHERE key >= ? ORDER BY key LIMIT 1 OFFSET ?",
            (buffer.cursor, excess - 1),
        ).fetchone()
        upper = _MAX_KEY if row is None else int(row[0])
        span = (buffer.cursor, upper)
        conn.execute(
            "INSERT OR IGNORE INTO fp_keys (key, entry)"
            " SELECT key, entry FROM fp_recent WHERE key BETWEEN ? AND ?",
            span,
        )
        moved = conn.execute("DELETE FROM fp_recent WHERE key BETWEEN ? AND ?", span).rowcount
        buffer.rows -= moved
        buffer.cursor = 0 if upper == _MAX_KEY else upper + 1

    def _cleared(self, conn: sqlite3.Connection) -> None:
        super()._cleared(conn)
        self._buffer.rows = 0

    def similar(self, keys: Sequence[int], *, limit: int = 200) -> list[int]:
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
        try:
            conn = self.conn
            # The write buffer is empty after a large batch or a rebuild: then only one table.
            [buffered] = conn.execute("SELECT EXISTS (SELECT 1 FROM fp_recent)").fetchone()
            tables = ("fp_keys", "fp_recent") if buffered else ("fp_keys",)
            rows: list[tuple[int, int]] = []
            for chunk in chunks(distinct(keys).tolist()):
                sql = " UNION ALL ".join(
                    f"SELECT key, entry FROM {table} WHERE key IN ({marks(len(chunk))})"
                    for table in tables
                )
                rows += conn.execute(sql, chunk * len(tables)).fetchall()
        except sqlite3.Error as exc:
            raise translate(exc, self._what) from exc
        return ranked_hits(owners, keys, rows, len(queries), limit)


def ranked_hits(
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


# -- lineage ----------------------------------------------------------------------------------

OBSERVED = ("version",)
"""Relations the registry observes rather than claims declare: kept through a rebuild."""


class SqliteLineage(SqliteFold):
    """A :class:`copyseal.domain.folds.LineageStore` in SQLite."""

    name = "lineage"
    schema = """
    CREATE TABLE IF NOT EXISTS links (
        entry INTEGER NOT NULL,
        target INTEGER NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (entry, target, kind)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS links_target ON links (target);
    """

    def _cleared(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"DELETE FROM links WHERE kind NOT IN ({marks(len(OBSERVED))})", OBSERVED)

    def add(self, links: Sequence[LinkRow], start: int, stop: int) -> bool:
        return self._add(start, stop, lambda conn: self._insert(conn, links))

    def observe(self, links: Sequence[LinkRow]) -> None:
        try:
            with self._tx.write() as conn:
                self._insert(conn, links)
        except sqlite3.Error as exc:
            raise translate(exc, self._what) from exc

    @staticmethod
    def _insert(conn: sqlite3.Connection, links: Sequence[LinkRow]) -> None:
        rows = [(link.source, link.target, link.relation) for link in links]
        insert_rows(conn, "INSERT OR IGNORE INTO links (entry, target, kind)", rows)

    def links(self, entry: int) -> list[LinkRow]:
        try:
            rows = self.conn.execute(
                "SELECT entry, target, kind FROM links WHERE entry = ? OR target = ?"
                " ORDER BY entry, target, kind",
                (entry, entry),
            ).fetchall()
        except sqlite3.Error as exc:
            raise translate(exc, self._what) from exc
        return [LinkRow(int(a), int(b), str(k)) for a, b, k in rows]


# -- ownership --------------------------------------------------------------------------------


class SqliteOwnership(SqliteFold):
    """A :class:`copyseal.domain.folds.OwnershipStore` in SQLite."""

    name = "ownership"
    tables = ("owners",)
    schema = """
    CREATE TABLE IF NOT EXISTS owners (
        work INTEGER NOT NULL,
        since INTEGER NOT NULL,
        owner TEXT NOT NULL,
        PRIMARY KEY (work, since)
    ) WITHOUT ROWID;
    """

    def add(self, rows: Sequence[OwnerRow], start: int, stop: int) -> bool:
        values = [(r.work, r.since, r.owner) for r in rows]
        return self._add(
            start,
            stop,
            lambda conn: insert_rows(conn, "INSERT INTO owners (work, since, owner)", values),
        )

    def owners(self, works: Iterable[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        try:
            for chunk in padded(works):
                rows = self.conn.execute(
                    "SELECT work, owner FROM owners AS o WHERE work IN"
                    f" ({marks(len(chunk))}) AND since ="
                    " (SELECT max(since) FROM owners WHERE work = o.work)",
                    chunk,
                )
                found.update((int(w), str(o)) for w, o in rows)
        except sqlite3.Error as exc:
            raise translate(exc, self._what) from exc
        return found

    def history(self, work: int) -> list[OwnerRow]:
        try:
            rows = self.conn.execute(
                "SELECT work, owner, since FROM owners WHERE work = ? ORDER BY since", (work,)
            ).fetchall()
        except sqlite3.Error as exc:
            raise translate(exc, self._what) from exc
        return [OwnerRow(int(w), str(o), int(s)) for w, o, s in rows]
