"""Accounts: link challenges that expire and link once, paused log-in after repeated
failures, and sign-up bounded per client address, all held in the shared account store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher

from copyseal.adapters.sealing import AesGcmSealer
from copyseal.adapters.storage.accounts import SqliteAccountStore
from copyseal.core.encoding import b64url_encode
from copyseal.core.keys import Signer
from copyseal.domain.accounts import (
    LINK_PURPOSE,
    LOGIN_FREE_FAILURES,
    SIGNUP_ATTEMPTS,
    Account,
    login_lock,
)
from copyseal.errors import ConflictError, RateLimited, Unauthenticated, VerificationError
from copyseal.services.accounts import Accounts

PASSWORD = "correct horse battery staple"
KEY = Signer.from_seed(b"\x51" * 32)
T0 = datetime(2026, 11, 1, tzinfo=UTC)


class Clock:
    """Stands still until moved."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class CountingHasher(PasswordHasher):
    """A fast argon2id hasher that counts the argon2 work it is asked for."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=64, parallelism=1)
        self.calls = 0

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.calls += 1
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.calls += 1
        return super().verify(hash, password)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[list[SqliteAccountStore]]:
    opened: list[SqliteAccountStore] = []
    yield opened
    for store in opened:
        store.close()


def make_accounts(tmp_path: Path, stores: list[SqliteAccountStore], **kw: Any) -> Accounts:
    """Accounts on the one account database; two of them are two worker processes."""
    store = SqliteAccountStore(tmp_path / "copyseal.db")
    stores.append(store)
    return Accounts(
        store=store,
        sealer=AesGcmSealer(b"\x52" * 32),
        clock=kw["clock"],
        random_bytes=os.urandom,
        link_key=b"\x53" * 32,
        log_origin="accounts.test/log",
        hasher=kw["hasher"],
    )


@pytest.fixture
def accounts(
    tmp_path: Path, stores: list[SqliteAccountStore], clock: Clock, hasher: CountingHasher
) -> Accounts:
    return make_accounts(tmp_path, stores, clock=clock, hasher=hasher)


def signature(signer: Signer, message: bytes) -> str:
    return b64url_encode(signer.sign(LINK_PURPOSE, message))


# -- link challenges --------------------------------------------------------------------------


def test_every_link_challenge_is_fresh(accounts: Accounts) -> None:
    alice = accounts.sign_up("alice", PASSWORD, custodial=False)
    first, second = (accounts.link_challenge(alice, KEY.did) for _ in range(2))
    assert first.challenge != second.challenge
    assert first.message != second.message
    assert first.expires_at == "2026-11-01T00:10:00.000Z"
    assert b'"expires_at":"2026-11-01T00:10:00.000Z"' in first.message


def test_a_link_challenge_links_once(accounts: Accounts) -> None:
    alice = accounts.sign_up("alice", PASSWORD, custodial=False)
    issued = accounts.link_challenge(alice, KEY.did)
    proof = signature(KEY, issued.message)
    assert accounts.link_key(alice, KEY.did, issued.challenge, proof).did == KEY.did
    with pytest.raises(VerificationError, match="already used") as caught:
        accounts.link_key(alice, KEY.did, issued.challenge, proof)
    assert caught.value.details["check"] == "challenge"
    # A new challenge is how the same key is confirmed again.
    again = accounts.link_challenge(alice, KEY.did)
    assert accounts.link_key(alice, KEY.did, again.challenge, signature(KEY, again.message))


def test_a_link_challenge_expires_after_ten_minutes(accounts: Accounts, clock: Clock) -> None:
    alice = accounts.sign_up("alice", PASSWORD, custodial=False)
    issued = accounts.link_challenge(alice, KEY.did)
    proof = signature(KEY, issued.message)
    clock.advance(minutes=10)
    with pytest.raises(VerificationError, match=r"expired at 2026-11-01T00:10:00\.000Z"):
        accounts.link_key(alice, KEY.did, issued.challenge, proof)
    clock.advance(minutes=-0.02)
    assert accounts.link_key(alice, KEY.did, issued.challenge, proof).did == KEY.did


def test_a_challenge_is_bound_to_its_account_key_and_expiry(accounts: Accounts) -> None:
    alice = accounts.sign_up("alice", PASSWORD, custodial=False)
    bob = accounts.sign_up("bob00", PASSWORD, custodial=False)
    other = Signer.from_seed(b"\x54" * 32)
    issued = accounts.link_challenge(alice, KEY.did)
    expires, nonce, mac = issued.challenge.split(".")
    cases: list[tuple[Account, str, str]] = [
        (bob, KEY.did, issued.challenge),  # another account
        (alice, other.did, issued.challenge),  # another key
        (alice, KEY.did, f"{int(expires) + 3600}.{nonce}.{mac}"),  # a later expiry
        (alice, KEY.did, f"{expires}.{nonce}.{mac[:-2]}xé"),  # a forged MAC
        (alice, KEY.did, "not a challenge"),
        (alice, KEY.did, f"{expires}.{nonce}\ud800.{mac}"),  # not ASCII, not even UTF-8
        (alice, KEY.did, f"١٢٣.{nonce}.{mac}"),  # digits, but not ASCII ones
    ]
    for account, did, challenge in cases:
        with pytest.raises(VerificationError) as caught:
            accounts.link_key(account, did, challenge, signature(KEY, issued.message))
        assert caught.value.details["check"] == "challenge", challenge


def test_a_wrong_signature_does_not_use_the_challenge_up(accounts: Accounts) -> None:
    alice = accounts.sign_up("alice", PASSWORD, custodial=False)
    issued = accounts.link_challenge(alice, KEY.did)
    forged = signature(Signer.from_seed(b"\x55" * 32), issued.message)
    with pytest.raises(VerificationError):
        accounts.link_key(alice, KEY.did, issued.challenge, forged)
    assert accounts.link_key(alice, KEY.did, issued.challenge, signature(KEY, issued.message))


# -- log-in -----------------------------------------------------------------------------------


def fail(accounts: Accounts, username: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(Unauthenticated):
            accounts.log_in(username, "wrong password!")


def pause_of(accounts: Accounts, username: str, password: str = PASSWORD) -> float:
    with pytest.raises(RateLimited) as caught:
        accounts.log_in(username, password)
    return caught.value.retry_after


def test_log_in_pauses_after_five_failures_even_for_the_right_password(
    accounts: Accounts, clock: Clock
) -> None:
    accounts.sign_up("alice", PASSWORD, custodial=True)
    fail(accounts, "alice", LOGIN_FREE_FAILURES)
    assert pause_of(accounts, "Alice") == 60
    clock.advance(seconds=59)
    assert pause_of(accounts, "alice") == 1
    clock.advance(seconds=1)
    assert accounts.log_in("alice", PASSWORD).account.username == "alice"
    # The success cleared the count: five more failures are free again.
    fail(accounts, "alice", LOGIN_FREE_FAILURES)


def test_each_further_failure_doubles_the_pause_up_to_fifteen_minutes(
    accounts: Accounts, clock: Clock
) -> None:
    accounts.sign_up("alice", PASSWORD, custodial=True)
    fail(accounts, "alice", LOGIN_FREE_FAILURES)
    pauses = []
    for _ in range(7):
        pauses.append(pause_of(accounts, "alice"))
        clock.advance(seconds=pauses[-1])
        fail(accounts, "alice", 1)
    assert pauses == [60, 120, 240, 480, 900, 900, 900]
    assert login_lock(10_000) == timedelta(minutes=15)


def test_a_paused_name_and_an_unknown_name_answer_alike(
    accounts: Accounts, hasher: CountingHasher
) -> None:
    accounts.sign_up("alice", PASSWORD, custodial=True)
    answers = {}
    for name in ("alice", "nobody"):
        fail(accounts, name, LOGIN_FREE_FAILURES)
        before = hasher.calls
        answers[name] = (pause_of(accounts, name), hasher.calls - before)
    # Same pause, and no argon2 work while paused, whether the account exists or not.
    assert answers["alice"] == answers["nobody"] == (60, 0)


def test_every_failure_does_the_same_argon2_work(
    accounts: Accounts, hasher: CountingHasher
) -> None:
    accounts.sign_up("alice", PASSWORD, custodial=True)
    for name in ("alice", "nobody", "!!"):
        before = hasher.calls
        fail(accounts, name, 1)
        assert hasher.calls - before == 1, name


def test_the_pause_holds_in_every_worker_process(
    tmp_path: Path, stores: list[SqliteAccountStore], clock: Clock, hasher: CountingHasher
) -> None:
    one = make_accounts(tmp_path, stores, clock=clock, hasher=hasher)
    two = make_accounts(tmp_path, stores, clock=clock, hasher=hasher)
    one.sign_up("alice", PASSWORD, custodial=True)
    fail(one, "alice", 3)
    fail(two, "alice", 2)
    assert pause_of(one, "alice") == pause_of(two, "alice") == 60
    assert pause_of(two, "alice", "wrong password!") == 60


def test_failures_from_a_day_ago_are_forgotten(accounts: Accounts, clock: Clock) -> None:
    accounts.sign_up("alice", PASSWORD, custodial=True)
    fail(accounts, "alice", LOGIN_FREE_FAILURES - 1)
    clock.advance(days=1, seconds=1)
    fail(accounts, "alice", LOGIN_FREE_FAILURES - 1)
    assert accounts.log_in("alice", PASSWORD)


# -- sign-up ----------------------------------------------------------------------------------


def test_sign_up_says_a_name_is_taken(accounts: Accounts) -> None:
    accounts.sign_up("alice", PASSWORD, custodial=False, client="10.0.0.1")
    with pytest.raises(ConflictError, match="taken"):
        accounts.sign_up("ALICE", PASSWORD, custodial=False, client="10.0.0.1")


def test_one_address_tries_ten_names_an_hour_taken_or_free(
    tmp_path: Path,
    stores: list[SqliteAccountStore],
    clock: Clock,
    hasher: CountingHasher,
) -> None:
    one = make_accounts(tmp_path, stores, clock=clock, hasher=hasher)
    two = make_accounts(tmp_path, stores, clock=clock, hasher=hasher)
    one.sign_up("alice", PASSWORD, custodial=False, client="10.0.0.2")
    for i in range(SIGNUP_ATTEMPTS):
        worker = (one, two)[i % 2]
        with pytest.raises(ConflictError):
            worker.sign_up("alice", PASSWORD, custodial=False, client="10.0.0.1")
    answers = []
    for name in ("alice", "fresh-name"):
        before = hasher.calls
        with pytest.raises(RateLimited) as caught:
            two.sign_up(name, PASSWORD, custodial=False, client="10.0.0.1")
        answers.append((caught.value.message, caught.value.retry_after, hasher.calls - before))
    # The same refusal, before any look-up or hashing, whether the name is taken or not.
    assert answers[0] == answers[1]
    assert answers[0][1:] == (3600, 0)
    # Another address is not affected; an hour later this one may try again.
    assert one.sign_up("bob00", PASSWORD, custodial=False, client="10.0.0.3")
    clock.advance(hours=1)
    assert two.sign_up("fresh-name", PASSWORD, custodial=False, client="10.0.0.1")


def test_sign_up_without_a_client_is_not_counted(accounts: Accounts) -> None:
    for i in range(SIGNUP_ATTEMPTS + 2):
        accounts.sign_up(f"user{i}", PASSWORD, custodial=False)
