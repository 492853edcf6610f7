"""What every SQLite adapter of copyseal shares: how a connection is opened, how writers of
several processes take turns, how statements are batched, how a fold records its progress,
and how ``sqlite3`` errors, and the OS's errors on the store's files, become copyseal errors.

Every file is opened in WAL mode with ``synchronous=FULL`` (a commit is on disk when it
returns) and a busy timeout, in autocommit mode so that each adapter states its own
transactions. Folds (derived state, rebuildable from the log) may commit with
``synchronous=NORMAL``: a crash loses no commit of theirs, a power cut at worst their last
ones, which the next catch-up redoes from the log.

Translation::

    SQLITE_BUSY, SQLITE_LOCKED                   Unavailable, retry after 1 s
    SQLITE_READONLY, SQLITE_PERM, SQLITE_FULL,   Unavailable, retry after 30 s, and logged:
    SQLITE_IOERR, SQLITE_CANTOPEN, and an        the home refuses writes (read-only, wrong
    OSError on a file of the store               owner, disk full), which an operator fixes
    anything else from sqlite3                   CopysealError (an internal error)

A home that refuses writes fails every request that writes, so its log line is rate-limited:
the first fault is logged at once, and then at most one line a minute counts the others.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from copyseal.errors import CopysealError, Unavailable

log = logging.getLogger("copyseal.storage")

STORAGE_RETRY_AFTER_S = 30.0
REPORT_INTERVAL_S = 60.0
_STORAGE_FAULTS = frozenset(
    {
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
    }
)
_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})

MAX_PARAMS = 32_766
"""Bound parameters a statement may hold: SQLite's default limit, set on every connection
whatever this build allows, so statements that work here work with every SQLite."""


class FaultReports:
    """Logs storage faults: the first at once, then one line per ``interval_s`` at most,
    which says how many were not logged since the line before."""

    def __init__(
        self, *, interval_s: float = REPORT_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self._last: float | None = None
        self._unlogged = 0
        self._lock = threading.Lock()

    def report(self, message: str) -> None:
        with self._lock:
            now = self.clock()
            if self._last is not None and now - self._last < self.interval_s:
                self._unlogged += 1
                return
            unlogged, self._unlogged, self._last = self._unlogged, 0, now
        more = f" ({unlogged} more since the last report)" if unlogged else ""
        log.error("%s%s", message, more)


REPORTS = FaultReports()


def storage_fault(what: str, reason: str) -> Unavailable:
    """The error for a home that refuses writes; the details go to the log, not to clients."""
    REPORTS.report(
        f"{what} cannot use the home's files: {reason}; "
        "requests that need them get 503 until this is fixed"
    )
    return Unavailable(
        f"the {what} cannot store anything at the moment",
        retry_after=STORAGE_RETRY_AFTER_S,
        hint="The storage refuses writes for now (its log says why); try again later.",
    )


def translate_os_error(exc: OSError, what: str) -> Unavailable:
    """An OSError met opening or writing a file of the store (its lock file, say)."""
    return storage_fault(what, f"{type(exc).__name__}: {exc}")


def translate(exc: sqlite3.Error, what: str) -> CopysealError:
    """The copyseal error for ``exc``, met by the ``what`` (see the table above)."""
    text = str(exc)
    code = exc.sqlite_errorcode & 0xFF if exc.sqlite_errorcode is not None else None
    if code in _BUSY or (code is None and ("locked" in text or "busy" in text)):
        return Unavailable(f"the {what} is busy; try again", retry_after=1.0)
    if code in _STORAGE_FAULTS:
        return storage_fault(what, f"{exc.sqlite_errorname}: {text}")
    return CopysealError(f"{what} error: {text}")


def _use_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch the file to WAL. While another connection is switching the same new file,
    SQLite answers "locked" at once instead of waiting out the busy timeout: wait here."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def connect(
    path: Path | str,
    *,
    what: str,
    timeout: float = 30.0,
    schema: str | None = None,
    synchronous: str = "FULL",
) -> sqlite3.Connection:
    """Open ``path`` durable and shareable between threads and processes; apply ``schema``."""
    try:
        conn = sqlite3.connect(
            str(path), timeout=timeout, isolation_level=None, check_same_thread=False
        )
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, MAX_PARAMS)
        _use_wal(conn, timeout)
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if schema is not None:
            conn.executescript(schema)
    except sqlite3.Error as exc:
        raise translate(exc, what) from exc
    return conn


def rollback(conn: sqlite3.Connection) -> None:
    """Undo a failed write. After some failures (a full disk, an I/O error) SQLite has rolled
    back already, and the error to report is the first one, not ROLLBACK's own."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


# -- writers of several processes -------------------------------------------------------------


@contextmanager
def writer_turn(database: str, timeout: float, what: str) -> Iterator[None]:
    """Writers of every process take turns on an exclusive ``flock`` of a file beside the
    database. A waiting writer retries every 0.1–2 ms, so the turn passes on within a couple
    of milliseconds (SQLite's own busy handler sleeps up to 100 ms between tries), and gives
    up with :class:`Unavailable` after ``timeout``."""
    try:
        fd = os.open(database + "-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise translate_os_error(exc, what) from exc
    try:
        deadline = time.monotonic() + timeout
        delay = 0.0001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Unavailable(
                        f"the {what} is busy: another process is writing", retry_after=1.0
                    ) from None
                time.sleep(delay)
                delay = min(2 * delay, 0.002)
        yield
    finally:
        os.close(fd)  # which releases the lock


class Transactions:
    """One connection used for write transactions by one thread at a time, each taken in
    turn with every other process's writers of the same file (:func:`writer_turn`).

    Transactions nest: a ``write`` inside another of the same thread is a savepoint of it,
    so stores that share one :class:`Transactions` commit their writes together, and a
    nested write that fails is undone alone."""

    def __init__(self, conn: sqlite3.Connection, database: str, timeout: float, what: str):
        self.conn = conn
        self.database = database
        self.timeout = timeout
        self.what = what
        self._lock = threading.RLock()
        self._depth = 0

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back if the block raises."""
        with self._lock:
            if self._depth:  # inside this thread's own transaction: a savepoint of it
                self._depth += 1
                try:
                    with self._savepoint(f"nested{self._depth}") as conn:
                        yield conn
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                with self._outermost() as conn:
                    yield conn
            finally:
                self._depth = 0

    @contextmanager
    def _savepoint(self, name: str) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        try:
            conn.execute(f"SAVEPOINT {name}")
        except sqlite3.Error as exc:
            raise translate(exc, self.what) from exc
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        try:
            conn.execute(f"RELEASE {name}")
        except sqlite3.Error as exc:
            raise translate(exc, self.what) from exc

    @contextmanager
    def _outermost(self) -> Iterator[sqlite3.Connection]:
        with writer_turn(self.database, self.timeout, self.what):
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise translate(exc, self.what) from exc
            try:
                yield conn
            except BaseException:
                rollback(conn)
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                rollback(conn)
                raise translate(exc, self.what) from exc


# -- statements in batches --------------------------------------------------------------------

MAX_ROWS = 4096
"""Rows (or IN-list values) in one statement. Statements come in power-of-two sizes up to
this, so a connection prepares and caches a dozen of them per kind, whatever the batch
sizes; a statement per distinct size would fill the statement cache with large programs."""


def _runs(n: int, cap: int) -> Iterator[int]:
    """Power-of-two run lengths, none over ``cap`` (a power of two), that add up to ``n``."""
    while n:
        run = min(cap, 1 << (n.bit_length() - 1))
        yield run
        n -= run


def insert_rows(conn: sqlite3.Connection, head: str, rows: Sequence[Sequence[Any]]) -> int:
    """``head VALUES (…), (…), …`` in a few multi-row statements.

    One statement runs without the GIL from start to end; ``executemany`` takes the GIL back
    after every row, and in a busy server each retake can wait a switch interval.
    Returns the number of rows changed."""
    if not rows:
        return 0
    width = len(rows[0])
    group = "(" + ",".join("?" * width) + ")"
    cap = 1 << (min(MAX_ROWS, MAX_PARAMS // width).bit_length() - 1)
    changed = start = 0
    for run in _runs(len(rows), cap):
        params = [value for row in rows[start : start + run] for value in row]
        changed += conn.execute(f"{head} VALUES {','.join([group] * run)}", params).rowcount
        start += run
    return changed


def padded(values: Iterable[Any]) -> Iterator[list[Any]]:
    """Distinct ``values`` in lists of power-of-two lengths up to :data:`MAX_ROWS`, the last
    one filled up with repeats of its first value: for IN lists and VALUES tables whose
    readers ignore repeats."""
    yield from chunks(list(dict.fromkeys(values)))


def chunks(distinct: list[Any]) -> Iterator[list[Any]]:
    """:func:`padded` of values already distinct."""
    for start in range(0, len(distinct), MAX_ROWS):
        chunk = distinct[start : start + MAX_ROWS]
        size = 1 << (len(chunk) - 1).bit_length()
        yield chunk + [chunk[0]] * (size - len(chunk))


def marks(count: int) -> str:
    return ",".join("?" * count)


def lookup(
    conn: sqlite3.Connection, table: str, select: str, keys: Iterable[tuple[Any, Any]]
) -> Iterator[list[Any]]:
    """Rows of ``WITH table AS (VALUES keys…) select`` (a key may come back more than once)."""
    for chunk in padded(keys):
        values = ",".join(["(?,?)"] * len(chunk))
        params = [value for key in chunk for value in key]
        yield conn.execute(f"WITH {table} AS (VALUES {values}) {select}", params).fetchall()


# -- folds' progress --------------------------------------------------------------------------

FOLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS fold_progress (name TEXT PRIMARY KEY, through INTEGER NOT NULL);
"""


def fold_through(conn: sqlite3.Connection, name: str) -> int | None:
    """How many log entries fold ``name`` has read (None: it has never recorded any)."""
    row = conn.execute("SELECT through FROM fold_progress WHERE name = ?", (name,)).fetchone()
    return None if row is None else int(row[0])


def claim_span(conn: sqlite3.Connection, name: str, start: int, stop: int) -> bool:
    """Inside a write transaction: record that fold ``name`` has read entries up to ``stop``,
    if it had read exactly up to ``start``; False (nothing recorded) if another writer has
    moved it meanwhile, so the same entries are never folded twice."""
    if (fold_through(conn, name) or 0) != start:
        return False
    conn.execute(
        "INSERT INTO fold_progress (name, through) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET through = excluded.through",
        (name, stop),
    )
    return True
