"""The works catalogue in SQLite, beside the log's tables (derived data; see domain/catalog)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from copyseal.adapters.storage.folds_sqlite import SqliteFold
from copyseal.adapters.storage.sqlite_common import insert_rows, translate
from copyseal.domain.catalog import CatalogEntry

_COLUMNS = "idx, work_id, owner, title, media_type, size, sha256, logged_at"
MAX_OWNERS = 100


def fold(text: str) -> str:
    return text.casefold()


def _like_pattern(text: str) -> str:
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqliteWorkCatalog(SqliteFold):
    """A :class:`copyseal.domain.catalog.WorkCatalog` on one SQLite file."""

    name = "catalog"
    tables = ("catalog",)
    schema = """
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
    """

    def add(self, entries: Sequence[CatalogEntry], start: int, stop: int) -> bool:
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
        head = (
            "INSERT OR REPLACE INTO catalog (idx, work_id, owner, title, title_fold,"
            " media_type, size, sha256, logged_at)"
        )
        return self._add(start, stop, lambda conn: insert_rows(conn, head, rows))

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
        try:
            rows = self.conn.execute(sql, (*args, limit)).fetchall()
        except sqlite3.Error as exc:
            raise translate(exc, self._what) from exc
        return [_entry(r) for r in rows]


def _entry(row: Any) -> CatalogEntry:
    return CatalogEntry(*row)
