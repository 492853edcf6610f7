"""The works catalogue in SQLite, beside the log's tables (derived data; see domain/catalog)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from copyseal.adapters.storage.sqlite_common import connect, translate
from copyseal.domain.catalog import CatalogEntry
from copyseal.errors import CopysealError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog (
    idx INTEGER PRIMARY KEY,
    work_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    title TEXT,
    title_fold TEXT,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    logged_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS catalog_owner ON catalog (owner, idx);
CREATE TABLE IF NOT EXISTS catalog_progress (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    through INTEGER NOT NULL
);
"""

_COLUMNS = "idx, work_id, owner, title, media_type, size, sha256, logged_at"
MAX_OWNERS = 100


def _translate(exc: sqlite3.Error) -> CopysealError:
    return translate(exc, "catalogue")


def fold(text: str) -> str:
    return text.casefold()


def _like_pattern(text: str) -> str:
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqliteWorkCatalog:
    """A :class:`copyseal.domain.catalog.WorkCatalog` on one SQLite file."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        self._lock = threading.Lock()
        self._conn = connect(path, what="catalogue", timeout=busy_timeout_s, schema=_SCHEMA)

    def through(self) -> int:
        with self._lock:
            try:
                row = self._conn.execute("SELECT through FROM catalog_progress").fetchone()
            except sqlite3.Error as exc:
                raise _translate(exc) from exc
        return 0 if row is None else int(row[0])

    def add(self, entries: Sequence[CatalogEntry], through: int) -> None:
        rows = [
            (
                e.index,
                e.work_id,
                e.owner,
                e.title,
                None if e.title is None else fold(e.title),
                e.media_type,
                e.size,
                e.sha256,
                e.logged_at,
            )
            for e in entries
        ]
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany(
                        "INSERT OR REPLACE INTO catalog (idx, work_id, owner, title, title_fold,"
                        " media_type, size, sha256, logged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                    self._conn.execute(
                        "INSERT INTO catalog_progress (id, through) VALUES (0, ?)"
                        " ON CONFLICT (id) DO UPDATE SET through = max(through, excluded.through)",
                        (through,),
                    )
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise _translate(exc) from exc

    def find(
        self,
        *,
        owners: Sequence[str] | None = None,
        title: str | None = None,
        after: int = -1,
        limit: int = 50,
    ) -> list[CatalogEntry]:
        where: list[str] = ["idx > ?"]
        args: list[object] = [after]
        if owners is not None:
            owners = list(owners)[:MAX_OWNERS]
            if not owners:
                return []
            where.append(f"owner IN ({', '.join('?' * len(owners))})")
            args += owners
        if title:
            where.append("title_fold LIKE ? ESCAPE '\\'")
            args.append(_like_pattern(title))
        sql = f"SELECT {_COLUMNS} FROM catalog WHERE {' AND '.join(where)} ORDER BY idx LIMIT ?"
        with self._lock:
            try:
                rows = self._conn.execute(sql, (*args, limit)).fetchall()
            except sqlite3.Error as exc:
                raise _translate(exc) from exc
        return [_entry(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _entry(row: Any) -> CatalogEntry:
    return CatalogEntry(*row)
