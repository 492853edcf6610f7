"""What every SQLite adapter of copyseal shares: how a connection is opened, and how
``sqlite3`` errors, and the OS's errors on the store's files, become copyseal errors.

Every file is opened in WAL mode with ``synchronous=FULL`` (a commit is on disk when it
returns) and a busy timeout, in autocommit mode so that each adapter states its own
transactions.

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

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

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
    path: Path | str, *, what: str, timeout: float = 30.0, schema: str | None = None
) -> sqlite3.Connection:
    """Open ``path`` durable and shareable between threads and processes; apply ``schema``."""
    try:
        conn = sqlite3.connect(
            str(path), timeout=timeout, isolation_level=None, check_same_thread=False
        )
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, MAX_PARAMS)
        _use_wal(conn, timeout)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if schema is not None:
            conn.executescript(schema)
    except sqlite3.Error as exc:
        raise translate(exc, what) from exc
    return conn
