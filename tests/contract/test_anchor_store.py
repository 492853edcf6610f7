"""The anchor store's contract: every AnchorStore adapter must pass these."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from copyseal.adapters.storage.anchors_sqlite import SqliteAnchorStore
from copyseal.adapters.storage.sqlite import SqliteLogStore
from copyseal.core.anchor import Anchor
from copyseal.domain.anchors import AnchoredCheckpoint, AnchorStore

ORIGIN = "test.copyseal/log"
CHAIN_A, CHAIN_B = "eip155:1", "eip155:10"
CONTRACT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
OTHER_CONTRACT = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnchorStore]:
    # Beside the log's tables in the same file, as a home keeps them.
    log = SqliteLogStore(tmp_path / "copyseal.db")
    adapter = SqliteAnchorStore(tmp_path / "copyseal.db")
    yield adapter
    adapter.close()
    log.close()


def record(size: int, *, chain: str = CHAIN_A, contract: str = CONTRACT) -> AnchoredCheckpoint:
    anchor = Anchor(
        chain=chain,
        contract=contract,
        tx_hash="0x" + f"{size:064x}",
        block_number=100 + size,
        block_timestamp=1_800_000_000 + size,
        origin=ORIGIN,
        size=size,
        root=size.to_bytes(32, "big"),
    )
    return AnchoredCheckpoint(anchor=anchor, gas_used=51_701)


def test_an_empty_store(store: AnchorStore) -> None:
    assert store.latest(ORIGIN, chain=CHAIN_A, contract=CONTRACT) is None
    assert list(store.covering(ORIGIN, 1)) == []


def test_records_read_back_whole(store: AnchorStore) -> None:
    store.add(record(5))
    assert store.latest(ORIGIN, chain=CHAIN_A, contract=CONTRACT) == record(5)
    assert list(store.covering(ORIGIN, 5)) == [record(5)]


def test_latest_is_per_chain_and_contract(store: AnchorStore) -> None:
    for size in (3, 9, 6):
        store.add(record(size))
    store.add(record(20, chain=CHAIN_B))
    store.add(record(30, contract=OTHER_CONTRACT))
    assert store.latest(ORIGIN, chain=CHAIN_A, contract=CONTRACT) == record(9)
    assert store.latest(ORIGIN, chain=CHAIN_B, contract=CONTRACT) == record(20, chain=CHAIN_B)
    assert store.latest("other.copyseal/log", chain=CHAIN_A, contract=CONTRACT) is None


def test_covering_picks_the_smallest_anchor_at_or_above_the_size(store: AnchorStore) -> None:
    for size in (3, 9, 6, 12):
        store.add(record(size))
    store.add(record(7, chain=CHAIN_B))
    store.add(record(4, chain=CHAIN_B))
    assert list(store.covering(ORIGIN, 4)) == [record(6), record(4, chain=CHAIN_B)]
    assert list(store.covering(ORIGIN, 6)) == [record(6), record(7, chain=CHAIN_B)]
    assert list(store.covering(ORIGIN, 10)) == [record(12)]
    assert list(store.covering(ORIGIN, 13)) == []
    assert list(store.covering("other.copyseal/log", 1)) == []


def test_adding_a_transaction_again_changes_nothing(store: AnchorStore) -> None:
    store.add(record(5))
    store.add(replace(record(5), gas_used=1))
    assert store.latest(ORIGIN, chain=CHAIN_A, contract=CONTRACT) == record(5)


def test_records_survive_reopening(tmp_path: Path) -> None:
    first = SqliteAnchorStore(tmp_path / "copyseal.db")
    first.add(record(5))
    first.close()
    again = SqliteAnchorStore(tmp_path / "copyseal.db")
    assert again.latest(ORIGIN, chain=CHAIN_A, contract=CONTRACT) == record(5)
    again.close()
