"""The folds' store ports: the similarity index, lineage and ownership. Every adapter (and
the in-memory fakes) passes these; the write buffer is the SQLite index's own."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from copyseal.adapters.storage.folds_sqlite import (
    SqliteLineage,
    SqliteOwnership,
    SqliteSimilarityIndex,
)
from copyseal.domain.folds import (
    FoldStore,
    LineageStore,
    LinkRow,
    OwnerRow,
    OwnershipStore,
    SimilarityIndex,
)
from tests.fakes import MemoryLineage, MemoryOwnership, MemorySimilarityIndex

ADAPTERS: dict[str, dict[str, Callable[[Path], Any]]] = {
    "similarity": {"sqlite": SqliteSimilarityIndex, "memory": lambda _: MemorySimilarityIndex()},
    "lineage": {"sqlite": SqliteLineage, "memory": lambda _: MemoryLineage()},
    "ownership": {"sqlite": SqliteOwnership, "memory": lambda _: MemoryOwnership()},
}


def _open(port: str, adapter: str, tmp_path: Path) -> Any:
    return ADAPTERS[port][adapter](tmp_path / "copyseal.db")


@pytest.fixture(params=["sqlite", "memory"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SimilarityIndex]:
    store = _open("similarity", request.param, tmp_path)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "memory"])
def lineage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LineageStore]:
    store = _open("lineage", request.param, tmp_path)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "memory"])
def ownership(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OwnershipStore]:
    store = _open("ownership", request.param, tmp_path)
    yield store
    store.close()


# -- what every fold store shares -------------------------------------------------------------

SPANS: dict[str, Callable[[Any, int, int], bool]] = {
    "similarity": lambda s, a, b: s.add([(7, a)], a, b),
    "lineage": lambda s, a, b: s.add([LinkRow(a, 0, "derivative")], a, b),
    "ownership": lambda s, a, b: s.add([OwnerRow(a, "did:key:zA", a)], a, b),
}


@pytest.mark.parametrize("adapter", ["sqlite", "memory"])
@pytest.mark.parametrize("port", sorted(SPANS))
def test_each_span_is_folded_once(port: str, adapter: str, tmp_path: Path) -> None:
    """A span is recorded only by the follower that had read exactly up to its start."""
    store: FoldStore = _open(port, adapter, tmp_path)
    try:
        assert store.through() == 0
        assert SPANS[port](store, 0, 3)
        assert not SPANS[port](store, 0, 2)  # behind: another follower folded it already
        assert not SPANS[port](store, 5, 6)  # ahead: a gap would lose entries 3 and 4
        assert SPANS[port](store, 3, 5)
        assert store.through() == 5
        store.clear()
        assert store.through() == 0
        assert SPANS[port](store, 0, 1)
    finally:
        store.close()


@pytest.mark.parametrize("port", sorted(SPANS))
def test_a_store_reopened_keeps_its_progress(port: str, tmp_path: Path) -> None:
    store = _open(port, "sqlite", tmp_path)
    SPANS[port](store, 0, 4)
    store.close()
    again = _open(port, "sqlite", tmp_path)
    try:
        assert again.through() == 4
    finally:
        again.close()


def test_a_store_older_than_its_progress_record_is_derived_anew(tmp_path: Path) -> None:
    """A file from before fold progress was recorded: its rows are dropped and the fold
    starts from the beginning of the log (the next catch-up rebuilds it)."""
    db = sqlite3.connect(tmp_path / "copyseal.db")
    db.execute("CREATE TABLE fp_keys (key INTEGER, entry INTEGER, PRIMARY KEY (key, entry))")
    db.execute("INSERT INTO fp_keys VALUES (5, 0)")
    db.commit()
    db.close()
    index = SqliteSimilarityIndex(tmp_path / "copyseal.db")
    try:
        assert index.through() == 0
        assert index.similar([5]) == []
    finally:
        index.close()


# -- the similarity index ---------------------------------------------------------------------


def test_similar_ranks_by_shared_keys(index: SimilarityIndex) -> None:
    assert index.add([(10, 0), (11, 0), (11, 1), (12, 2), (11, 2)], 0, 3)
    assert index.similar([11, 12]) == [2, 0, 1]
    assert index.similar([11], limit=2) == [0, 1]
    assert index.similar([99]) == []
    index.clear()
    assert index.similar([10, 11, 12]) == []


def test_similar_many_ranks_every_query_by_shared_keys(index: SimilarityIndex) -> None:
    """Against a plain count: most shared keys first, then the earliest entry; a key asked
    for twice counts once; queries with no keys, or none indexed, find nothing."""
    rng = random.Random(8)
    rows = {(rng.randrange(60), rng.randrange(40)) for _ in range(400)}
    assert index.add(sorted(rows), 0, 40)
    queries = [[rng.randrange(80) for _ in range(rng.randrange(12))] for _ in range(200)]
    queries += [[], [1000, 1001], [5, 5, 5]]
    for limit in (3, 200):
        expected = []
        for keys in queries:
            counts: dict[int, int] = {}
            for key, entry in rows:
                if key in keys:
                    counts[entry] = counts.get(entry, 0) + 1
            expected.append(sorted(counts, key=lambda e: (-counts[e], e))[:limit])
        assert index.similar_many(queries, limit=limit) == expected
    assert index.similar_many([]) == []


def test_large_spans_fit_the_statement_limits(index: SimilarityIndex) -> None:
    assert index.add([(i % 7000, i) for i in range(5000)] * 3, 0, 5000)
    assert index.similar_many([[k] for k in range(6000)], limit=5)[4999] == [4999]


def test_index_write_buffer_moves_rows_without_losing_any(tmp_path: Path) -> None:
    """New index rows go into a small buffer table; each write moves as many older rows,
    in key order from a sweeping cursor, into the main table. Lookups see both."""
    index = SqliteSimilarityIndex(tmp_path / "copyseal.db", recent_rows=40)
    rng = random.Random(5)
    rows: set[tuple[int, int]] = set()
    try:
        for entry in range(60):
            keys = [(rng.randrange(1 << 62), entry) for _ in range(7)] + [(entry % 5, entry)]
            assert index.add(keys, entry, entry + 1)
            rows.update(keys)
        db = sqlite3.connect(tmp_path / "copyseal.db")
        recent = set(db.execute("SELECT key, entry FROM fp_recent"))
        main = set(db.execute("SELECT key, entry FROM fp_keys"))
        assert len(recent) <= 40 and main and not recent & main
        assert recent | main == rows
        for key in range(5):  # keys shared by 12 entries each, wherever their rows are
            assert sorted(index.similar([key])) == list(range(key, 60, 5))
        # A bulk load (a rebuild) skips the buffer and loads in key order.
        index.clear()
        assert index.add(sorted(rows), 0, 60)
        assert set(db.execute("SELECT key, entry FROM fp_keys")) == rows
        assert list(db.execute("SELECT COUNT(*) FROM fp_recent")) == [(0,)]
        db.close()
    finally:
        index.close()


# -- lineage ----------------------------------------------------------------------------------


def test_declared_links_are_rebuilt_and_observed_ones_kept(lineage: LineageStore) -> None:
    assert lineage.add([LinkRow(2, 0, "derivative"), LinkRow(3, 0, "dispute")], 0, 4)
    lineage.observe([LinkRow(1, 0, "version"), LinkRow(1, 0, "version")])
    assert lineage.links(0) == [
        LinkRow(1, 0, "version"),
        LinkRow(2, 0, "derivative"),
        LinkRow(3, 0, "dispute"),
    ]
    assert lineage.links(2) == [LinkRow(2, 0, "derivative")]
    assert lineage.links(9) == []
    lineage.clear()  # a rebuild derives declared links again; observations are no claim's
    assert lineage.links(0) == [LinkRow(1, 0, "version")]


# -- ownership --------------------------------------------------------------------------------


def test_owners_follow_the_latest_change(ownership: OwnershipStore) -> None:
    assert ownership.add([OwnerRow(0, "did:key:zA", 0), OwnerRow(1, "did:key:zB", 1)], 0, 2)
    assert ownership.add([OwnerRow(0, "did:key:zC", 5)], 2, 6)
    assert ownership.owners([0, 1, 7]) == {0: "did:key:zC", 1: "did:key:zB"}
    assert ownership.history(0) == [OwnerRow(0, "did:key:zA", 0), OwnerRow(0, "did:key:zC", 5)]
    assert ownership.owners(range(5000)) == {0: "did:key:zC", 1: "did:key:zB"}
