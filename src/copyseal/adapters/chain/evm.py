"""The EVM adapter: deploy ``CheckpointAnchor``, anchor checkpoints, read anchors back.

It speaks JSON-RPC through web3.py and signs locally with the key from its settings; no node
account is ever unlocked. The RPC URL, chain ID, contract address and key are settings:
nothing here names a chain. Without a key the adapter still reads (verifiers need no key).
A log origin is named on chain by ``keccak256`` of its UTF-8 origin line
(:func:`compute_origin_hash`).

The contract answers "which root at (origin, size)?" from storage; "where and when was this
root anchored?" is answered from its ``Anchored`` event, whose root and origin are indexed
topics, through ``eth_getLogs`` (:meth:`EvmChain.fetch_by_root`).

Requests, retries, signing and waits are :class:`~copyseal.adapters.chain.rpc.RpcSession`'s:
foreign exceptions become :mod:`copyseal.errors` there (Unavailable for an unreachable node,
after retries with exponential back-off; ConflictError for a size that does not grow), and a
root or (origin, size) that was never anchored is NotFound here. One key should be used by
one anchoring process at a time (nonces come from the node's pending count).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.logs import DISCARD

from copyseal.adapters.chain.compile import CompiledContract, load_artifact
from copyseal.adapters.chain.rpc import RpcSession, hex_of
from copyseal.adapters.chain.settings import ChainSettings
from copyseal.core.anchor import Anchor, compute_origin_hash
from copyseal.domain.anchors import AnchoredCheckpoint
from copyseal.errors import InvalidInput, NotFound

__all__ = ["ChainSettings", "Deployment", "EvmChain", "TxOutcome", "compute_origin_hash"]

_MAX_UINT64 = 2**64 - 1
_ANCHORED_TOPIC = bytes(Web3.keccak(text="Anchored(bytes32,bytes32,uint64)"))


@dataclass(frozen=True)
class TxOutcome:
    tx_hash: str
    block_number: int
    gas_used: int


@dataclass(frozen=True)
class Deployment:
    chain_id: str
    contract: str
    tx_hash: str
    block_number: int
    gas_used: int


class EvmChain:
    """One chain, one contract, at most one signing key. Keyword arguments are for tests and
    tuning: ``provider`` replaces the HTTP provider (an in-process EVM), ``sleep`` and
    ``monotonic`` replace the clock of the back-off and of the waits."""

    def __init__(
        self,
        settings: ChainSettings,
        *,
        provider: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        artifact: CompiledContract | None = None,
    ) -> None:
        self.settings = settings
        self._rpc = RpcSession(settings, provider=provider, sleep=sleep, monotonic=monotonic)
        self._artifact = artifact or load_artifact()

    @property
    def address(self) -> str:
        """The checksum address of the signing key."""
        return str(self._rpc.signer().address)

    @property
    def caip2(self) -> str:
        return self.settings.caip2

    @property
    def contract(self) -> str:
        """The checksum address of the contract."""
        return str(self._contract_address())

    def bind(self, contract_address: str, *, deployment_block: int | None = None) -> EvmChain:
        """The same chain and key, talking to the contract at ``contract_address``."""
        settings = replace(self.settings, contract_address=contract_address)
        if deployment_block is not None:
            settings = replace(settings, deployment_block=deployment_block)
        return EvmChain(
            settings,
            provider=self._rpc.w3.provider,
            sleep=self._rpc.sleep,
            monotonic=self._rpc.monotonic,
            artifact=self._artifact,
        )

    # -- transactions -------------------------------------------------------------------

    def deploy(self) -> Deployment:
        """Deploy a new ``CheckpointAnchor`` owned by this key."""
        factory = self._rpc.w3.eth.contract(
            abi=list(self._artifact.abi), bytecode=self._artifact.bytecode
        )
        receipt = self._rpc.transact(factory.constructor(), "deploy CheckpointAnchor")
        return Deployment(
            chain_id=self.settings.caip2,
            contract=Web3.to_checksum_address(receipt["contractAddress"]),
            tx_hash=hex_of(receipt["transactionHash"]),
            block_number=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
        )

    def authorize(self, origin: str, anchorer: str) -> TxOutcome:
        """Let ``anchorer``, and no other key, anchor ``origin`` (this key must own the
        contract). It replaces the origin's previous anchorer."""
        _check_origin(origin)
        fn = self._contract().functions.authorize(compute_origin_hash(origin), _address(anchorer))
        return _outcome(self._rpc.transact(fn, f"authorize {anchorer} for {origin}"))

    def revoke(self, origin: str) -> TxOutcome:
        """Leave ``origin`` without an anchorer (its anchored sizes stay)."""
        fn = self._contract().functions.revoke(compute_origin_hash(origin))
        return _outcome(self._rpc.transact(fn, f"revoke the anchorer of {origin}"))

    def anchor(self, origin: str, size: int, root: bytes) -> AnchoredCheckpoint:
        """Anchor the checkpoint (origin, size, root) and wait for the configured confirmations.

        Raises ConflictError if this origin was already anchored at ``size`` or beyond."""
        _check_checkpoint(origin, size, root)
        fn = self._contract().functions.anchor(compute_origin_hash(origin), size, root)
        details = {"origin": origin, "size": size, "root": root.hex()}
        receipt = self._rpc.transact(fn, f"anchor {origin} at size {size}", **details)
        block_number = int(receipt["blockNumber"])
        anchor = Anchor(
            chain=self.settings.caip2,
            contract=self.contract,
            tx_hash=hex_of(receipt["transactionHash"]),
            block_number=block_number,
            block_timestamp=self.fetch_block_timestamp(block_number),
            origin=origin,
            size=size,
            root=root,
        )
        return AnchoredCheckpoint(anchor=anchor, gas_used=int(receipt["gasUsed"]))

    def wait_for_confirmations(
        self, tx_hash: str, confirmations: int, *, timeout: float | None = None
    ) -> int:
        """Wait until ``tx_hash`` is ``confirmations`` blocks deep (its own block counts as
        one) and return its block number; Unavailable if not within ``timeout`` seconds."""
        return self._rpc.wait_for_confirmations(tx_hash, confirmations, timeout=timeout)

    # -- reads --------------------------------------------------------------------------

    def fetch_root_at(self, origin: str, size: int) -> bytes:
        """The root anchored for ``origin`` at tree size ``size``; NotFound if none."""
        _check_size(size)
        fn = self._contract().functions.root_at(compute_origin_hash(origin), size)
        root = bytes(self._rpc.retry(fn.call, "read root by origin and size"))
        if root == bytes(32):
            raise NotFound(
                f"{origin} was not anchored at size {size} on {self.settings.caip2}",
                origin=origin,
                size=size,
            )
        return root

    def fetch_latest_size(self, origin: str) -> int:
        """The largest tree size anchored for ``origin``, 0 if none."""
        fn = self._contract().functions.latest_size(compute_origin_hash(origin))
        return int(self._rpc.retry(fn.call, "read latest size"))

    def fetch_anchorer(self, origin: str) -> str | None:
        """The key allowed to anchor ``origin``, None if none."""
        fn = self._contract().functions.anchorer_of(compute_origin_hash(origin))
        anchorer = str(self._rpc.retry(fn.call, "read anchorer"))
        return None if int(anchorer, 16) == 0 else Web3.to_checksum_address(anchorer)

    def fetch_by_root(self, root: bytes, origin: str) -> Anchor:
        """The earliest anchor of ``root`` for ``origin``, from the contract's ``Anchored``
        events (both indexed, so the node filters them); NotFound if there is none."""
        _check_root(root)
        topics = ["0x" + t.hex() for t in (_ANCHORED_TOPIC, root, compute_origin_hash(origin))]
        head = self.fetch_head()
        window = max(1, self.settings.log_window)
        for start in range(self.settings.deployment_block, head + 1, window):
            query: Any = {
                "address": self._contract_address(),
                "fromBlock": start,
                "toBlock": min(start + window - 1, head),
                "topics": topics,
            }
            logs: list[Any] = self._rpc.retry(
                functools.partial(self._rpc.w3.eth.get_logs, query), "search anchor logs"
            )
            for log in logs:
                if not log.get("removed", False):
                    return self._anchor_from_log(log, origin)
        raise NotFound(
            f"root {root.hex()} of {origin} is not anchored on {self.settings.caip2}",
            root=root.hex(),
            contract=self.contract,
        )

    def fetch_anchor_tx(self, tx_hash: str, origin: str) -> AnchoredCheckpoint:
        """What the mined transaction ``tx_hash`` anchored for ``origin`` on this contract;
        NotFound if it is unknown, failed, or anchored nothing there."""
        what = f"read transaction {tx_hash}"
        receipt = self._rpc.receipt_or_none(tx_hash, what)
        if receipt is None or int(receipt["status"]) != 1:
            raise NotFound(f"transaction {tx_hash} is not a mined, successful transaction")
        origin_hash = compute_origin_hash(origin)
        event = self._contract().events.Anchored()
        for log in event.process_receipt(receipt, errors=DISCARD):
            if log["address"] == self.contract and bytes(log["args"]["origin_hash"]) == origin_hash:
                anchor = self._anchor_from_log(log, origin, decoded=True)
                return AnchoredCheckpoint(anchor=anchor, gas_used=int(receipt["gasUsed"]))
        raise NotFound(f"transaction {tx_hash} anchored nothing for {origin} at {self.contract}")

    def fetch_chain_id(self) -> int:
        """The chain ID the node serves (the one read not held to ``settings.chain_id``)."""
        return self._rpc.retry_unchecked(
            lambda: int(self._rpc.w3.eth.chain_id), "read the chain ID"
        )

    def fetch_head(self) -> int:
        """The number of the latest block."""
        return self._rpc.retry(lambda: int(self._rpc.w3.eth.block_number), "read the latest block")

    def fetch_block_timestamp(self, block_number: int) -> int:
        """The timestamp (Unix seconds) of block ``block_number``."""
        block = self._rpc.retry(lambda: self._rpc.w3.eth.get_block(block_number), "read block")
        return int(block["timestamp"])

    def _anchor_from_log(self, log: Any, origin: str, *, decoded: bool = False) -> Anchor:
        args = (log if decoded else self._contract().events.Anchored().process_log(log))["args"]
        block_number = int(log["blockNumber"])
        return Anchor(
            chain=self.settings.caip2,
            contract=self.contract,
            tx_hash=hex_of(log["transactionHash"]),
            block_number=block_number,
            block_timestamp=self.fetch_block_timestamp(block_number),
            origin=origin,
            size=int(args["size"]),
            root=bytes(args["root"]),
        )

    def _contract(self) -> Any:
        return self._rpc.w3.eth.contract(
            address=self._contract_address(), abi=list(self._artifact.abi)
        )

    def _contract_address(self) -> ChecksumAddress:
        if not self.settings.contract_address:
            raise InvalidInput(
                "no CheckpointAnchor contract address is configured",
                hint="Deploy the contract and set contract_address in the chain settings.",
            )
        return _address(self.settings.contract_address)


def _address(value: str) -> ChecksumAddress:
    try:
        return Web3.to_checksum_address(value)
    except ValueError as exc:
        raise InvalidInput(f"not an EVM address: {value!r}") from exc


def _outcome(receipt: Any) -> TxOutcome:
    return TxOutcome(
        tx_hash=hex_of(receipt["transactionHash"]),
        block_number=int(receipt["blockNumber"]),
        gas_used=int(receipt["gasUsed"]),
    )


def _check_root(root: bytes) -> None:
    if not isinstance(root, bytes) or len(root) != 32:
        raise InvalidInput("a checkpoint root is exactly 32 bytes")


def _check_size(size: int) -> None:
    if not 0 < size <= _MAX_UINT64:
        raise InvalidInput(f"a tree size is between 1 and 2**64 - 1, not {size}")


def _check_origin(origin: str) -> None:
    if not origin or "\n" in origin:
        raise InvalidInput("a checkpoint origin is one non-empty line")


def _check_checkpoint(origin: str, size: int, root: bytes) -> None:
    _check_origin(origin)
    _check_size(size)
    _check_root(root)
    if root == bytes(32):
        raise InvalidInput("the all-zero root cannot be anchored")
