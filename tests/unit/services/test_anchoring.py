"""Anchoring the log on an in-process EVM: anchor, recover, refresh, and the loop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from web3 import EthereumTesterProvider

from copyseal.adapters.chain.evm import ChainSettings, EvmChain
from copyseal.adapters.home import Home
from copyseal.adapters.storage.anchors_sqlite import SqliteAnchorStore
from copyseal.core import merkle
from copyseal.core.anchor import verify_anchor_offline
from copyseal.core.certificate import Certificate
from copyseal.core.keys import Signer
from copyseal.core.note import Checkpoint, Note
from copyseal.errors import (
    ForeignLog,
    InconsistencyError,
    InvalidInput,
    NotFound,
    VerificationError,
)
from copyseal.services.anchoring import (
    Anchorer,
    AnchorLoop,
    AnchorSchedule,
    refresh_certificate,
)
from copyseal.services.chain_verification import verify_anchored_certificate
from copyseal.services.registry import Registry
from tests.unit.services.anchoring_support import (
    TESTER_CHAIN_ID,
    NodeLikeProvider,
    deploy_chain,
    readers,
    register,
)


@pytest.fixture
def provider() -> EthereumTesterProvider:
    return NodeLikeProvider()


@pytest.fixture
def chain(provider: EthereumTesterProvider, home: Home) -> EvmChain:
    return deploy_chain(provider, home.log_signer.name)


@pytest.fixture
def anchors(home: Home) -> Iterator[SqliteAnchorStore]:
    store = home.open_anchors()
    yield store
    store.close()


@pytest.fixture
def anchorer(
    registry: Registry, anchors: SqliteAnchorStore, chain: EvmChain, home: Home
) -> Anchorer:
    return Anchorer(
        store=registry.store, anchors=anchors, chain=chain, log_key=home.log_signer.verifier
    )


def refresh(data: bytes, anchorer: Anchorer) -> bytes:
    return refresh_certificate(
        data, store=anchorer.store, anchors=anchorer.anchors, log_key=anchorer.log_key
    ).data


def test_an_empty_log_has_nothing_to_anchor(anchorer: Anchorer) -> None:
    assert anchorer.pending() == 0
    with pytest.raises(NotFound, match="the log is empty"):
        anchorer.anchor_latest()


def test_the_latest_checkpoint_is_anchored_once(
    anchorer: Anchorer, registry: Registry, creator: Signer, chain: EvmChain
) -> None:
    register(registry, creator, ["one", "two", "three"], seed=1)
    assert anchorer.pending() == 3
    first = anchorer.anchor_latest()
    assert first.created
    anchor = first.record.anchor
    assert (anchor.origin, anchor.size) == (registry.origin, 3)
    assert anchor.root == merkle.root(3, registry.store.read_node)
    assert chain.fetch_root_at(registry.origin, 3) == anchor.root
    assert anchorer.pending() == 0
    again = anchorer.anchor_latest()
    assert not again.created and again.record == first.record
    assert anchorer.latest_anchor() == first.record


def test_a_lost_receipt_is_recovered_from_the_chain(
    anchorer: Anchorer, registry: Registry, creator: Signer, chain: EvmChain
) -> None:
    register(registry, creator, ["one", "two"], seed=2)
    # Anchored, but the process died before storing the receipt.
    sent = chain.anchor(registry.origin, 2, merkle.root(2, registry.store.read_node))
    assert anchorer.latest_anchor() is None
    outcome = anchorer.anchor_latest()
    assert not outcome.created
    assert outcome.record == sent
    assert anchorer.latest_anchor() == sent


def test_a_chain_that_contradicts_the_log_is_an_inconsistency(
    anchorer: Anchorer, registry: Registry, creator: Signer, chain: EvmChain
) -> None:
    register(registry, creator, ["one", "two"], seed=3)
    chain.anchor(registry.origin, 2, b"\x07" * 32)
    with pytest.raises(InconsistencyError) as caught:
        anchorer.anchor_latest()
    assert caught.value.details["chain_root"] == "07" * 32
    assert caught.value.details["log_root"] == merkle.root(2, registry.store.read_node).hex()


def test_refresh_adds_a_receipt_once_an_anchor_covers_the_certificate(
    anchorer: Anchorer, registry: Registry, creator: Signer, provider: EthereumTesterProvider
) -> None:
    [early] = register(registry, creator, ["early"], seed=4)
    data = early.certificate.to_json()
    with pytest.raises(NotFound, match="no anchor covers tree size 1"):
        refresh(data, anchorer)
    register(registry, creator, ["later", "much later"], seed=5)
    anchorer.anchor_latest()
    upgraded = refresh(data, anchorer)
    held = Certificate.from_json(upgraded)
    assert replace(held, anchors=()) == early.certificate
    [receipt] = held.anchors
    assert receipt.anchor == anchorer.latest_anchor().anchor  # type: ignore[union-attr]
    checkpoint = Checkpoint.from_text(Note.from_text(early.certificate.checkpoint).text)
    verify_anchor_offline(receipt, checkpoint)
    report = verify_anchored_certificate(
        held,
        trusted_log=anchorer.log_key,
        chain_for=readers(provider),
        trusted_chains=[(receipt.anchor.chain, receipt.anchor.contract)],
    )
    assert report.ok, report.to_dict()
    assert [c.name for c in report.checks][-2:] == ["anchor", "chain"]
    # Refreshing again adds nothing and changes no byte.
    assert refresh(upgraded, anchorer) == upgraded


def test_refresh_refuses_another_logs_certificate(
    anchorer: Anchorer, creator: Signer, tmp_path: Path, clock: object
) -> None:
    other = Home.init(
        tmp_path / "other",
        origin="other.copyseal/log",
        log_seed=b"\x09" * 32,
        creator_seed=b"\x0a" * 32,
    )
    store = other.open_store()
    registry = Registry(store=store, log_signer=other.log_signer, clock=clock)  # type: ignore[arg-type]
    try:
        [reg] = register(registry, creator, ["elsewhere"], seed=6)
    finally:
        registry.close()
        store.close()
    with pytest.raises(ForeignLog):
        refresh(reg.certificate.to_json(), anchorer)


def test_refresh_refuses_a_certificate_that_does_not_verify(
    anchorer: Anchorer, registry: Registry, creator: Signer
) -> None:
    [reg] = register(registry, creator, ["tampered"], seed=7)
    data = reg.certificate.to_json().replace(b'"index":0', b'"index":1')
    with pytest.raises(VerificationError):
        refresh(data, anchorer)


# -- the loop ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_loop_anchors_after_the_interval_or_after_n_entries(
    anchorer: Anchorer, registry: Registry, creator: Signer
) -> None:
    clock = Clock()
    loop = AnchorLoop(anchorer, AnchorSchedule(interval_s=600, every_entries=3), monotonic=clock)
    assert loop.tick() == 1.0  # nothing waits
    register(registry, creator, ["a"], seed=8)
    clock.now += 10
    assert loop.tick() == 1.0 and loop.status.last_anchor is None
    clock.now += 589.5
    assert loop.tick() == pytest.approx(0.5)
    clock.now += 0.5
    loop.tick()
    assert loop.status.last_anchor is not None and loop.status.last_anchor.anchor.size == 1
    register(registry, creator, ["b", "c"], seed=9)
    clock.now += 1
    loop.tick()
    assert loop.status.last_anchor.anchor.size == 1  # two entries wait: not yet
    register(registry, creator, ["d"], seed=10)
    clock.now += 1
    loop.tick()
    assert loop.status.last_anchor.anchor.size == 4  # three wait: at once


def test_the_loop_backs_off_exponentially_while_the_chain_is_down(
    registry: Registry, anchors: SqliteAnchorStore, home: Home, creator: Signer
) -> None:
    unreachable = EvmChain(
        ChainSettings(
            rpc_url="http://127.0.0.1:9",
            chain_id=TESTER_CHAIN_ID,
            contract_address="0x" + "11" * 20,
            private_key="0x" + "5e" * 32,
            max_attempts=1,
            request_timeout=1.0,
        )
    )
    anchorer = Anchorer(
        store=registry.store, anchors=anchors, chain=unreachable, log_key=home.log_signer.verifier
    )
    register(registry, creator, ["a"], seed=11)
    clock = Clock()
    schedule = AnchorSchedule(interval_s=0.1, retry_initial_s=5, retry_max_s=30)
    loop = AnchorLoop(anchorer, schedule, monotonic=clock)
    clock.now += 1
    delays = []
    for _ in range(5):
        delays.append(loop.tick())
        assert loop.tick() == pytest.approx(delays[-1])  # waiting: no new attempt
        clock.now += delays[-1]
    assert delays == [5, 10, 20, 30, 30]
    assert loop.status.failures == 5
    assert "Unavailable" in (loop.status.last_error or "")


def test_the_loop_runs_on_its_own_thread_and_stops(
    anchorer: Anchorer, registry: Registry, creator: Signer
) -> None:
    loop = AnchorLoop(anchorer, AnchorSchedule(interval_s=0.01, every_entries=1, poll_s=0.01))
    loop.start()
    try:
        with pytest.raises(InvalidInput):
            loop.start()
        # Registration does not wait for the chain: it returns, and the loop anchors later.
        register(registry, creator, ["threaded"], seed=12)
        loop.notify()
        deadline = time.monotonic() + 30
        while loop.status.last_anchor is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        loop.stop()
    assert loop.status.last_anchor is not None
    assert loop.status.last_anchor.anchor.size == 1


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({}, AnchorSchedule()),
        (
            {"anchor_interval_s": 60, "anchor_every_entries": 500, "retry_max_s": 120.5},
            AnchorSchedule(interval_s=60, every_entries=500, retry_max_s=120.5),
        ),
    ],
)
def test_the_schedule_comes_from_the_config(
    section: dict[str, object], expected: AnchorSchedule
) -> None:
    assert AnchorSchedule.from_config(section) == expected


@pytest.mark.parametrize("value", [0, -1, "10", True, None])
def test_a_bad_schedule_setting_is_refused(value: object) -> None:
    with pytest.raises(InvalidInput):
        AnchorSchedule.from_config({"anchor_interval_s": value})


def test_defaults_are_ten_minutes_or_ten_thousand_entries() -> None:
    schedule = AnchorSchedule()
    assert (schedule.interval_s, schedule.every_entries) == (600.0, 10_000)
