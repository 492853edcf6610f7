"""Accounts of the web service, the keys they control, and the account store port.

An account is how a person uses the web service; it is never an identity in the log. The
log only knows keys (``did:key``). An account *controls* a key in one of two ways:

- ``custodial``: the server generated the key and keeps it sealed (encrypted) at rest; the
  server signs claims with it when the account asks.
- ``linked``: the person holds the key (self-custody) and proved it by signing a link
  message naming the account (``link_message``); the server never sees the private key.

A key belongs to at most one account. Every adapter must pass
``tests/contract/test_account_store.py``.

The store also counts attempts (``Throttle``), so that limits on password guessing and on
sign-up hold across every worker process that shares it, and remembers the link challenges
already used until they expire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from copyseal.core.encoding import jcs
from copyseal.errors import InvalidInput

CUSTODIAL = "custodial"
LINKED = "linked"
LINK_PURPOSE = "account-link"

# Password log-in for one username: the first failures are free; then each failure shuts
# log-in for twice as long as the last, from one minute up to at most fifteen. A success
# clears the count, and a count older than a day starts again.
LOGIN_FREE_FAILURES = 5
LOGIN_FIRST_LOCK = timedelta(minutes=1)
LOGIN_MAX_LOCK = timedelta(minutes=15)
LOGIN_WINDOW = timedelta(days=1)
# Sign-up attempts per client address, counted in fixed windows.
SIGNUP_ATTEMPTS = 10
SIGNUP_WINDOW = timedelta(hours=1)
# A link challenge is good for this long, and once.
LINK_TTL = timedelta(minutes=10)

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,31}")


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    password_hash: str
    created_at: str


@dataclass(frozen=True)
class AccountKey:
    account_id: int
    did: str
    kind: str  # CUSTODIAL or LINKED
    sealed_key: bytes | None  # the sealed private seed of a custodial key, else None
    created_at: str


@dataclass(frozen=True)
class Session:
    token_hash: bytes
    account_id: int
    created_at: str
    expires_at: str


@dataclass(frozen=True)
class ApiToken:
    id: int
    account_id: int
    name: str
    token_hash: bytes
    hint: str  # the first characters of the token, to tell tokens apart in a list
    created_at: str


@dataclass(frozen=True)
class Throttle:
    """Attempts counted under one key since ``first_at``; the last one at ``last_at``."""

    count: int
    first_at: str
    last_at: str


def login_lock(failures: int) -> timedelta:
    """How long password log-in stays shut after ``failures`` failures in a row."""
    if failures < LOGIN_FREE_FAILURES:
        return timedelta(0)
    doublings = min(failures - LOGIN_FREE_FAILURES, 16)
    return min(LOGIN_FIRST_LOCK * (1 << doublings), LOGIN_MAX_LOCK)


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: 3 to 32 of a-z, 0-9, '_', '.', '-'."""
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InvalidInput(
            "a username is 3 to 32 characters: letters, digits, '_', '.' or '-'",
            field="username",
        )
    return name


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password"
        )


def link_message(
    *, log_origin: str, username: str, did: str, challenge: str, expires_at: str
) -> bytes:
    """The bytes a key signs (purpose ``account-link``) to prove it belongs to an account.

    Naming the log and the account means a proof made for one account, or for another
    registry, cannot be replayed to link the key elsewhere; the challenge (fresh, expiring,
    single use) means it cannot be replayed here either.
    """
    return jcs(
        {
            "account": username,
            "challenge": challenge,
            "did": did,
            "expires_at": expires_at,
            "log": log_origin,
        }
    )


class KeySealer(Protocol):
    """Encrypts custodial private keys at rest; ``context`` is bound to the ciphertext."""

    def seal(self, secret: bytes, context: bytes) -> bytes: ...

    def unseal(self, sealed: bytes, context: bytes) -> bytes: ...


class AccountStore(Protocol):
    def create_account(self, username: str, password_hash: str, created_at: str) -> Account:
        """Raises :class:`ConflictError` when the username is taken."""
        ...

    def account(self, account_id: int) -> Account | None: ...

    def account_by_username(self, username: str) -> Account | None: ...

    def set_password_hash(self, account_id: int, password_hash: str) -> None: ...

    def add_key(self, key: AccountKey) -> None:
        """Raises :class:`ConflictError` when another account already holds the did."""
        ...

    def keys(self, account_id: int) -> list[AccountKey]: ...

    def key(self, did: str) -> AccountKey | None: ...

    def add_session(self, session: Session) -> None: ...

    def session(self, token_hash: bytes) -> Session | None: ...

    def delete_session(self, token_hash: bytes) -> None: ...

    def delete_sessions_before(self, expires_at: str) -> int: ...

    def add_token(
        self, account_id: int, name: str, token_hash: bytes, hint: str, created_at: str
    ) -> ApiToken: ...

    def token(self, token_hash: bytes) -> ApiToken | None: ...

    def tokens(self, account_id: int) -> list[ApiToken]: ...

    def delete_token(self, account_id: int, token_id: int) -> bool:
        """Delete one of the account's tokens; False when it has no such token."""
        ...

    def count_attempt(self, scope: str, key: str, at: str, window_start: str) -> Throttle:
        """Count one attempt under (scope, key), atomically, and return the new count. A
        count whose ``first_at`` is at or before ``window_start`` starts again here."""
        ...

    def throttle(self, scope: str, key: str) -> Throttle | None: ...

    def clear_throttle(self, scope: str, key: str) -> None: ...

    def delete_throttles_before(self, last_at: str) -> int:
        """Forget counts whose last attempt is before ``last_at``."""
        ...

    def use_link_challenge(self, challenge_id: bytes, expires_at: str, now: str) -> bool:
        """Record a link challenge as used until ``expires_at``; False if it already was.
        Records that expired before ``now`` are dropped."""
        ...

    def close(self) -> None: ...
