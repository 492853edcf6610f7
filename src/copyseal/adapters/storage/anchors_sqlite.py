"""Anchor receipts in SQLite, in their own table beside the log's (see domain/anchors.py).

The table lives in the home's ``copyseal.db`` so that a backup of that one file holds the
log and the receipts of its anchors together. Writes are rare (one per anchor) and durable
(WAL, ``synchronous=FULL``): a receipt is written only after its transaction was mined, and
if it is lost anyway the anchoring service recovers it from the chain.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from copyseal.adapters.storage.sqlite_common import connect, translate
from copyseal.core.anchor import Anchor
from copyseal.domain.anchors import AnchoredCheckpoint
from copyseal.errors import CopysealError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS anchors (
    chain TEXT NOT NULL,
    contract TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    origin TEXT NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    gas_used INTEGER NOT NULL,
    PRIMARY KEY (chain, tx_hash)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS anchors_by_size ON anchors (origin, chain, contract, size);
"""

_COLUMNS = "chain, contract, tx_hash, block_number, block_timestamp, origin, size, root, gas_used"


def _record(row: Any) -> AnchoredCheckpoint:
    anchor = Anchor(
        chain=row[0],
        contract=row[1],
        tx_hash=row[2],
        block_number=int(row[3]),
        block_timestamp=int(row[4]),
        origin=row[5],
        size=int(row[6]),
        root=bytes(row[7]),
    )
    return AnchoredCheckpoint(anchor=anchor, gas_used=int(row[8]))


def _translate(exc: sqlite3.Error) -> CopysealError:
    return translate(exc, "anchor store")


class SqliteAnchorStore:
    """A :class:`copyseal.domain.anchors.AnchorStore` on one SQLite file."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        self._lock = threading.Lock()
        self._conn = connect(path, what="anchor store", timeout=busy_timeout_s, schema=_SCHEMA)

    def add(self, record: AnchoredCheckpoint) -> None:
        a = record.anchor
        row = (
            a.chain,
            a.contract,
            a.tx_hash,
            a.block_number,
            a.block_timestamp,
            a.origin,
            a.size,
            a.root,
            record.gas_used,
        )
        self._execute(
            f"INSERT OR IGNORE INTO anchors ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row
        )

    def latest(self, origin: str, *, chain: str, contract: str) -> AnchoredCheckpoint | None:
        rows = self._execute(
            f"SELECT {_COLUMNS} FROM anchors WHERE origin = ? AND chain = ? AND contract = ?"
            " ORDER BY size DESC LIMIT 1",
            (origin, chain, contract),
        )
        return _record(rows[0]) if rows else None

    def covering(self, origin: str, size: int) -> list[AnchoredCheckpoint]:
        # SQLite returns the bare columns of the row that holds min(size) in each group.
        rows = self._execute(
            f"SELECT {_COLUMNS}, min(size) FROM anchors WHERE origin = ? AND size >= ?"
            " GROUP BY chain, contract ORDER BY chain, contract",
            (origin, size),
        )
        return [_record(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _execute(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _translate(exc) from exc
