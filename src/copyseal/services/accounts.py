"""Account use-cases: sign-up, log-in, sessions, API tokens, and the keys an account controls.

Secrets handed to a client (session cookies, API tokens) are 32 random bytes; only their
SHA-256 is stored, so a copy of the database opens no session. Passwords are hashed with
argon2id. A custodial key is created here, sealed by the ``KeySealer`` and opened only to
sign a claim the account asked for. ``require_control`` is the one rule every use-case that
acts for a key goes through: an account acts only for the keys it holds or has linked.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from copyseal.core.encoding import b64url_decode, b64url_encode
from copyseal.core.keys import Signer, public_key_from_did, verify_signature
from copyseal.domain.accounts import (
    CUSTODIAL,
    LINK_PURPOSE,
    LINKED,
    Account,
    AccountKey,
    AccountStore,
    ApiToken,
    KeySealer,
    Session,
    check_password,
    link_message,
    normalise_username,
)
from copyseal.errors import (
    ConflictError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from copyseal.errors import VerificationError as SignatureError
from copyseal.services.registry import Clock, format_time

SESSION_TTL = timedelta(days=14)
TOKEN_PREFIX = "cs_"
MAX_TOKENS = 20
MAX_TOKEN_NAME = 64


@dataclass(frozen=True)
class SessionGrant:
    token: str
    account: Account
    expires_at: datetime


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class Accounts:
    def __init__(
        self,
        *,
        store: AccountStore,
        sealer: KeySealer,
        clock: Clock,
        random_bytes: Callable[[int], bytes],
        link_key: bytes,
        log_origin: str,
        hasher: PasswordHasher | None = None,
        session_ttl: timedelta = SESSION_TTL,
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.clock = clock
        self.random_bytes = random_bytes
        self._link_mac_key = link_key
        self.log_origin = log_origin
        self.hasher = hasher or PasswordHasher()
        self.session_ttl = session_ttl
        # Verified against when the username is unknown, so both failures take as long.
        self._dummy_hash = self.hasher.hash("copyseal: no such account")

    # -- sign-up and log-in -------------------------------------------------------------------

    def sign_up(self, username: str, password: str, *, custodial: bool) -> Account:
        name = normalise_username(username)
        check_password(password)
        if self.store.account_by_username(name) is not None:
            raise ConflictError(f"the username {name!r} is taken", field="username")
        account = self.store.create_account(
            name, self.hasher.hash(password), format_time(self.clock())
        )
        if custodial:
            self.create_custodial_key(account)
        return account

    def log_in(self, username: str, password: str) -> SessionGrant:
        account = self.check_password(username, password)
        token = b64url_encode(self.random_bytes(32))
        now = self.clock()
        expires = now + self.session_ttl
        self.store.add_session(
            Session(secret_hash(token), account.id, format_time(now), format_time(expires))
        )
        self.store.delete_sessions_before(format_time(now))
        return SessionGrant(token, account, expires)

    def check_password(self, username: str, password: str) -> Account:
        refused = Unauthenticated("wrong username or password")
        try:
            name = normalise_username(username)
        except InvalidInput:
            name = ""
        account = self.store.account_by_username(name) if name else None
        if len(password) > 1024:
            raise refused
        try:
            self.hasher.verify(account.password_hash if account else self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise refused from None
        if account is None:
            raise refused
        if self.hasher.check_needs_rehash(account.password_hash):
            self.store.set_password_hash(account.id, self.hasher.hash(password))
        return account

    def session_account(self, token: str) -> Account | None:
        session = self.store.session(secret_hash(token))
        if session is None or session.expires_at <= format_time(self.clock()):
            return None
        return self.store.account(session.account_id)

    def log_out(self, token: str) -> None:
        self.store.delete_session(secret_hash(token))

    # -- API tokens ---------------------------------------------------------------------------

    def create_token(self, account: Account, name: str) -> tuple[ApiToken, str]:
        """A new API token; the secret is returned once and never stored."""
        name = name.strip() or "token"
        if len(name) > MAX_TOKEN_NAME:
            raise InvalidInput(f"a token name is at most {MAX_TOKEN_NAME} characters")
        if len(self.store.tokens(account.id)) >= MAX_TOKENS:
            raise ConflictError(f"an account holds at most {MAX_TOKENS} tokens; revoke one")
        secret = TOKEN_PREFIX + b64url_encode(self.random_bytes(32))
        token = self.store.add_token(
            account.id, name, secret_hash(secret), secret[:10], format_time(self.clock())
        )
        return token, secret

    def token_account(self, secret: str) -> Account | None:
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
            return None
        token = self.store.token(secret_hash(secret))
        return None if token is None else self.store.account(token.account_id)

    def tokens(self, account: Account) -> list[ApiToken]:
        return self.store.tokens(account.id)

    def revoke_token(self, account: Account, token_id: int) -> None:
        if not self.store.delete_token(account.id, token_id):
            raise NotFound(f"this account has no token {token_id}")

    # -- keys ---------------------------------------------------------------------------------

    def keys(self, account: Account) -> list[AccountKey]:
        return self.store.keys(account.id)

    def dids(self, account: Account) -> list[str]:
        return [k.did for k in self.store.keys(account.id)]

    def create_custodial_key(self, account: Account) -> AccountKey:
        if any(k.kind == CUSTODIAL for k in self.store.keys(account.id)):
            raise ConflictError("this account already has a custodial key")
        seed = self.random_bytes(32)
        did = Signer.from_seed(seed).did
        sealed = self.sealer.seal(seed, _seal_context(account.id, did))
        key = AccountKey(account.id, did, CUSTODIAL, sealed, format_time(self.clock()))
        self.store.add_key(key)
        return key

    def custodial_signer(self, account: Account) -> Signer:
        for key in self.store.keys(account.id):
            if key.kind == CUSTODIAL and key.sealed_key is not None:
                seed = self.sealer.unseal(key.sealed_key, _seal_context(account.id, key.did))
                signer = Signer.from_seed(seed)
                if signer.did != key.did:
                    raise SignatureError("custodial key does not match its did", check="key")
                return signer
        raise Forbidden(
            "this account has no custodial key, so the server cannot sign for it",
            hint="Create one on the dashboard, or sign claims yourself and submit them.",
        )

    def require_control(self, account: Account, did: str) -> None:
        key = self.store.key(did)
        if key is None or key.account_id != account.id:
            raise Forbidden(
                f"account {account.username!r} does not control the key {did}",
                hint="Link the key to this account first, or submit without logging in.",
                did=did,
            )

    def link_challenge(self, account: Account, did: str) -> str:
        public_key_from_did(did)
        mac = hmac.new(self._link_mac_key, f"{account.id}\0{did}".encode(), hashlib.sha256)
        return b64url_encode(mac.digest()[:16])

    def link_message(self, account: Account, did: str) -> bytes:
        return link_message(
            log_origin=self.log_origin,
            username=account.username,
            did=did,
            challenge=self.link_challenge(account, did),
        )

    def link_key(self, account: Account, did: str, signature: str) -> AccountKey:
        """Link a self-custody key after checking its signature over ``link_message``."""
        message = self.link_message(account, did)
        verify_signature(
            public_key_from_did(did), LINK_PURPOSE, message, b64url_decode(signature, "signature")
        )
        existing = self.store.key(did)
        if existing is not None and existing.account_id == account.id:
            return existing
        key = AccountKey(account.id, did, LINKED, None, format_time(self.clock()))
        self.store.add_key(key)
        return key


def _seal_context(account_id: int, did: str) -> bytes:
    return f"copyseal custodial key\0{account_id}\0{did}".encode()
