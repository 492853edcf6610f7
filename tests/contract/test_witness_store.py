"""The witness storage port's contract: every WitnessStore adapter must pass these."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from copyseal.adapters.storage.witness_sqlite import SqliteWitnessStore
from copyseal.core.note import MAX_TREE_SIZE
from copyseal.domain.witness import WitnessedCheckpoint, WitnessStore
from tests.witness_support import MemoryWitnessStore


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WitnessStore]:
    adapter: WitnessStore
    if request.param == "sqlite":
        adapter = SqliteWitnessStore(tmp_path / "witness.db")
    else:
        adapter = MemoryWitnessStore()
    yield adapter
    adapter.close()


def _record(size: int, origin: str = "a.example/log", tag: str = "") -> WitnessedCheckpoint:
    root = hashlib.sha256(f"{origin}/{size}/{tag}".encode()).digest()
    return WitnessedCheckpoint(origin, size, root, f"{origin}\n{size}\n{tag}\n\n— sig\n")


def test_empty(store: WitnessStore) -> None:
    assert store.latest("a.example/log") is None


def test_first_record_needs_no_record(store: WitnessStore) -> None:
    assert store.compare_and_swap(None, _record(3))
    assert store.latest("a.example/log") == _record(3)
    assert not store.compare_and_swap(None, _record(4)), "a second first write must lose"
    assert store.latest("a.example/log") == _record(3)


def test_swap_when_expected_matches(store: WitnessStore) -> None:
    store.compare_and_swap(None, _record(3))
    assert store.compare_and_swap(_record(3), _record(7))
    assert store.latest("a.example/log") == _record(7)


def test_swap_refused_when_stale(store: WitnessStore) -> None:
    store.compare_and_swap(None, _record(3))
    store.compare_and_swap(_record(3), _record(7))
    assert not store.compare_and_swap(_record(3), _record(5))
    assert store.latest("a.example/log") == _record(7)


def test_swap_compares_the_root_not_only_the_size(store: WitnessStore) -> None:
    store.compare_and_swap(None, _record(3))
    assert not store.compare_and_swap(_record(3, tag="fork"), _record(7))
    assert store.latest("a.example/log") == _record(3)


def test_origins_are_independent(store: WitnessStore) -> None:
    assert store.compare_and_swap(None, _record(3, origin="a.example/log"))
    assert store.compare_and_swap(None, _record(9, origin="b.example/log"))
    assert store.latest("a.example/log") == _record(3, origin="a.example/log")
    assert store.latest("b.example/log") == _record(9, origin="b.example/log")


def test_uint64_sizes_round_trip(store: WitnessStore) -> None:
    assert store.compare_and_swap(None, _record(0))
    assert store.compare_and_swap(_record(0), _record(MAX_TREE_SIZE))
    assert store.latest("a.example/log") == _record(MAX_TREE_SIZE)
    assert store.compare_and_swap(_record(MAX_TREE_SIZE), _record(1))


def test_concurrent_swaps_from_one_state_have_one_winner(store: WitnessStore) -> None:
    store.compare_and_swap(None, _record(1))
    wins: list[int] = []
    barrier = threading.Barrier(8)

    def attempt(size: int) -> None:
        barrier.wait()
        if store.compare_and_swap(_record(1), _record(size)):
            wins.append(size)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(10, 18)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert store.latest("a.example/log") == _record(wins[0])


# -- the SQLite adapter beyond the port ----------------------------------------------------------


def test_sqlite_is_durable_and_shared_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "witness.db"
    first = SqliteWitnessStore(path)
    second = SqliteWitnessStore(path)
    assert first.compare_and_swap(None, _record(3))
    assert not second.compare_and_swap(None, _record(4))
    assert second.compare_and_swap(_record(3), _record(4))
    first.close()
    second.close()
    reopened = SqliteWitnessStore(path)
    assert reopened.latest("a.example/log") == _record(4)
    reopened.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
