"""The mirror replicates a log through its tiles and catches forks, rollbacks and rewrites."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from copyseal.adapters.home import Home
from copyseal.adapters.storage.sqlite import SqliteLogStore
from copyseal.core.keys import Signer
from copyseal.errors import InconsistencyError, NotFound
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
    tiles = LogTiles(registry.store)

    def fetch(path: str) -> bytes:
        if path == "checkpoint":
            return registry.latest_checkpoint().encode()
        prefix = "tile/entries/"
        if not path.startswith(prefix):
            raise NotFound(path)
        return tiles.entries(*parse_tile_path(path[len(prefix) :]))

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
