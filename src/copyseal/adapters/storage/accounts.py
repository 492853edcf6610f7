"""Accounts, their keys, sessions and API tokens in SQLite, beside the log's tables.

Same file as the log store, separate tables: the log's tables stay as they are, and the
account tables can be dropped without touching a single log entry. Session and token
secrets are stored only as SHA-256 hashes; custodial keys only sealed (``adapters.sealing``).
Attempt counts (``throttles``) and used link challenges live here too, so every worker
process sharing the file sees the same counts.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from copyseal.adapters.storage.sqlite_common import connect, translate
from copyseal.domain.accounts import Account, AccountKey, ApiToken, Session, Throttle
from copyseal.errors import ConflictError, CopysealError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS account_keys (
    did TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL CHECK (kind IN ('custodial', 'linked')),
    sealed_key BLOB,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS account_keys_account ON account_keys (account_id);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash BLOB PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS api_tokens_account ON api_tokens (account_id);
CREATE TABLE IF NOT EXISTS throttles (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS throttles_last ON throttles (last_at);
CREATE TABLE IF NOT EXISTS used_link_challenges (
    challenge_id BLOB PRIMARY KEY,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS used_link_challenges_expiry ON used_link_challenges (expires_at);
"""


def _translate(exc: sqlite3.Error) -> CopysealError:
    return translate(exc, "account store")


class SqliteAccountStore:
    """A :class:`copyseal.domain.accounts.AccountStore` on one SQLite file."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        self._conn = connect(path, what="account store", timeout=busy_timeout_s)
        try:
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise _translate(exc) from exc
        self._lock = threading.Lock()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"already exists: {exc}") from exc
            except sqlite3.Error as exc:
                raise _translate(exc) from exc

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        with self._db() as db:
            return db.execute(sql, args).fetchone()

    # -- accounts -----------------------------------------------------------------------------

    def create_account(self, username: str, password_hash: str, created_at: str) -> Account:
        with self._db() as db:
            exists = db.execute("SELECT 1 FROM accounts WHERE username = ?", (username,))
            if exists.fetchone() is not None:
                raise ConflictError(f"the username {username!r} is taken", field="username")
            cur = db.execute(
                "INSERT INTO accounts (username, password_hash, created_at) VALUES (?, ?, ?)",
                (username, password_hash, created_at),
            )
            assert cur.lastrowid is not None
            return Account(cur.lastrowid, username, password_hash, created_at)

    def account(self, account_id: int) -> Account | None:
        row = self._one(
            "SELECT id, username, password_hash, created_at FROM accounts WHERE id = ?",
            (account_id,),
        )
        return None if row is None else Account(*row)

    def account_by_username(self, username: str) -> Account | None:
        row = self._one(
            "SELECT id, username, password_hash, created_at FROM accounts WHERE username = ?",
            (username,),
        )
        return None if row is None else Account(*row)

    def set_password_hash(self, account_id: int, password_hash: str) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE accounts SET password_hash = ? WHERE id = ?", (password_hash, account_id)
            )

    # -- keys ---------------------------------------------------------------------------------

    def add_key(self, key: AccountKey) -> None:
        with self._db() as db:
            if db.execute("SELECT 1 FROM account_keys WHERE did = ?", (key.did,)).fetchone():
                raise ConflictError("this key already belongs to an account", did=key.did)
            db.execute(
                "INSERT INTO account_keys (did, account_id, kind, sealed_key, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (key.did, key.account_id, key.kind, key.sealed_key, key.created_at),
            )

    def keys(self, account_id: int) -> list[AccountKey]:
        with self._db() as db:
            rows = db.execute(
                "SELECT account_id, did, kind, sealed_key, created_at FROM account_keys"
                " WHERE account_id = ? ORDER BY created_at, did",
                (account_id,),
            ).fetchall()
        return [_key(r) for r in rows]

    def key(self, did: str) -> AccountKey | None:
        row = self._one(
            "SELECT account_id, did, kind, sealed_key, created_at FROM account_keys WHERE did = ?",
            (did,),
        )
        return None if row is None else _key(row)

    # -- sessions -----------------------------------------------------------------------------

    def add_session(self, session: Session) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO sessions (token_hash, account_id, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (session.token_hash, session.account_id, session.created_at, session.expires_at),
            )

    def session(self, token_hash: bytes) -> Session | None:
        row = self._one(
            "SELECT token_hash, account_id, created_at, expires_at FROM sessions"
            " WHERE token_hash = ?",
            (token_hash,),
        )
        return None if row is None else Session(bytes(row[0]), row[1], row[2], row[3])

    def delete_session(self, token_hash: bytes) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def delete_sessions_before(self, expires_at: str) -> int:
        with self._db() as db:
            return db.execute("DELETE FROM sessions WHERE expires_at < ?", (expires_at,)).rowcount

    # -- API tokens ---------------------------------------------------------------------------

    def add_token(
        self, account_id: int, name: str, token_hash: bytes, hint: str, created_at: str
    ) -> ApiToken:
        with self._db() as db:
            cur = db.execute(
                "INSERT INTO api_tokens (account_id, name, token_hash, hint, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (account_id, name, token_hash, hint, created_at),
            )
            assert cur.lastrowid is not None
            return ApiToken(cur.lastrowid, account_id, name, token_hash, hint, created_at)

    def token(self, token_hash: bytes) -> ApiToken | None:
        row = self._one(
            "SELECT id, account_id, name, token_hash, hint, created_at FROM api_tokens"
            " WHERE token_hash = ?",
            (token_hash,),
        )
        return None if row is None else _token(row)

    def tokens(self, account_id: int) -> list[ApiToken]:
        with self._db() as db:
            rows = db.execute(
                "SELECT id, account_id, name, token_hash, hint, created_at FROM api_tokens"
                " WHERE account_id = ? ORDER BY id",
                (account_id,),
            ).fetchall()
        return [_token(r) for r in rows]

    def delete_token(self, account_id: int, token_id: int) -> bool:
        with self._db() as db:
            cur = db.execute(
                "DELETE FROM api_tokens WHERE id = ? AND account_id = ?", (token_id, account_id)
            )
            return cur.rowcount > 0

    # -- attempt counts and used challenges ----------------------------------------------------

    def count_attempt(self, scope: str, key: str, at: str, window_start: str) -> Throttle:
        # One statement, so concurrent processes never lose a count between read and write;
        # its row is fetched whole so the statement (and its write) ends here.
        with self._db() as db:
            rows = db.execute(
                "INSERT INTO throttles (scope, key, count, first_at, last_at)"
                " VALUES (?, ?, 1, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE SET"
                " count = CASE WHEN first_at <= ? THEN 1 ELSE count + 1 END,"
                " first_at = CASE WHEN first_at <= ? THEN excluded.first_at ELSE first_at END,"
                " last_at = excluded.last_at"
                " RETURNING count, first_at, last_at",
                (scope, key, at, at, window_start, window_start),
            ).fetchall()
        return Throttle(*rows[0])

    def throttle(self, scope: str, key: str) -> Throttle | None:
        row = self._one(
            "SELECT count, first_at, last_at FROM throttles WHERE scope = ? AND key = ?",
            (scope, key),
        )
        return None if row is None else Throttle(*row)

    def clear_throttle(self, scope: str, key: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM throttles WHERE scope = ? AND key = ?", (scope, key))

    def delete_throttles_before(self, last_at: str) -> int:
        with self._db() as db:
            return db.execute("DELETE FROM throttles WHERE last_at < ?", (last_at,)).rowcount

    def use_link_challenge(self, challenge_id: bytes, expires_at: str, now: str) -> bool:
        with self._db() as db:
            db.execute("DELETE FROM used_link_challenges WHERE expires_at < ?", (now,))
            cur = db.execute(
                "INSERT OR IGNORE INTO used_link_challenges (challenge_id, expires_at)"
                " VALUES (?, ?)",
                (challenge_id, expires_at),
            )
            return cur.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _key(row: Any) -> AccountKey:
    sealed = None if row[3] is None else bytes(row[3])
    return AccountKey(row[0], row[1], row[2], sealed, row[4])


def _token(row: Any) -> ApiToken:
    return ApiToken(row[0], row[1], row[2], bytes(row[3]), row[4], row[5])
