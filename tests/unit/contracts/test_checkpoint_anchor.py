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
from copyseal.core.anchor import compute_origin_hash

ORIGIN = compute_origin_hash("test.copyseal/log")
OTHER_ORIGIN = compute_origin_hash("other.copyseal/log")
ZERO_ADDRESS = "0x" + "00" * 20
# An anchor writes one fresh slot (22,100) and updates the origin's slot (2,100 + 2,900) on
# top of the 21,000 intrinsic gas, ~1,250 of calldata and a 1,756-gas event: 51,701 at
# small sizes, a few more for sizes with more non-zero bytes (docs/chain.md). The ceiling
# catches a regression, not the exact figure.
# web3's in-process provider reports a revert as eth-tester's TransactionFailed, a node as
# ContractLogicError; both carry the reason string.
Reverted = (ContractLogicError, TransactionFailed)
ANCHOR_GAS_CEILING = 51_800
AUTHORIZE_GAS_CEILING = 48_100


def root(n: int) -> bytes:
    return Web3.keccak(n.to_bytes(8, "big"))


@pytest.fixture
def w3() -> Web3:
    return Web3(EthereumTesterProvider())


@pytest.fixture
def accounts(w3: Web3) -> dict[str, Any]:
    names = ("owner", "anchorer", "stranger", "other")
    return dict(zip(names, w3.eth.accounts, strict=False))


@pytest.fixture
def contract(w3: Web3, accounts: dict[str, Any]) -> Any:
    artifact = load_artifact()
    factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    tx = factory.constructor().transact({"from": accounts["owner"]})
    address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    deployed = w3.eth.contract(address=address, abi=list(artifact.abi))
    owner = {"from": accounts["owner"]}
    deployed.functions.authorize(ORIGIN, accounts["anchorer"]).transact(owner)
    deployed.functions.authorize(OTHER_ORIGIN, accounts["other"]).transact(owner)
    return deployed


def anchor(w3: Web3, contract: Any, sender: str, origin: bytes, size: int, r: bytes) -> Any:
    tx = contract.functions.anchor(origin, size, r).transact({"from": sender})
    return w3.eth.wait_for_transaction_receipt(tx)


def test_the_deployer_owns_the_contract(contract: Any, accounts: dict[str, Any]) -> None:
    assert contract.functions.owner().call() == accounts["owner"]
    assert contract.functions.anchorer_of(ORIGIN).call() == accounts["anchorer"]
    assert contract.functions.anchorer_of(compute_origin_hash("x")).call() == ZERO_ADDRESS


def test_only_the_origins_anchorer_anchors_it(
    w3: Web3, contract: Any, accounts: dict[str, Any]
) -> None:
    # The owner too, and the anchorer of another origin: an origin has exactly one key.
    for sender in (accounts["stranger"], accounts["owner"], accounts["other"]):
        with pytest.raises(Reverted, match="not an anchorer"):
            anchor(w3, contract, sender, ORIGIN, 1, root(1))
    with pytest.raises(Reverted, match="not an anchorer"):
        anchor(w3, contract, accounts["anchorer"], OTHER_ORIGIN, 1, root(1))
    anchor(w3, contract, accounts["anchorer"], ORIGIN, 1, root(1))
    assert contract.functions.latest_size(ORIGIN).call() == 1
    assert contract.functions.latest_size(OTHER_ORIGIN).call() == 0


def test_an_origin_never_authorised_cannot_be_anchored(
    w3: Web3, contract: Any, accounts: dict[str, Any]
) -> None:
    for origin in (compute_origin_hash("unknown.copyseal/log"), bytes(32)):
        with pytest.raises(Reverted, match="not an anchorer"):
            anchor(w3, contract, accounts["anchorer"], origin, 1, root(1))


def test_revoking_and_reauthorising_keep_the_latest_size(
    w3: Web3, contract: Any, accounts: dict[str, Any]
) -> None:
    owner = {"from": accounts["owner"]}
    anchor(w3, contract, accounts["anchorer"], ORIGIN, 5, root(5))
    contract.functions.revoke(ORIGIN).transact(owner)
    assert contract.functions.anchorer_of(ORIGIN).call() == ZERO_ADDRESS
    assert contract.functions.latest_size(ORIGIN).call() == 5
    with pytest.raises(Reverted, match="not an anchorer"):
        anchor(w3, contract, accounts["anchorer"], ORIGIN, 6, root(6))
    # A new key takes over where the old one stopped: the size must still grow.
    contract.functions.authorize(ORIGIN, accounts["stranger"]).transact(owner)
    with pytest.raises(Reverted, match="size must grow"):
        anchor(w3, contract, accounts["stranger"], ORIGIN, 5, root(55))
    anchor(w3, contract, accounts["stranger"], ORIGIN, 6, root(6))
    assert contract.functions.root_at(ORIGIN, 5).call() == root(5)


@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("authorize", (ORIGIN, "stranger")),
        ("revoke", (ORIGIN,)),
        ("transfer_ownership", ("stranger",)),
    ],
)
def test_only_the_owner_manages_the_contract(
    contract: Any, accounts: dict[str, Any], function: str, args: tuple[Any, ...]
) -> None:
    resolved = [accounts.get(a, a) if isinstance(a, str) else a for a in args]
    call = getattr(contract.functions, function)(*resolved)
    for sender in (accounts["stranger"], accounts["anchorer"]):
        with pytest.raises(Reverted, match="not the owner"):
            call.transact({"from": sender})


def test_authorising_needs_an_origin_and_an_address(
    contract: Any, accounts: dict[str, Any]
) -> None:
    owner = {"from": accounts["owner"]}
    with pytest.raises(Reverted, match="empty origin"):
        contract.functions.authorize(bytes(32), accounts["anchorer"]).transact(owner)
    with pytest.raises(Reverted, match="zero address"):
        contract.functions.authorize(ORIGIN, ZERO_ADDRESS).transact(owner)


def test_ownership_moves_to_the_new_owner(contract: Any, accounts: dict[str, Any]) -> None:
    owner, successor = accounts["owner"], accounts["stranger"]
    contract.functions.transfer_ownership(successor).transact({"from": owner})
    assert contract.functions.owner().call() == successor
    with pytest.raises(Reverted, match="not the owner"):
        contract.functions.authorize(ORIGIN, owner).transact({"from": owner})
    contract.functions.authorize(ORIGIN, owner).transact({"from": successor})
    assert contract.functions.anchorer_of(ORIGIN).call() == owner
    with pytest.raises(Reverted, match="zero address"):
        contract.functions.transfer_ownership(ZERO_ADDRESS).transact({"from": successor})


def test_a_size_that_does_not_grow_is_rejected(
    w3: Web3, contract: Any, accounts: dict[str, Any]
) -> None:
    sender = accounts["anchorer"]
    anchor(w3, contract, sender, ORIGIN, 10, root(10))
    for size in (10, 9, 0):
        with pytest.raises(Reverted, match="size must grow"):
            anchor(w3, contract, sender, ORIGIN, size, root(100 + size))
    # Sizes are per origin: another log starts from zero.
    anchor(w3, contract, accounts["other"], OTHER_ORIGIN, 3, root(3))
    anchor(w3, contract, sender, ORIGIN, 11, root(11))
    assert contract.functions.latest_size(ORIGIN).call() == 11
    assert contract.functions.latest_size(OTHER_ORIGIN).call() == 3


def test_the_empty_root_is_rejected(w3: Web3, contract: Any, accounts: dict[str, Any]) -> None:
    with pytest.raises(Reverted, match="empty root"):
        anchor(w3, contract, accounts["anchorer"], ORIGIN, 1, bytes(32))
    assert contract.functions.latest_size(ORIGIN).call() == 0


def test_anchors_read_back_by_origin_and_size(
    w3: Web3, contract: Any, accounts: dict[str, Any]
) -> None:
    for size in (5, 8):
        anchor(w3, contract, accounts["anchorer"], ORIGIN, size, root(size))
    anchor(w3, contract, accounts["other"], OTHER_ORIGIN, 5, root(55))
    assert contract.functions.root_at(ORIGIN, 5).call() == root(5)
    assert contract.functions.root_at(ORIGIN, 8).call() == root(8)
    assert contract.functions.root_at(OTHER_ORIGIN, 5).call() == root(55)
    # Sizes in between were never anchored.
    assert contract.functions.root_at(ORIGIN, 6).call() == bytes(32)


def test_what_was_never_anchored_reads_as_zero(contract: Any) -> None:
    assert contract.functions.root_at(ORIGIN, 1).call() == bytes(32)
    assert contract.functions.latest_size(ORIGIN).call() == 0


def test_an_anchor_emits_anchored_with_root_and_origin_as_topics(
    w3: Web3, contract: Any, accounts: dict[str, Any]
) -> None:
    receipt = anchor(w3, contract, accounts["anchorer"], ORIGIN, 7, root(7))
    (event,) = contract.events.Anchored().process_receipt(receipt)
    assert event["args"] == {"root": root(7), "origin_hash": ORIGIN, "size": 7}
    # Both are indexed, so eth_getLogs finds an anchor by root (the by-root read).
    (log,) = receipt["logs"]
    assert log["topics"] == [
        Web3.keccak(text="Anchored(bytes32,bytes32,uint64)"),
        root(7),
        ORIGIN,
    ]
    found = w3.eth.get_logs(
        {"address": contract.address, "fromBlock": 0, "topics": [None, "0x" + root(7).hex()]}
    )
    assert [f["transactionHash"] for f in found] == [receipt["transactionHash"]]


def test_gas_per_anchor(w3: Web3, contract: Any, accounts: dict[str, Any]) -> None:
    owner = accounts["owner"]
    fresh = compute_origin_hash("fresh.copyseal/log")
    tx = contract.functions.authorize(fresh, accounts["anchorer"]).transact({"from": owner})
    authorize = w3.eth.wait_for_transaction_receipt(tx)["gasUsed"]
    sender = accounts["anchorer"]
    first = anchor(w3, contract, sender, fresh, 1, root(1))["gasUsed"]
    sizes = (2, 3, 1_000, 10**6, 10**9)
    later = [anchor(w3, contract, sender, fresh, n, root(n))["gasUsed"] for n in sizes]
    print(
        f"\nCheckpointAnchor gas: authorize an origin {authorize}, first anchor {first}, "
        f"later anchors {dict(zip(sizes, later, strict=True))}"
    )
    assert authorize <= AUTHORIZE_GAS_CEILING
    assert max(first, *later) <= ANCHOR_GAS_CEILING
