"""The EVM adapter against a real JSON-RPC node: anvil, started by the fixture.

One node and one deployed contract serve the module; each test anchors its own origin.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from eth_typing import HexStr
from web3 import HTTPProvider, Web3

from copyseal.adapters.chain.evm import ChainSettings, Deployment, EvmChain
from copyseal.core.anchor import Anchor
from copyseal.errors import ConflictError, InvalidInput, NotFound, Unavailable
from tests.integration.anvil import AnvilNode
from tests.integration.conftest import ANVIL_CHAIN_ID

pytestmark = pytest.mark.xdist_group("anvil")


def private_key(name: str) -> str:
    return "0x" + Web3.keccak(text=f"copyseal anvil test key {name}").hex().removeprefix("0x")


def root(label: str) -> bytes:
    return bytes(Web3.keccak(text=label))


def settings(node: AnvilNode, key: str, **changes: Any) -> ChainSettings:
    values: dict[str, Any] = {
        "rpc_url": node.url,
        "chain_id": ANVIL_CHAIN_ID,
        "private_key": private_key(key),
        "poll_interval": 0.02,
        "backoff_initial": 0.02,
        "receipt_timeout": 20.0,
    }
    values.update(changes)
    return ChainSettings(**values)


def funded(node: AnvilNode, chain: EvmChain) -> EvmChain:
    node.rpc("anvil_setBalance", chain.address, hex(10**20))
    return chain


@pytest.fixture(scope="module")
def deployment(anvil: AnvilNode) -> Deployment:
    return funded(anvil, EvmChain(settings(anvil, "owner"))).deploy()


@pytest.fixture(scope="module")
def owner(anvil: AnvilNode, deployment: Deployment) -> EvmChain:
    return EvmChain(settings(anvil, "owner", contract_address=deployment.contract))


def new_anchorer(
    node: AnvilNode, owner: EvmChain, name: str, origin: str, **changes: Any
) -> EvmChain:
    """A funded key, bound to the contract and authorised for ``origin``."""
    chain = funded(
        node, EvmChain(settings(node, name, **changes)).bind(owner.settings.contract_address or "")
    )
    owner.authorize(origin, chain.address)
    return chain


@pytest.fixture
def origin(request: pytest.FixtureRequest) -> str:
    return f"test.copyseal/{request.node.name}"


@pytest.fixture
def anchorer(anvil: AnvilNode, owner: EvmChain, origin: str) -> EvmChain:
    return new_anchorer(anvil, owner, "anchorer", origin)


def test_the_deployment_names_the_chain_and_the_contract(
    anvil: AnvilNode, deployment: Deployment
) -> None:
    assert deployment.chain_id == f"eip155:{ANVIL_CHAIN_ID}"
    w3 = Web3(HTTPProvider(anvil.url))
    assert w3.eth.get_code(Web3.to_checksum_address(deployment.contract))
    print(f"\nCheckpointAnchor deployment on anvil: {deployment.gas_used} gas")


def test_an_anchor_reads_back_by_root_and_by_origin_and_size(
    anvil: AnvilNode, anchorer: EvmChain, origin: str
) -> None:
    first = anchorer.anchor(origin, 3, root(f"{origin}/3"))
    later = anchorer.anchor(origin, 8, root(f"{origin}/8"))

    w3 = Web3(HTTPProvider(anvil.url))
    block = w3.eth.get_block(later.anchor.block_number)
    assert later.anchor == Anchor(
        chain=f"eip155:{ANVIL_CHAIN_ID}",
        contract=anchorer.settings.contract_address or "",
        tx_hash=later.anchor.tx_hash,
        block_number=block["number"],
        block_timestamp=block["timestamp"],
        origin=origin,
        size=8,
        root=root(f"{origin}/8"),
    )
    receipt = w3.eth.get_transaction_receipt(HexStr(later.anchor.tx_hash))
    assert receipt["gasUsed"] == later.gas_used
    print(f"\nanchor gas on anvil: first {first.gas_used}, later {later.gas_used}")

    assert anchorer.fetch_by_root(root(f"{origin}/8"), origin) == later.anchor
    assert anchorer.fetch_by_root(root(f"{origin}/3"), origin) == first.anchor
    assert anchorer.fetch_anchor_tx(later.anchor.tx_hash, origin) == later
    assert anchorer.fetch_root_at(origin, 3) == root(f"{origin}/3")
    assert anchorer.fetch_root_at(origin, 8) == root(f"{origin}/8")
    assert anchorer.fetch_latest_size(origin) == 8
    assert anchorer.fetch_block_timestamp(first.anchor.block_number) == first.anchor.block_timestamp


def test_a_root_never_anchored_is_not_found(anchorer: EvmChain, origin: str) -> None:
    with pytest.raises(NotFound):
        anchorer.fetch_by_root(root(f"{origin}/never"), origin)
    anchorer.anchor(origin, 2, root(f"{origin}/2"))
    with pytest.raises(NotFound):
        anchorer.fetch_root_at(origin, 1)
    with pytest.raises(NotFound):
        anchorer.fetch_by_root(root(f"{origin}/2"), f"{origin}/other")
    assert anchorer.fetch_latest_size(f"{origin}/other") == 0


def test_a_size_that_does_not_grow_is_a_conflict(anchorer: EvmChain, origin: str) -> None:
    anchorer.anchor(origin, 5, root(f"{origin}/5"))
    for size in (5, 4):
        with pytest.raises(ConflictError) as caught:
            anchorer.anchor(origin, size, root(f"{origin}/again/{size}"))
        assert caught.value.details["reason"] == "size must grow"
        assert caught.value.details["size"] == size


def test_only_the_origins_key_anchors(anvil: AnvilNode, owner: EvmChain, origin: str) -> None:
    stranger = funded(
        anvil,
        EvmChain(settings(anvil, "stranger")).bind(owner.settings.contract_address or ""),
    )
    for chain in (stranger, owner):
        with pytest.raises(InvalidInput, match="not an anchorer"):
            chain.anchor(origin, 1, root(origin))
    with pytest.raises(InvalidInput, match="not the owner"):
        stranger.authorize(origin, stranger.address)
    owner.authorize(origin, stranger.address)
    assert owner.fetch_anchorer(origin) == stranger.address
    stranger.anchor(origin, 1, root(origin))
    # Authorised for one origin is not authorised for another.
    with pytest.raises(InvalidInput, match="not an anchorer"):
        stranger.anchor(f"{origin}/other", 1, root(origin))
    owner.revoke(origin)
    with pytest.raises(InvalidInput, match="not an anchorer"):
        stranger.anchor(origin, 2, root(f"{origin}/2"))


def test_confirmations_wait_for_later_blocks(
    anvil: AnvilNode, owner: EvmChain, anchorer: EvmChain, origin: str
) -> None:
    tx_hash = anchorer.anchor(origin, 1, root(f"{origin}/1")).anchor.tx_hash
    block = anchorer.wait_for_confirmations(tx_hash, 1)
    with pytest.raises(Unavailable, match="not 3 blocks deep"):
        anchorer.wait_for_confirmations(tx_hash, 3, timeout=0.2)
    anvil.rpc("anvil_mine", hex(2))
    assert anchorer.wait_for_confirmations(tx_hash, 3) == block

    # With confirmations in the settings, anchor() itself waits for the next block.
    patient = new_anchorer(anvil, owner, "patient", origin, confirmations=2)
    w3 = Web3(HTTPProvider(anvil.url))
    before = w3.eth.block_number

    def mine_after_the_anchor() -> None:
        deadline = time.monotonic() + 20
        while w3.eth.block_number == before and time.monotonic() < deadline:
            time.sleep(0.02)
        anvil.rpc("evm_mine")

    miner = threading.Thread(target=mine_after_the_anchor)
    miner.start()
    later = patient.anchor(origin, 2, root(f"{origin}/2"))
    miner.join()
    assert w3.eth.block_number >= later.anchor.block_number + 1


class DropFirstSendReply(HTTPProvider):
    """Delivers the first raw transaction but loses the node's reply, as a broken link would."""

    dropped = False

    def make_request(self, method: Any, params: Any) -> Any:
        response = super().make_request(method, params)
        if method == "eth_sendRawTransaction" and not self.dropped:
            self.dropped = True
            raise requests.ConnectionError("connection reset after the request was sent")
        return response


def test_a_lost_reply_neither_fails_nor_anchors_twice(
    anvil: AnvilNode, owner: EvmChain, origin: str
) -> None:
    sleeps: list[float] = []
    base = new_anchorer(anvil, owner, "lossy", origin)
    provider = DropFirstSendReply(anvil.url, exception_retry_configuration=None)
    lossy = EvmChain(base.settings, provider=provider, sleep=sleeps.append)
    anchor = lossy.anchor(origin, 4, root(f"{origin}/4")).anchor
    assert provider.dropped
    assert sleeps[:1] == [base.settings.backoff_initial]
    assert lossy.fetch_by_root(root(f"{origin}/4"), origin) == anchor
    w3 = Web3(HTTPProvider(anvil.url))
    assert w3.eth.get_transaction_count(Web3.to_checksum_address(lossy.address)) == 1
    assert w3.eth.get_transaction_receipt(HexStr(anchor.tx_hash))["status"] == 1


@contextlib.contextmanager
def manual_mining(node: AnvilNode) -> Iterator[None]:
    node.rpc("evm_setAutomine", False)
    try:
        yield
    finally:
        node.rpc("evm_setAutomine", True)


def wait_for_pending(node: AnvilNode, count: int) -> None:
    deadline = time.monotonic() + 20
    while int(node.rpc("txpool_status")["pending"], 16) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_race_lost_on_chain_is_a_conflict(anvil: AnvilNode, owner: EvmChain, origin: str) -> None:
    # Two anchoring processes of one log (one key, since an origin has one anchorer), both
    # sending size 10 before either is mined.
    first = new_anchorer(anvil, owner, "racer", origin)
    racers = [first, EvmChain(first.settings)]
    outcomes: dict[int, object] = {}

    def race(n: int) -> None:
        try:
            outcomes[n] = racers[n].anchor(origin, 10, root(f"{origin}/racer-{n}"))
        except ConflictError as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=race, args=(n,)) for n in range(2)]
    with manual_mining(anvil):
        for n, thread in enumerate(threads):
            thread.start()  # one after the other, so each takes the next pending nonce
            wait_for_pending(anvil, n + 1)
        anvil.rpc("evm_mine")  # both in one block: the second to run finds size 10 taken
        for thread in threads:
            thread.join(timeout=30)

    kinds = sorted(type(outcome).__name__ for outcome in outcomes.values())
    assert kinds == ["AnchoredCheckpoint", "ConflictError"]
    assert owner.fetch_latest_size(origin) == 10


def test_a_node_on_another_chain_is_refused(anvil: AnvilNode, deployment: Deployment) -> None:
    chain = EvmChain(
        settings(anvil, "owner", chain_id=ANVIL_CHAIN_ID + 1, contract_address=deployment.contract)
    )
    with pytest.raises(InvalidInput, match=f"serves chain {ANVIL_CHAIN_ID}"):
        chain.fetch_latest_size("test.copyseal/wrong-chain")
