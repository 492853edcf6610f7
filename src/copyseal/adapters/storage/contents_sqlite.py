"""The content store in SQLite: each content a blob in the home's own file.

Blobs in the file that holds the log, not files under the home, because the two belong
together: one file to back up and restore, which cannot pair a log with another set of
contents; a content and its key written in one transaction, so a crash leaves no half-made
file behind and nothing to sweep. The works are micro-content, each at most the home's
``max_content_bytes`` (50 MiB by default). The cost is that a blob is written twice (to the
WAL, then the database) and holds the file's write lock while it is: it takes its turn with
every process's writers (``writer_turn``), after the registration it belongs to has
committed, so it delays the next batch's commit by one blob's write and never loses or
holds back a registration. Commits are ``synchronous=FULL``, as the log's are: the page
offers these bytes, so they do not vanish in a power cut.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from copyseal.adapters.storage.sqlite_common import Transactions, connect, translate
from copyseal.errors import ContentTooLarge, EmptyContent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contents (
    sha256 BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    content BLOB NOT NULL
);
"""
_WHAT = "content store"


class SqliteContentStore:
    """A :class:`copyseal.domain.contents.ContentStore` on one SQLite file."""

    def __init__(self, path: Path | str, *, max_bytes: int, busy_timeout_s: float = 30.0):
        self.max_bytes = max_bytes
        writer = connect(path, what=_WHAT, timeout=busy_timeout_s, schema=_SCHEMA)
        self._writes = Transactions(writer, str(path), busy_timeout_s, _WHAT)
        # Reads on a connection of their own never see a write that may yet roll back.
        self._conn = connect(path, what=_WHAT, timeout=busy_timeout_s)

    def put(self, contents: Sequence[bytes]) -> None:
        for content in contents:
            if not content:
                raise EmptyContent("empty content is not kept")
            if len(content) > self.max_bytes:
                raise ContentTooLarge(
                    f"content of {len(content):,} bytes is over the limit of "
                    f"{self.max_bytes:,} bytes",
                    limit=self.max_bytes,
                )
        rows = {hashlib.sha256(c).digest(): c for c in contents}
        if not rows:
            return
        with self._writes.write() as conn:
            try:
                conn.executemany(
                    "INSERT OR IGNORE INTO contents (sha256, size, content) VALUES (?, ?, ?)",
                    [(key, len(content), content) for key, content in rows.items()],
                )
            except sqlite3.Error as exc:
                raise translate(exc, _WHAT) from exc

    def get(self, sha256: bytes) -> bytes | None:
        row = self._one("SELECT content FROM contents WHERE sha256 = ?", sha256)
        return None if row is None else bytes(row)

    def size(self, sha256: bytes) -> int | None:
        row = self._one("SELECT size FROM contents WHERE sha256 = ?", sha256)
        return None if row is None else int(row)

    def _one(self, sql: str, sha256: bytes) -> Any:
        try:
            row = self._conn.execute(sql, (bytes(sha256),)).fetchone()
        except sqlite3.Error as exc:
            raise translate(exc, _WHAT) from exc
        return None if row is None else row[0]

    def close(self) -> None:
        self._conn.close()
        self._writes.conn.close()
