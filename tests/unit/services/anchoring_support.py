"""An in-process EVM with a deployed CheckpointAnchor, and registrations to anchor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_tester.exceptions import TransactionFailed
from web3 import EthereumTesterProvider, Web3
from web3.exceptions import ContractLogicError

from copyseal.adapters.chain.evm import ChainSettings, EvmChain
from copyseal.core.anchor import Anchor
from copyseal.core.keys import Signer
from copyseal.domain.anchors import AnchorChain
from copyseal.services.creator import WorkInput, prepare_register_claims
from copyseal.services.registry import Registration, Registry
from tests.support import FakeClock, seeded_bytes

TESTER_CHAIN_ID = 131277322940537  # eth-tester's
KEY = "0x" + "5e" * 32


class NodeLikeProvider(EthereumTesterProvider):
    """The in-process EVM, reporting a revert the way a JSON-RPC node does (web3's
    ContractLogicError), where web3's eth-tester provider raises eth-tester's own error."""

    def make_request(self, method: Any, params: Any) -> Any:
        try:
            return super().make_request(method, params)
        except TransactionFailed as exc:
            raise ContractLogicError(str(exc)) from exc


def deploy_chain(provider: EthereumTesterProvider, origin: str) -> EvmChain:
    """A funded key that owns a fresh contract and may anchor ``origin``."""
    settings = ChainSettings(
        rpc_url="in-process", chain_id=TESTER_CHAIN_ID, private_key=KEY, poll_interval=0.0
    )
    chain = EvmChain(settings, provider=provider)
    w3 = Web3(provider)
    w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": chain.address, "value": Web3.to_wei(100, "ether")}
    )
    deployment = chain.deploy()
    bound = chain.bind(deployment.contract, deployment_block=deployment.block_number)
    bound.authorize(origin, bound.address)
    return bound


def readers(provider: EthereumTesterProvider) -> Callable[[Anchor], AnchorChain | None]:
    """Key-less readers on the in-process chain, as ``verify --rpc`` wires them."""

    def reader(anchor: Anchor) -> AnchorChain | None:
        if anchor.chain_id != TESTER_CHAIN_ID:
            return None
        settings = ChainSettings(
            rpc_url="in-process", chain_id=TESTER_CHAIN_ID, contract_address=anchor.contract
        )
        return EvmChain(settings, provider=provider)

    return reader


def mine(provider: EthereumTesterProvider, blocks: int) -> None:
    tester: Any = provider.ethereum_tester
    tester.mine_blocks(blocks)


def register(
    registry: Registry, creator: Signer, texts: list[str], seed: int
) -> list[Registration]:
    works = [WorkInput(t.encode(), "text/plain; charset=utf-8", t) for t in texts]
    claims = prepare_register_claims(
        works, creator, clock=FakeClock(), random_bytes=seeded_bytes(seed), max_bytes=1 << 20
    )
    outcomes = registry.register(claims)
    assert all(isinstance(o, Registration) for o in outcomes), outcomes
    return [o for o in outcomes if isinstance(o, Registration)]
