"""The storage port's contract: every LogStore adapter must pass these."""

from __future__ import annotations

import fcntl
import multiprocessing
import multiprocessing.synchronize
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from copyseal.adapters.storage import sqlite as sqlite_adapter
from copyseal.adapters.storage.sqlite import SqliteLogStore
from copyseal.core import merkle
from copyseal.domain.log import Entry, LogStore, StoredCheckpoint
from copyseal.errors import ConflictError, NotFound, Unavailable


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LogStore]:
    adapter = SqliteLogStore(tmp_path / "log.db")
    yield adapter
    adapter.close()


def _entry(index: int, signer: str = "did:key:zA", content: str | None = None) -> Entry:
    leaf = f"leaf-{index}".encode()
    return Entry(
        index=index,
        leaf=leaf,
        leaf_hash=merkle.leaf_hash(leaf),
        type="register",
        signer=signer,
        nonce=f"n{index}",
        content_sha256=content or f"{index:064x}",
        logged_at="2026-11-01T00:00:00.000Z",
    )


def _append(store: LogStore, entries: list[Entry]) -> None:
    with store.sequencer() as writer:
        start = writer.tree_size()
        size, nodes = merkle.append_nodes(start, writer.read_node, (e.leaf_hash for e in entries))
        writer.append(entries, nodes, StoredCheckpoint(size, f"note {size}\n", "t"))


def test_empty_store(store: LogStore) -> None:
    assert store.tree_size() == 0
    assert store.latest_checkpoint() is None
    assert store.entry(0) is None
    with pytest.raises(NotFound):
        store.read_node(0, 0)


def test_append_and_read_back(store: LogStore) -> None:
    _append(store, [_entry(0), _entry(1), _entry(2)])
    _append(store, [_entry(3, signer="did:key:zB")])
    assert store.tree_size() == 4
    assert store.entry(2) == _entry(2)
    assert [e.index for e in store.entries(1, 3)] == [1, 2]
    assert [e.index for e in store.entries_by_signer("did:key:zA", after=0, limit=10)] == [1, 2]
    hashes = [_entry(i).leaf_hash for i in range(3)] + [_entry(3, "did:key:zB").leaf_hash]
    assert merkle.root(4, store.read_node) == merkle.root_from_leaf_hashes(hashes)
    assert [c.size for c in store.checkpoints()] == [3, 4]
    latest = store.latest_checkpoint()
    assert latest is not None and latest.size == 4
    assert store.checkpoint(3) == StoredCheckpoint(3, "note 3\n", "t")
    assert [i for i, _ in store.nodes(1)] == [0, 1]
    assert store.read_nodes(0, 1, 4) == [store.read_node(0, i) for i in range(1, 4)]
    with pytest.raises(NotFound):
        store.read_nodes(1, 1, 3)


def test_lookups(store: LogStore) -> None:
    _append(
        store, [_entry(0, content="ab" * 32), _entry(1, signer="did:key:zB", content="ab" * 32)]
    )
    with store.sequencer() as writer:
        # Set-wise, as the sequencer asks: one query for a whole batch, every entry of each
        # content hash in log order.
        found = writer.find_contents(["ab" * 32, "cd" * 32, "ab" * 32])
        assert {k: [e.index for e in v] for k, v in found.items()} == {"ab" * 32: [0, 1]}
        nonces = writer.find_nonces(
            [("did:key:zA", "n0"), ("did:key:zB", "n0"), ("did:key:zB", "n1")]
        )
        assert {k: e.index for k, e in nonces.items()} == {
            ("did:key:zA", "n0"): 0,
            ("did:key:zB", "n1"): 1,
        }
        assert writer.find_nonces([]) == {} and writer.find_contents([]) == {}
        nodes = writer.nodes_at([(0, 0), (0, 1), (1, 0), (0, 2), (5, 0)])
        assert nodes == {c: writer.read_node(*c) for c in [(0, 0), (0, 1), (1, 0)]}
        assert writer.head() == (2, "2026-11-01T00:00:00.000Z")
    assert [e.index for e in store.find_content("ab" * 32)] == [0, 1]


def test_failed_section_writes_nothing(store: LogStore) -> None:
    _append(store, [_entry(0)])
    with pytest.raises(RuntimeError), store.sequencer() as writer:
        size, nodes = merkle.append_nodes(1, writer.read_node, [_entry(1).leaf_hash])
        writer.append([_entry(1)], nodes, StoredCheckpoint(size, "n\n", "t"))
        raise RuntimeError("crash before commit")
    assert store.tree_size() == 1
    assert store.latest_checkpoint() == StoredCheckpoint(1, "note 1\n", "t")
    _append(store, [_entry(1)])
    assert store.tree_size() == 2


def test_duplicate_nonce_is_refused_by_the_store(store: LogStore) -> None:
    _append(store, [_entry(0)])
    clash = Entry(**{**_entry(1).__dict__, "nonce": "n0"})
    with pytest.raises(ConflictError):
        _append(store, [clash])
    assert store.tree_size() == 1


def test_cosignatures_are_appended_never_rewritten(store: LogStore) -> None:
    _append(store, [_entry(0)])
    store.add_cosignatures(1, "note 1\n— witness abc\n")
    assert store.checkpoint(1) == StoredCheckpoint(1, "note 1\n— witness abc\n", "t")
    with pytest.raises(ConflictError):
        store.add_cosignatures(1, "note 2\n— witness abc\n")
    with pytest.raises(NotFound):
        store.add_cosignatures(7, "note 7\n")


def test_similarity_index_and_links(store: LogStore) -> None:
    _append(store, [_entry(0), _entry(1), _entry(2)])
    with store.sequencer() as writer:
        writer.add_index([(10, 0), (11, 0), (11, 1), (12, 2), (11, 2)], [(2, 0, "derivative")])
        assert writer.similar([11, 12]) == [2, 0, 1]
    assert store.similar([11, 12]) == [2, 0, 1]
    assert store.similar([11], limit=2) == [0, 1]
    assert store.similar([99]) == []
    assert store.links(0) == [(2, 0, "derivative")]
    with pytest.raises(RuntimeError), store.sequencer() as writer:
        writer.add_index([(13, 1)])
        raise RuntimeError("rolled back with the batch")
    assert store.similar([13]) == []
    with store.sequencer() as writer:
        writer.add_index([], [(1, 0, "version")])
        writer.clear_index()
    assert store.similar([10, 11, 12]) == []
    assert store.links(0) == [(1, 0, "version")]  # not derivable from the log: kept


def test_similar_many_ranks_every_query_by_shared_keys(store: LogStore) -> None:
    """Against a plain count: most shared keys first, then the earliest entry; a key asked
    for twice counts once; queries with no keys, or none indexed, find nothing."""
    rng = random.Random(8)
    _append(store, [_entry(i) for i in range(40)])
    rows = {(rng.randrange(60), rng.randrange(40)) for _ in range(400)}
    with store.sequencer() as writer:
        writer.add_index(sorted(rows))
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
        assert store.similar_many(queries, limit=limit) == expected
    assert store.similar_many([]) == []


def test_index_write_buffer_moves_rows_without_losing_any(tmp_path: Path) -> None:
    """New index rows go into a small buffer table; each write moves as many older rows,
    in key order from a sweeping cursor, into the main table. Lookups see both."""
    store = SqliteLogStore(tmp_path / "log.db", recent_rows=40)
    rng = random.Random(5)
    rows: set[tuple[int, int]] = set()
    try:
        _append(store, [_entry(i) for i in range(60)])
        for entry in range(60):
            keys = [(rng.randrange(1 << 62), entry) for _ in range(7)] + [(entry % 5, entry)]
            with store.sequencer() as writer:
                writer.add_index(keys)
            rows.update(keys)
        db = sqlite3.connect(tmp_path / "log.db")
        recent = set(db.execute("SELECT key, entry FROM fp_recent"))
        main = set(db.execute("SELECT key, entry FROM fp_keys"))
        assert len(recent) <= 40 and main and not recent & main
        assert recent | main == rows
        for key in range(5):  # keys shared by 12 entries each, wherever their rows are
            assert sorted(store.similar([key])) == list(range(key, 60, 5))
        # A bulk load (a rebuild) skips the buffer and loads in key order.
        with store.sequencer() as writer:
            writer.clear_index()
            writer.add_index(sorted(rows))
        assert set(db.execute("SELECT key, entry FROM fp_keys")) == rows
        assert list(db.execute("SELECT COUNT(*) FROM fp_recent")) == [(0,)]
        db.close()
    finally:
        store.close()


def _open_at_once(path: Path, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait()
    SqliteLogStore(path).close()  # an error exits the process with code 1


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Two connections switching one new file to WAL at the same moment: SQLite tells the
    later one "locked" without waiting; the store waits for it instead."""
    context = multiprocessing.get_context("fork")
    for attempt in range(10):
        path = tmp_path / f"log{attempt}.db"
        barrier = context.Barrier(6)
        procs = [context.Process(target=_open_at_once, args=(path, barrier)) for _ in range(6)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        assert [proc.exitcode for proc in procs] == [0] * 6


def test_writers_in_two_processes_take_turns(tmp_path: Path) -> None:
    """Each process appends batches read-modify-write style (size, then append); with the
    store's write lock none is lost and no index is used twice."""
    path = tmp_path / "log.db"
    SqliteLogStore(path).close()
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_append_batches, args=(path, name)) for name in "AB"]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    store = SqliteLogStore(path)
    try:
        entries = store.entries(0, store.tree_size())
        assert [e.index for e in entries] == list(range(2 * 20 * 5))
        assert sorted(e.signer for e in entries) == ["did:key:zA"] * 100 + ["did:key:zB"] * 100
        checkpoint = store.latest_checkpoint()
        assert checkpoint is not None and checkpoint.size == 200
        want = merkle.root_from_leaf_hashes([e.leaf_hash for e in entries])
        assert merkle.root(200, store.read_node) == want
    finally:
        store.close()


def test_large_batches_fit_the_statement_limits(store: LogStore) -> None:
    """A batch larger than any one statement may bind (SQLite's default 32,766 parameters)."""
    entries = [_entry(i) for i in range(5000)]
    _append(store, entries)
    with store.sequencer() as writer:
        writer.add_index([(i % 7000, i) for i in range(5000)] * 3)
        found = writer.find_nonces([(e.signer, e.nonce) for e in entries])
        assert len(found) == 5000
    assert store.tree_size() == 5000
    assert len(store.entries_at(range(0, 5000, 2))) == 2500
    assert store.similar_many([[k] for k in range(6000)], limit=5)[4999] == [4999]


def test_a_writer_that_waits_too_long_is_told_to_retry(tmp_path: Path) -> None:
    store = SqliteLogStore(tmp_path / "log.db", busy_timeout_s=0.2)
    # Another process's writer holds the turn (an open file description of its own).
    fd = os.open(tmp_path / "log.db-writer.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(Unavailable), store.sequencer():
            pass
    finally:
        os.close(fd)
    _append(store, [_entry(0)])  # the turn is free again
    assert store.tree_size() == 1
    store.close()


@pytest.mark.parametrize("busy_at_first", [False, True])
def test_a_service_store_checkpoints_its_wal_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, busy_at_first: bool
) -> None:
    if busy_at_first:  # the checkpoint thread's first connection finds the file locked
        real_connect = sqlite_adapter.connect
        failures = iter([Unavailable("the log store is busy; try again")])

        def flaky_connect(*args: object, **kwargs: object) -> sqlite3.Connection:
            if threading.current_thread().name == "copyseal-checkpoint":
                for failure in failures:
                    raise failure
            return real_connect(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(sqlite_adapter, "connect", flaky_connect)
    path = tmp_path / "log.db"
    store = SqliteLogStore(path, background_checkpoints=True)
    try:
        for start in range(0, 600, 100):  # about 6 MB of leaves, in six commits
            batch = [replace(_entry(i), leaf=os.urandom(10_000)) for i in range(start, start + 100)]
            _append(store, batch)
        deadline = time.monotonic() + 20
        while path.stat().st_size < 5_000_000:  # the leaves reach the database file itself
            assert time.monotonic() < deadline, "the WAL was never checkpointed"
            time.sleep(0.05)
        assert store.tree_size() == 600
    finally:
        store.close()
    assert not any(t.name == "copyseal-checkpoint" for t in threading.enumerate())


def _append_batches(path: Path, name: str) -> None:
    store = SqliteLogStore(path)
    for batch in range(20):
        with store.sequencer() as writer:
            start = writer.tree_size()
            entries = [
                replace(_entry(start + i, signer=f"did:key:z{name}"), nonce=f"{name}{batch}.{i}")
                for i in range(5)
            ]
            size, nodes = merkle.append_nodes(
                start, writer.read_node, (e.leaf_hash for e in entries)
            )
            writer.append(entries, nodes, StoredCheckpoint(size, f"note {size}\n", "t"))
    store.close()
