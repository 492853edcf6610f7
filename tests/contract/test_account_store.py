"""The account store port's contract: every AccountStore adapter must pass these."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copyseal.adapters.storage.accounts import SqliteAccountStore
from copyseal.adapters.storage.sqlite import SqliteLogStore
from copyseal.domain.accounts import AccountKey, AccountStore, Session, Throttle
from copyseal.errors import ConflictError

T0 = "2026-11-01T00:00:00.000Z"


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AccountStore]:
    log = SqliteLogStore(tmp_path / "copyseal.db")  # the same file as the log, as served
    adapter = SqliteAccountStore(tmp_path / "copyseal.db")
    yield adapter
    adapter.close()
    log.close()


def test_accounts_are_unique_by_username(store: AccountStore) -> None:
    alice = store.create_account("alice", "hash-a", T0)
    assert store.account(alice.id) == alice
    assert store.account_by_username("alice") == alice
    assert store.account_by_username("bob") is None
    with pytest.raises(ConflictError):
        store.create_account("alice", "hash-b", T0)
    store.set_password_hash(alice.id, "hash-c")
    assert store.account(alice.id).password_hash == "hash-c"  # type: ignore[union-attr]


def test_a_key_belongs_to_one_account(store: AccountStore) -> None:
    a = store.create_account("alice", "h", T0)
    b = store.create_account("bob", "h", T0)
    key = AccountKey(a.id, "did:key:zA", "custodial", b"sealed", T0)
    store.add_key(key)
    store.add_key(AccountKey(a.id, "did:key:zB", "linked", None, T0))
    with pytest.raises(ConflictError):
        store.add_key(AccountKey(b.id, "did:key:zA", "linked", None, T0))
    assert [k.did for k in store.keys(a.id)] == ["did:key:zA", "did:key:zB"]
    assert store.key("did:key:zA") == key
    assert store.keys(b.id) == [] and store.key("did:key:zC") is None


def test_sessions_expire_and_end(store: AccountStore) -> None:
    a = store.create_account("alice", "h", T0)
    old = Session(b"\x01" * 32, a.id, T0, "2026-11-02T00:00:00.000Z")
    new = Session(b"\x02" * 32, a.id, T0, "2026-12-01T00:00:00.000Z")
    store.add_session(old)
    store.add_session(new)
    assert store.session(old.token_hash) == old
    assert store.delete_sessions_before("2026-11-15T00:00:00.000Z") == 1
    assert store.session(old.token_hash) is None
    store.delete_session(new.token_hash)
    assert store.session(new.token_hash) is None


def test_tokens_belong_to_their_account(store: AccountStore) -> None:
    a = store.create_account("alice", "h", T0)
    b = store.create_account("bob", "h", T0)
    token = store.add_token(a.id, "script", b"\x03" * 32, "cs_abcdefg", T0)
    assert store.token(b"\x03" * 32) == token
    assert store.tokens(a.id) == [token] and store.tokens(b.id) == []
    assert not store.delete_token(b.id, token.id)
    assert store.delete_token(a.id, token.id)
    assert store.token(b"\x03" * 32) is None


def test_attempts_are_counted_per_scope_and_key_in_windows(store: AccountStore) -> None:
    t1, t2, t3 = (f"2026-11-01T00:0{m}:00.000Z" for m in (1, 2, 3))
    assert store.throttle("login", "alice") is None
    assert store.count_attempt("login", "alice", T0, "2026-10-31T00:00:00.000Z").count == 1
    assert store.count_attempt("login", "alice", t1, "2026-10-31T00:00:00.000Z") == Throttle(
        2, T0, t1
    )
    assert store.count_attempt("signup", "alice", t1, T0).count == 1
    assert store.throttle("login", "bob") is None
    # A count that began at or before the window's start begins again.
    assert store.count_attempt("login", "alice", t2, T0) == Throttle(1, t2, t2)
    store.clear_throttle("login", "alice")
    assert store.throttle("login", "alice") is None
    assert store.throttle("signup", "alice") == Throttle(1, t1, t1)
    assert store.delete_throttles_before(t3) == 1
    assert store.throttle("signup", "alice") is None


def test_a_link_challenge_is_used_once_until_it_expires(store: AccountStore) -> None:
    later = "2026-11-01T00:10:00.000Z"
    assert store.use_link_challenge(b"c" * 32, later, T0)
    assert not store.use_link_challenge(b"c" * 32, later, T0)
    assert store.use_link_challenge(b"d" * 32, later, T0)
    # Expired records are dropped; their challenges are refused by their expiry anyway.
    assert store.use_link_challenge(
        b"c" * 32, "2026-11-01T00:20:00.000Z", "2026-11-01T00:11:00.000Z"
    )
