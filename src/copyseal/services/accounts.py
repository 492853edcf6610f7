"""Account use-cases: sign-up, log-in, sessions, API tokens, and the keys an account controls.

Secrets handed to a client (session cookies, API tokens) are 32 random bytes; only their
SHA-256 is stored, so a copy of the database opens no session. Passwords are hashed with
argon2id. A custodial key is created here, sealed by the ``KeySealer`` and opened only to
sign a claim the account asked for. ``require_control`` is the one rule every use-case that
acts for a key goes through: an account acts only for the keys it holds or has linked.

Guessing is bounded where the answers say something: password log-in per username (a
lock that doubles from one minute to at most fifteen after five failures in a row, the same
for names that exist and names that do not), and sign-up per client address (which has to
say when a username is taken). Both counts live in the account store, shared by every
worker process. A link challenge carries its expiry and a nonce under a MAC, so issuing one
stores nothing; using one stores it until it expires, so it links once.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from copyseal.core.encoding import b64url_decode, b64url_encode
from copyseal.core.keys import Signer, public_key_from_did, verify_signature
from copyseal.domain.accounts import (
    CUSTODIAL,
    LINK_PURPOSE,
    LINK_TTL,
    LINKED,
    LOGIN_MAX_LOCK,
    LOGIN_WINDOW,
    SIGNUP_ATTEMPTS,
    SIGNUP_WINDOW,
    Account,
    AccountKey,
    AccountStore,
    ApiToken,
    KeySealer,
    Session,
    check_password,
    link_message,
    login_lock,
    normalise_username,
)
from copyseal.errors import (
    ConflictError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from copyseal.errors import VerificationError as SignatureError
from copyseal.services.registry import Clock, format_time

SESSION_TTL = timedelta(days=14)
TOKEN_PREFIX = "cs_"
MAX_TOKENS = 20
MAX_TOKEN_NAME = 64
LOGIN_SCOPE = "login"
SIGNUP_SCOPE = "signup"
NEW_CHALLENGE = "Ask for a new link message and sign that one."


@dataclass(frozen=True)
class SessionGrant:
    token: str
    account: Account
    expires_at: datetime


@dataclass(frozen=True)
class LinkChallenge:
    """What a key signs to be linked: ``message``, which embeds ``challenge``."""

    did: str
    challenge: str
    expires_at: str
    message: bytes


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def _seconds(delta: timedelta) -> float:
    """Whole seconds, rounded up: a client that waits Retry-After finds the door open."""
    return float(max(1, math.ceil(delta.total_seconds())))


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

    def sign_up(
        self, username: str, password: str, *, custodial: bool, client: str | None = None
    ) -> Account:
        """A new account. Sign-up must say when a username is taken (the person has to pick
        another), so what is bounded is how many names one ``client`` (its address) can
        try: SIGNUP_ATTEMPTS per SIGNUP_WINDOW, counted before anything is looked at. None
        skips the count (the service's rate limits are off)."""
        if client is not None:
            self._count_sign_up(client)
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

    def _count_sign_up(self, client: str) -> None:
        now = self.clock()
        seen = self.store.count_attempt(
            SIGNUP_SCOPE, client, format_time(now), format_time(now - SIGNUP_WINDOW)
        )
        if seen.count > SIGNUP_ATTEMPTS:
            wait = _seconds(datetime.fromisoformat(seen.first_at) + SIGNUP_WINDOW - now)
            raise RateLimited(
                f"too many sign-ups from this address: at most {SIGNUP_ATTEMPTS} an hour",
                retry_after=wait,
            )

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
        """The account, if the password is right and log-in for the name is not paused.

        Every answer is the same for a name that exists and one that does not: the same
        refusal after the same argon2 work, and the same pause after the same failures.
        """
        refused = Unauthenticated("wrong username or password")
        try:
            name = normalise_username(username)
        except InvalidInput:
            name = ""  # no account can have it, so nothing to count
        now = self.clock()
        if name:
            self._check_login_open(name, now)
        account = self.store.account_by_username(name) if name else None
        matches = len(password) <= 1024 and self._password_matches(account, password)
        if account is None or not matches:
            if name:
                self._count_login_failure(name, now)
            raise refused
        self.store.clear_throttle(LOGIN_SCOPE, name)
        if self.hasher.check_needs_rehash(account.password_hash):
            self.store.set_password_hash(account.id, self.hasher.hash(password))
        return account

    def _password_matches(self, account: Account | None, password: str) -> bool:
        try:
            self.hasher.verify(account.password_hash if account else self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return True

    def _check_login_open(self, name: str, now: datetime) -> None:
        seen = self.store.throttle(LOGIN_SCOPE, name)
        if seen is None or seen.first_at <= format_time(now - LOGIN_WINDOW):
            return
        opens = datetime.fromisoformat(seen.last_at) + login_lock(seen.count)
        if now < opens:
            raise RateLimited(
                f"log-in as {name!r} is paused after {seen.count} failed attempts",
                hint=(
                    "Try again after Retry-After seconds. Each further failure doubles the"
                    f" pause, up to {int(LOGIN_MAX_LOCK.total_seconds()) // 60} minutes; a"
                    " successful log-in clears it. Sessions and API tokens already issued"
                    " keep working."
                ),
                retry_after=_seconds(opens - now),
            )

    def _count_login_failure(self, name: str, now: datetime) -> None:
        since = format_time(now - LOGIN_WINDOW)
        self.store.count_attempt(LOGIN_SCOPE, name, format_time(now), since)
        self.store.delete_throttles_before(since)

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

    def link_challenge(self, account: Account, did: str) -> LinkChallenge:
        """A fresh message for the key ``did`` to sign, good for LINK_TTL and once."""
        public_key_from_did(did)
        expires = int((self.clock() + LINK_TTL).timestamp())
        nonce = b64url_encode(self.random_bytes(16))
        challenge = f"{expires}.{nonce}.{self._link_mac(account, did, expires, nonce)}"
        return self._challenge(account, did, challenge, expires)

    def _link_mac(self, account: Account, did: str, expires: int, nonce: str) -> str:
        data = f"{account.id}\0{did}\0{expires}\0{nonce}".encode()
        return b64url_encode(hmac.new(self._link_mac_key, data, hashlib.sha256).digest()[:16])

    def _challenge(self, account: Account, did: str, challenge: str, expires: int) -> LinkChallenge:
        expires_at = format_time(datetime.fromtimestamp(expires, UTC))
        message = link_message(
            log_origin=self.log_origin,
            username=account.username,
            did=did,
            challenge=challenge,
            expires_at=expires_at,
        )
        return LinkChallenge(did, challenge, expires_at, message)

    def _open_challenge(self, account: Account, did: str, challenge: str) -> LinkChallenge:
        """The challenge this server issued to ``account`` for ``did``, if unexpired."""
        expires_text, _, rest = challenge.partition(".")
        nonce, _, mac = rest.partition(".")
        well_formed = challenge.isascii() and expires_text.isdigit() and nonce and mac
        if not (well_formed and len(expires_text) <= 11):
            raise SignatureError("the link challenge is malformed", check="challenge")
        expires = int(expires_text)
        expected = self._link_mac(account, did, expires, nonce)
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            raise SignatureError(
                "this link challenge was not issued to this account for this key",
                hint=NEW_CHALLENGE,
                check="challenge",
            )
        issued = self._challenge(account, did, challenge, expires)
        if self.clock().timestamp() >= expires:
            raise SignatureError(
                f"the link challenge expired at {issued.expires_at}",
                hint=NEW_CHALLENGE,
                check="challenge",
            )
        return issued

    def link_key(self, account: Account, did: str, challenge: str, signature: str) -> AccountKey:
        """Link a self-custody key after checking its signature over the challenge's message.

        The challenge is used up by the first valid signature: a replay of that signature
        (or a second one over the same message) is refused, so a link proof cannot be
        replayed, even by someone who saw it, to link the key again after it was removed.
        """
        issued = self._open_challenge(account, did, challenge)
        verify_signature(
            public_key_from_did(did),
            LINK_PURPOSE,
            issued.message,
            b64url_decode(signature, "signature"),
        )
        first_use = self.store.use_link_challenge(
            hashlib.sha256(challenge.encode()).digest(),
            issued.expires_at,
            format_time(self.clock()),
        )
        if not first_use:
            raise SignatureError(
                "this link challenge was already used", hint=NEW_CHALLENGE, check="challenge"
            )
        existing = self.store.key(did)
        if existing is not None and existing.account_id == account.id:
            return existing
        key = AccountKey(account.id, did, LINKED, None, format_time(self.clock()))
        self.store.add_key(key)
        return key


def _seal_context(account_id: int, did: str) -> bytes:
    return f"copyseal custodial key\0{account_id}\0{did}".encode()
