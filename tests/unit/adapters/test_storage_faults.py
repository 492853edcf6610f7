"""A home that refuses writes (read-only, disk full, a lock file it cannot open) is a 503
with a retry time, never an internal error; and its log line is not repeated per request."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from copyseal.adapters.storage.sqlite import SqliteLogStore
from copyseal.adapters.storage.sqlite_common import (
    STORAGE_RETRY_AFTER_S,
    FaultReports,
    translate,
)
from copyseal.core import merkle
from copyseal.domain.log import Entry
from copyseal.errors import CopysealError, Unavailable


def _made(path: Path) -> Path:
    db = path / "t.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x)")
    return db


def _readonly(path: Path) -> sqlite3.Error:
    conn = sqlite3.connect(f"file:{_made(path)}?mode=ro", uri=True)
    with pytest.raises(sqlite3.Error) as caught:
        conn.execute("INSERT INTO t VALUES (1)")
    return caught.value


def _full(path: Path) -> sqlite3.Error:
    conn = sqlite3.connect(_made(path))
    [pages] = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.Error) as caught:
        conn.executemany("INSERT INTO t VALUES (randomblob(4000))", [()] * 10)
    return caught.value


def _busy(path: Path) -> sqlite3.Error:
    db = _made(path)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.Error) as caught:
        sqlite3.connect(db, timeout=0, isolation_level=None).execute("BEGIN IMMEDIATE")
    return caught.value


def _malformed(path: Path) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as caught:
        sqlite3.connect(_made(path)).execute("SELEC 1")
    return caught.value


@pytest.mark.parametrize(
    ("make", "retry_after"),
    [(_readonly, STORAGE_RETRY_AFTER_S), (_full, STORAGE_RETRY_AFTER_S), (_busy, 1.0)],
    ids=["readonly", "full", "busy"],
)
def test_sqlites_storage_faults_are_unavailable(
    tmp_path: Path, make: Callable[[Path], sqlite3.Error], retry_after: float
) -> None:
    error = translate(make(tmp_path), "log store")
    assert isinstance(error, Unavailable)
    assert error.http_status == 503 and error.details["retry_after"] == retry_after
    assert str(tmp_path) not in error.message  # paths are for the log, not for clients


def test_other_sqlite_errors_stay_internal(tmp_path: Path) -> None:
    error = translate(_malformed(tmp_path), "log store")
    assert type(error) is CopysealError and error.http_status == 500


def _entries(start: int, count: int) -> list[Entry]:
    leaves = [bytes([i % 256]) * 3000 for i in range(start, start + count)]
    return [
        Entry(
            index=start + i,
            leaf=leaf,
            leaf_hash=merkle.leaf_hash(leaf),
            type="register",
            signer="did:key:zA",
            nonce=f"n{start + i}",
            content_sha256=None,
            logged_at="2025-01-01T00:00:00Z",
        )
        for i, leaf in enumerate(leaves)
    ]


class _FullDisk(SqliteLogStore):
    """A store whose connections, once ``full`` is set, may not grow the file: SQLite's
    own "database or disk is full", met on the store's real write path."""

    full = False

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        if self.full:
            [pages] = conn.execute("PRAGMA page_count").fetchone()
            conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn


def test_a_full_disk_refuses_the_batch_with_unavailable(tmp_path: Path) -> None:
    store = _FullDisk(tmp_path / "log.db")
    try:
        store.full = True  # from the writer's first connection on
        with pytest.raises(Unavailable), store.sequencer() as writer:
            writer.append(_entries(0, 50), {}, None)
        assert store.tree_size() == 0
    finally:
        store.close()


def test_a_lock_file_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    store = SqliteLogStore(tmp_path / "log.db")
    try:
        # A directory where the lock file should be: opening it for writing fails, as root too.
        (tmp_path / "log.db-writer.lock").mkdir()
        with pytest.raises(Unavailable) as caught, store.sequencer():
            pass
        assert isinstance(caught.value.__cause__, OSError)
    finally:
        store.close()


def test_faults_are_logged_once_then_counted_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    reports = FaultReports(interval_s=60.0, clock=lambda: now[0])
    with caplog.at_level(logging.ERROR, logger="copyseal.storage"):
        for t in (0.0, 1.0, 2.0, 59.0):
            now[0] = t
            reports.report("log store cannot use the home's files: disk full")
        assert len(caplog.records) == 1
        now[0] = 61.0
        reports.report("log store cannot use the home's files: disk full")
    assert len(caplog.records) == 2
    assert caplog.records[1].getMessage().endswith("(3 more since the last report)")
