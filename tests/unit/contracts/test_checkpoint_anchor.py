"""CheckpointAnchor's rules, run on an in-process EVM (eth-tester + py-evm).

Gas is deterministic, so it is measured from receipts and held under a ceiling; the figures
are printed (``pytest -s``) for the record in docs/chain.md.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_tester.exceptions import TransactionFailed
from web3 import EthereumTesterProvider, Web3
from web3.exceptions import ContractLogicError

from copyseal.adapters.chain.compile import load_artifact
from copyseal.adapters.chain.evm import compute_origin_hash

ORIGIN = compute_origin_hash("test.copyseal/log")
OTHER_ORIGIN = compute_origin_hash("other.copyseal/log")
# A checkpoint anchor costs two fresh storage slots (2 x 22,100) on top of the 21,000
# intrinsic gas; see docs/chain.md. The ceilings catch a regression, not the exact figure.
# web3's in-process provider reports a revert as eth-tester's TransactionFailed, a node as
# ContractLogicError; both carry the reason string.
Reverted = (ContractLogicError, TransactionFailed)
SUBSEQUENT_ANCHOR_GAS_CEILING = 77_000
FIRST_ANCHOR_GAS_CEILING = 140_000


def root(n: int) -> bytes:
    return Web3.keccak(n.to_bytes(8, "big"))


@pytest.fixture
def w3() -> Web3:
    return Web3(EthereumTesterProvider())


@pytest.fixture
def accounts(w3: Web3) -> dict[str, Any]:
    names = ("owner", "anchorer", "stranger")
    return dict(zip(names, w3.eth.accounts, strict=False))


@pytest.fixture
def contract(w3: Web3, accounts: dict[str, Any]) -> Any:
    artifact = load_artifact()
    factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    tx = factory.constructor().transact({"from": accounts["owner"]})
    address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    deployed = w3.eth.contract(address=address, abi=list(artifact.abi))
    deployed.functions.authorize(accounts["anchorer"]).transact({"from": accounts["owner"]})
    return deployed


def anchor(w3: Web3, contract: Any, sender: str, origin: bytes, size: int, r: bytes) -> Any:
    tx = contract.functions.anchor(origin, size, r).transact({"from": sender})
    return w3.eth.wait_for_transaction_receipt(tx)


def test_the_deployer_owns_the_contract(contract: Any, accounts: dict[str, Any]) -> None:
    assert contract.functions.owner().call() == accounts["owner"]
    assert contract.functions.is_anchorer(accounts["anchorer"]).call()
    assert not contract.functions.is_anchorer(accounts["owner"]).call()


def test_only_authorised_anchorers_anchor(
    w3: Web3, contract: Any, accounts: dict[str, Any]
) -> None:
    for sender in (accounts["stranger"], accounts["owner"]):
        with pytest.raises(Reverted, match="not an anchorer"):
            anchor(w3, contract, sender, ORIGIN, 1, root(1))
    anchor(w3, contract, accounts["anchorer"], ORIGIN, 1, root(1))
    assert contract.functions.latest_size(ORIGIN).call() == 1


def test_a_revoked_anchorer_can_no_longer_anchor(
    w3: Web3, contract: Any, accounts: dict[str, Any]
) -> None:
    contract.functions.revoke(accounts["anchorer"]).transact({"from": accounts["owner"]})
    assert not contract.functions.is_anchorer(accounts["anchorer"]).call()
    with pytest.raises(Reverted, match="not an anchorer"):
        anchor(w3, contract, accounts["anchorer"], ORIGIN, 1, root(1))


@pytest.mark.parametrize("function", ["authorize", "revoke", "transfer_ownership"])
def test_only_the_owner_manages_the_contract(
    contract: Any, accounts: dict[str, Any], function: str
) -> None:
    call = getattr(contract.functions, function)(accounts["stranger"])
    for sender in (accounts["stranger"], accounts["anchorer"]):
        with pytest.raises(Reverted, match="not the owner"):
            call.transact({"from": sender})


def test_ownership_moves_to_the_new_owner(contract: Any, accounts: dict[str, Any]) -> None:
    owner, successor = accounts["owner"], accounts["stranger"]
    contract.functions.transfer_ownership(successor).transact({"from": owner})
    assert contract.functions.owner().call() == successor
    with pytest.raises(Reverted, match="not the owner"):
        contract.functions.authorize(owner).transact({"from": owner})
    contract.functions.authorize(owner).transact({"from": successor})
    assert contract.functions.is_anchorer(owner).call()


def test_a_size_that_does_not_grow_is_rejected(
    w3: Web3, contract: Any, accounts: dict[str, Any]
) -> None:
    sender = accounts["anchorer"]
    anchor(w3, contract, sender, ORIGIN, 10, root(10))
    for size in (10, 9, 0):
        with pytest.raises(Reverted, match="size must grow"):
            anchor(w3, contract, sender, ORIGIN, size, root(100 + size))
    # Sizes are per origin: another log starts from zero.
    anchor(w3, contract, sender, OTHER_ORIGIN, 3, root(3))
    anchor(w3, contract, sender, ORIGIN, 11, root(11))
    assert contract.functions.latest_size(ORIGIN).call() == 11
    assert contract.functions.latest_size(OTHER_ORIGIN).call() == 3


def test_a_root_is_anchored_once(w3: Web3, contract: Any, accounts: dict[str, Any]) -> None:
    anchor(w3, contract, accounts["anchorer"], ORIGIN, 1, root(1))
    with pytest.raises(Reverted, match="root already anchored"):
        anchor(w3, contract, accounts["anchorer"], OTHER_ORIGIN, 1, root(1))


@pytest.mark.parametrize(
    ("origin", "r", "reason"),
    [(bytes(32), root(1), "empty origin"), (ORIGIN, bytes(32), "empty root")],
)
def test_empty_origins_and_roots_are_rejected(
    w3: Web3, contract: Any, accounts: dict[str, Any], origin: bytes, r: bytes, reason: str
) -> None:
    with pytest.raises(Reverted, match=reason):
        anchor(w3, contract, accounts["anchorer"], origin, 1, r)


def test_anchors_read_back_by_root_and_by_origin_and_size(
    w3: Web3, contract: Any, accounts: dict[str, Any]
) -> None:
    receipts = {
        size: anchor(w3, contract, accounts["anchorer"], ORIGIN, size, root(size))
        for size in (5, 8)
    }
    anchor(w3, contract, accounts["anchorer"], OTHER_ORIGIN, 5, root(55))
    for size, receipt in receipts.items():
        block = w3.eth.get_block(receipt["blockNumber"])
        assert contract.functions.anchored_by_root(root(size)).call() == [
            ORIGIN,
            size,
            block["number"],
            block["timestamp"],
        ]
        assert contract.functions.root_at(ORIGIN, size).call() == root(size)
    assert contract.functions.anchored_by_root(root(55)).call()[:2] == [OTHER_ORIGIN, 5]
    assert contract.functions.root_at(OTHER_ORIGIN, 5).call() == root(55)
    assert contract.functions.origin_count().call() == 2
    assert contract.functions.origin_hash_of(1).call() == ORIGIN


def test_what_was_never_anchored_reads_as_zero(contract: Any) -> None:
    assert contract.functions.anchored_by_root(root(1)).call() == [bytes(32), 0, 0, 0]
    assert contract.functions.root_at(ORIGIN, 1).call() == bytes(32)
    assert contract.functions.latest_size(ORIGIN).call() == 0


def test_an_anchor_emits_anchored(w3: Web3, contract: Any, accounts: dict[str, Any]) -> None:
    receipt = anchor(w3, contract, accounts["anchorer"], ORIGIN, 7, root(7))
    (event,) = contract.events.Anchored().process_receipt(receipt)
    assert event["args"] == {"origin_hash": ORIGIN, "root": root(7), "size": 7}
    # Both names are indexed, so logs can be filtered by origin or by root without a read.
    (log,) = receipt["logs"]
    assert log["topics"][1:] == [ORIGIN, root(7)]


def test_gas_per_anchor(w3: Web3, contract: Any, accounts: dict[str, Any]) -> None:
    sender = accounts["anchorer"]
    first = anchor(w3, contract, sender, ORIGIN, 1, root(1))["gasUsed"]
    first_other = anchor(w3, contract, sender, OTHER_ORIGIN, 1, root(1001))["gasUsed"]
    later = [anchor(w3, contract, sender, ORIGIN, n, root(n))["gasUsed"] for n in (2, 3, 100)]
    print(
        f"\nCheckpointAnchor gas: first anchor {first}, first anchor of a second origin "
        f"{first_other}, subsequent anchors {later}"
    )
    assert first <= FIRST_ANCHOR_GAS_CEILING
    assert max(later) <= SUBSEQUENT_ANCHOR_GAS_CEILING
