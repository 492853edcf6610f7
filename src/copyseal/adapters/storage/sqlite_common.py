"""What every SQLite adapter of copyseal shares: how a connection is opened, and how
``sqlite3`` errors become copyseal errors.

Every file is opened in WAL mode with ``synchronous=FULL`` (a commit is on disk when it
returns) and a busy timeout, in autocommit mode so that each adapter states its own
transactions.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from copyseal.errors import CopysealError, Unavailable

MAX_PARAMS = 32_766
"""Bound parameters a statement may hold: SQLite's default limit, set on every connection
whatever this build allows, so statements that work here work with every SQLite."""


def translate(exc: sqlite3.Error, what: str) -> CopysealError:
    """A busy or locked database is temporary (retry); anything else is an internal error."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return Unavailable(f"the {what} is busy; try again", retry_after=1.0)
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
