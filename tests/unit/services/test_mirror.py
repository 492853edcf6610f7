"""The mirror replicates a log through its tiles and catches forks, rollbacks and rewrites."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from copyseal.adapters.home import Home
from copyseal.adapters.storage.sqlite import SqliteLogStore
from copyseal.core import merkle
from copyseal.core.keys import Signer
from copyseal.core.note import open_checkpoint
from copyseal.errors import CopysealError, InconsistencyError, NotFound
from copyseal.services.audit import audit_log
from copyseal.services.creator import WorkInput, prepare_register_claims
from copyseal.services.mirror import Fetch, Mirror
from copyseal.services.registry import Registry
from copyseal.services.tiles import LogTiles, parse_tile_path
from tests.support import FakeClock, seeded_bytes

LOG_SEED = b"\x31" * 32


def make_log(path: Path) -> Registry:
    """A log; two made here with the same key are two forks of one log identity."""
    home = Home.init(path, origin="mirror.test/log", log_seed=LOG_SEED, creator_seed=b"\x32" * 32)
    return Registry(store=home.open_store(), log_signer=home.log_signer, clock=FakeClock())


def add(registry: Registry, prefix: str, n: int, seed: int) -> None:
    creator = Signer.from_seed(b"\x33" * 32)
    works = [WorkInput(f"{prefix} {i}".encode(), "text/plain", "t") for i in range(n)]
    claims = prepare_register_claims(
        works, creator, clock=FakeClock(), random_bytes=seeded_bytes(seed), max_bytes=1 << 20
    )
    registry.register(claims)


def fetcher(registry: Registry) -> Fetch:
    """The log's tiles, as `copyseal serve` publishes them, each held to the mirror's bound."""
    tiles = LogTiles(registry.store)

    def read(path: str) -> bytes:
        if path == "checkpoint":
            return registry.latest_checkpoint().encode()
        level, _, rest = path.removeprefix("tile/").partition("/")
        if level == "entries":
            return tiles.entries(*parse_tile_path(rest))
        if level.isdigit():
            return tiles.tile(int(level), *parse_tile_path(rest))
        raise NotFound(path)

    def fetch(path: str, max_bytes: int) -> bytes:
        data = read(path)
        assert len(data) <= max_bytes, f"{path}: {len(data)} bytes over the bound {max_bytes}"
        return data

    return fetch


@pytest.fixture
def mirror_store(tmp_path: Path) -> Iterator[SqliteLogStore]:
    store = SqliteLogStore(tmp_path / "mirror.db")
    yield store
    store.close()


def test_mirror_follows_the_log_across_partial_tiles(
    tmp_path: Path, mirror_store: SqliteLogStore
) -> None:
    log = make_log(tmp_path / "log")
    mirror = Mirror(store=mirror_store, log=log.log_signer.verifier, fetch=fetcher(log))
    add(log, "first", 300, seed=1)
    report = mirror.sync()
    assert (report.old_size, report.new_size, report.fetched) == (0, 300, 300)
    add(log, "second", 230, seed=2)
    report = mirror.sync()
    assert (report.old_size, report.new_size) == (300, 530)
    assert mirror.sync().fetched == 0
    assert mirror_store.entries(0, 530) == log.store.entries(0, 530)
    assert audit_log(mirror_store, log.log_signer.verifier).ok


def test_fork_at_the_same_size_is_reported_with_both_checkpoints(
    tmp_path: Path, mirror_store: SqliteLogStore
) -> None:
    honest, forked = make_log(tmp_path / "a"), make_log(tmp_path / "b")
    add(honest, "honest", 10, seed=1)
    add(forked, "forked", 10, seed=2)
    Mirror(store=mirror_store, log=honest.log_signer.verifier, fetch=fetcher(honest)).sync()
    with pytest.raises(InconsistencyError, match="fork") as caught:
        Mirror(store=mirror_store, log=forked.log_signer.verifier, fetch=fetcher(forked)).sync()
    assert caught.value.details["mirrored_checkpoint"] == honest.latest_checkpoint()
    assert caught.value.details["remote_checkpoint"] == forked.latest_checkpoint()


def test_rewritten_history_is_caught_and_nothing_is_kept(
    tmp_path: Path, mirror_store: SqliteLogStore
) -> None:
    honest, forked = make_log(tmp_path / "a"), make_log(tmp_path / "b")
    add(honest, "same", 5, seed=1)
    add(forked, "different", 5, seed=2)
    add(forked, "more", 4, seed=3)
    Mirror(store=mirror_store, log=honest.log_signer.verifier, fetch=fetcher(honest)).sync()
    with pytest.raises(InconsistencyError) as caught:
        Mirror(store=mirror_store, log=forked.log_signer.verifier, fetch=fetcher(forked)).sync()
    assert caught.value.details["remote_checkpoint"] == forked.latest_checkpoint()
    assert mirror_store.tree_size() == 5


def test_rollback_is_refused(tmp_path: Path, mirror_store: SqliteLogStore) -> None:
    big, small = make_log(tmp_path / "a"), make_log(tmp_path / "b")
    add(big, "x", 8, seed=1)
    add(small, "x", 3, seed=1)
    Mirror(store=mirror_store, log=big.log_signer.verifier, fetch=fetcher(big)).sync()
    with pytest.raises(InconsistencyError, match="rolled back"):
        Mirror(store=mirror_store, log=small.log_signer.verifier, fetch=fetcher(small)).sync()


def test_an_entry_without_a_valid_claim_is_refused(
    tmp_path: Path, mirror_store: SqliteLogStore
) -> None:
    log = make_log(tmp_path / "log")
    add(log, "entry", 6, seed=1)
    with sqlite3.connect(tmp_path / "log" / "copyseal.db") as db:
        db.execute(
            "UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'register', 'registeR')"
            " AS BLOB) WHERE idx = 4"
        )
    with pytest.raises(InconsistencyError, match="entry 4"):
        Mirror(store=mirror_store, log=log.log_signer.verifier, fetch=fetcher(log)).sync()
    assert mirror_store.tree_size() == 0


def forked_pair(tmp_path: Path, shared: int, held: int, more: int) -> tuple[Registry, Registry]:
    """Two logs under one key that agree on their first ``shared`` entries; the honest one
    has ``held`` entries, the other rewrote the rest of them and then grew by ``more``."""
    honest, forked = make_log(tmp_path / "a"), make_log(tmp_path / "b")
    for log in (honest, forked):
        add(log, "shared", shared, seed=1)
    add(honest, "honest", held - shared, seed=2)
    add(forked, "rewritten", held - shared, seed=3)
    add(forked, "more", more, seed=4)
    assert honest.store.entries(0, shared) == forked.store.entries(0, shared)
    return honest, forked


def check_fork_evidence(details: dict[str, object], honest: Registry, forked: Registry) -> int:
    """Check the report as a third party would: two signed checkpoints of one log, and one
    index with a different entry proved under each root. Returns that index."""
    verifier = honest.log_signer.verifier
    mirrored, _ = open_checkpoint(str(details["mirrored_checkpoint"]).encode(), verifier)
    remote, _ = open_checkpoint(str(details["remote_checkpoint"]).encode(), verifier)
    index = int(str(details["index"]))
    mirrored_leaf = str(details["mirrored_leaf"]).encode()
    served_leaf = str(details["served_leaf"]).encode()
    assert mirrored_leaf != served_leaf
    for leaf, proof, checkpoint in (
        (mirrored_leaf, details["mirrored_inclusion_proof"], mirrored),
        (served_leaf, details["served_inclusion_proof"], remote),
    ):
        hashes = [bytes.fromhex(h) for h in proof]  # type: ignore[attr-defined]
        merkle.verify_inclusion(
            index, checkpoint.size, merkle.leaf_hash(leaf), hashes, checkpoint.root_hash
        )
    assert mirrored_leaf == honest.store.entries(index, index + 1)[0].leaf
    assert served_leaf == forked.store.entries(index, index + 1)[0].leaf
    return index


@pytest.mark.parametrize(("held", "more"), [(256, 10), (300, 1), (300, 230), (600, 1)])
def test_a_rewritten_full_tile_is_reported_as_a_fork_with_both_proofs(
    tmp_path: Path, mirror_store: SqliteLogStore, held: int, more: int
) -> None:
    # Entry 100 sits in tile 0, which the first sync mirrored whole and a later sync never
    # fetches again: only the root computed from the mirror's own hashes can catch it.
    honest, forked = forked_pair(tmp_path, shared=100, held=held, more=more)
    verifier = honest.log_signer.verifier
    Mirror(store=mirror_store, log=verifier, fetch=fetcher(honest)).sync()
    with pytest.raises(InconsistencyError, match="rewrote entry 100") as caught:
        Mirror(store=mirror_store, log=verifier, fetch=fetcher(forked)).sync()
    assert check_fork_evidence(caught.value.details, honest, forked) == 100
    assert caught.value.details["mirrored_checkpoint"] == honest.latest_checkpoint()
    assert mirror_store.tree_size() == held
    # The honest log still mirrors on from there.
    add(honest, "later", 3, seed=5)
    assert Mirror(store=mirror_store, log=verifier, fetch=fetcher(honest)).sync().fetched == 3


def test_tiles_that_contradict_the_remote_checkpoint_still_fail_the_sync(
    tmp_path: Path, mirror_store: SqliteLogStore
) -> None:
    honest, forked = forked_pair(tmp_path, shared=100, held=256, more=10)
    verifier = honest.log_signer.verifier
    Mirror(store=mirror_store, log=verifier, fetch=fetcher(honest)).sync()
    serve_forked = fetcher(forked)

    def lying(path: str, max_bytes: int) -> bytes:
        # The forked log's checkpoint, but the honest log's old hash tiles: no proof of
        # which entry changed, and still no way past the root check.
        if path.startswith("tile/0/000"):
            return fetcher(honest)(path, max_bytes)[:max_bytes]
        return serve_forked(path, max_bytes)

    with pytest.raises(InconsistencyError, match="does not extend") as caught:
        Mirror(store=mirror_store, log=verifier, fetch=lying).sync()
    assert caught.value.details["remote_checkpoint"] == forked.latest_checkpoint()
    assert "index" not in caught.value.details


def test_a_damaged_mirror_is_not_blamed_on_the_log(
    tmp_path: Path, mirror_store: SqliteLogStore
) -> None:
    log = make_log(tmp_path / "log")
    add(log, "entry", 300, seed=1)
    mirror = Mirror(store=mirror_store, log=log.log_signer.verifier, fetch=fetcher(log))
    mirror.sync()
    with sqlite3.connect(mirror_store.path) as db:
        db.execute("UPDATE nodes SET hash = zeroblob(32) WHERE level = 8 AND idx = 0")
    add(log, "more", 5, seed=2)
    with pytest.raises(CopysealError, match="mirror's store") as caught:
        mirror.sync()
    assert not isinstance(caught.value, InconsistencyError)
