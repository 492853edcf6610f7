"""The storage port's contract: every LogStore adapter must pass these."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copyseal.adapters.storage.sqlite import SqliteLogStore
from copyseal.core import merkle
from copyseal.domain.log import Entry, LogStore, StoredCheckpoint
from copyseal.errors import ConflictError, NotFound


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
        found = writer.find_registration("did:key:zB", "ab" * 32)
        assert found is not None and found.index == 1
        assert writer.find_registration("did:key:zC", "ab" * 32) is None
        replay = writer.find_nonce("did:key:zA", "n0")
        assert replay is not None and replay.index == 0
        assert writer.last_logged_at() == "2026-11-01T00:00:00.000Z"
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
