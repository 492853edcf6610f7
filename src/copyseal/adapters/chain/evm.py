"""The EVM adapter: deploy ``CheckpointAnchor``, anchor checkpoints, read anchors back.

It speaks JSON-RPC through web3.py and signs locally with the key from its settings; no node
account is ever unlocked. The RPC URL, chain ID, contract address and key are settings:
nothing here names a chain. A log origin is named on chain by ``keccak256`` of its UTF-8
origin line (:func:`compute_origin_hash`).

Foreign exceptions never leave this module: they become :mod:`copyseal.errors` through the
table in :mod:`copyseal.adapters.chain.translation` (Unavailable for an unreachable node,
after retries with exponential back-off; ConflictError for a size that does not grow), and a
root or (origin, size) that was never anchored is NotFound.

A transaction is built and signed once; only its sending and the polling for its receipt are
retried, so a retry can neither anchor twice nor trip over its own earlier success. One key
should be used by one anchoring process at a time (nonces come from the node's pending count).
This module must never log, print or repr the private key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import requests
from eth_account import Account
from eth_typing import ChecksumAddress, HexStr
from web3 import HTTPProvider, Web3
from web3.exceptions import (
    ContractLogicError,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)

from copyseal.adapters.chain.compile import CompiledContract, load_artifact
from copyseal.adapters.chain.translation import is_transient, translate
from copyseal.errors import CopysealError, InvalidInput, NotFound, Unavailable

T = TypeVar("T")

_MAX_UINT64 = 2**64 - 1
# The estimate is exact for the state it ran on; the margin covers a state change before
# mining (unused gas is refunded, so it costs nothing).
_GAS_MARGIN = 1.2


def compute_origin_hash(origin: str) -> bytes:
    """The on-chain name of a log: keccak256 of its checkpoint origin line (UTF-8)."""
    return bytes(Web3.keccak(origin.encode("utf-8")))


@dataclass(frozen=True)
class ChainSettings:
    """Where and as whom to anchor. ``contract_address`` is ``None`` only before deploying."""

    rpc_url: str
    chain_id: int
    private_key: str = field(repr=False)
    contract_address: str | None = None
    confirmations: int = 1
    request_timeout: float = 10.0
    receipt_timeout: float = 120.0
    poll_interval: float = 0.5
    max_attempts: int = 5
    backoff_initial: float = 0.25
    backoff_max: float = 8.0

    @property
    def caip2(self) -> str:
        """The chain as a CAIP-2 identifier, e.g. ``eip155:1``."""
        return f"eip155:{self.chain_id}"


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


@dataclass(frozen=True)
class AnchorReceipt:
    """A checkpoint anchored by this adapter, as a certificate will cite it."""

    chain_id: str
    contract: str
    tx_hash: str
    block_number: int
    block_timestamp: int
    origin: str
    size: int
    root: bytes
    gas_used: int


@dataclass(frozen=True)
class AnchorRecord:
    """What the contract holds about an anchored root."""

    chain_id: str
    contract: str
    origin_hash: bytes
    size: int
    root: bytes
    block_number: int
    block_timestamp: int


class EvmChain:
    """One chain, one contract, one signing key. Keyword arguments are for tests and tuning:
    ``provider`` replaces the HTTP provider (an in-process EVM), ``sleep`` and ``monotonic``
    replace the clock of the back-off and of the waits."""

    def __init__(
        self,
        settings: ChainSettings,
        *,
        provider: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        artifact: CompiledContract | None = None,
    ) -> None:
        if provider is None:
            # The adapter's own retry policy is the one in force: no second, hidden one.
            provider = HTTPProvider(
                settings.rpc_url,
                request_kwargs={"timeout": settings.request_timeout},
                exception_retry_configuration=None,
            )
        self.settings = settings
        self._w3 = Web3(provider)
        try:
            self._account = Account.from_key(settings.private_key)
        except (ValueError, TypeError) as exc:
            # Never quote the key: the message names only what is wrong with it.
            raise InvalidInput("the chain private key is not a valid secp256k1 key") from exc
        self._sleep = sleep
        self._monotonic = monotonic
        self._artifact = artifact or load_artifact()
        self._chain_checked = False

    @property
    def address(self) -> str:
        """The checksum address of the signing key."""
        return str(self._account.address)

    def bind(self, contract_address: str) -> EvmChain:
        """The same chain and key, talking to the contract at ``contract_address``."""
        settings = replace(self.settings, contract_address=contract_address)
        return EvmChain(
            settings,
            provider=self._w3.provider,
            sleep=self._sleep,
            monotonic=self._monotonic,
            artifact=self._artifact,
        )

    # -- transactions -------------------------------------------------------------------

    def deploy(self) -> Deployment:
        """Deploy a new ``CheckpointAnchor`` owned by this key."""
        factory = self._w3.eth.contract(
            abi=list(self._artifact.abi), bytecode=self._artifact.bytecode
        )
        receipt = self._transact(factory.constructor(), "deploy CheckpointAnchor")
        return Deployment(
            chain_id=self.settings.caip2,
            contract=Web3.to_checksum_address(receipt["contractAddress"]),
            tx_hash=_hex(receipt["transactionHash"]),
            block_number=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
        )

    def authorize(self, anchorer: str) -> TxOutcome:
        """Let ``anchorer`` anchor checkpoints (this key must own the contract)."""
        fn = self._contract().functions.authorize(_address(anchorer))
        return _outcome(self._transact(fn, f"authorize {anchorer}"))

    def revoke(self, anchorer: str) -> TxOutcome:
        fn = self._contract().functions.revoke(_address(anchorer))
        return _outcome(self._transact(fn, f"revoke {anchorer}"))

    def anchor(self, origin: str, size: int, root: bytes) -> AnchorReceipt:
        """Anchor the checkpoint (origin, size, root) and wait for the configured confirmations.

        Raises ConflictError if this origin was already anchored at ``size`` or beyond."""
        _check_checkpoint(origin, size, root)
        fn = self._contract().functions.anchor(compute_origin_hash(origin), size, root)
        details = {"origin": origin, "size": size, "root": root.hex()}
        receipt = self._transact(fn, f"anchor {origin} at size {size}", **details)
        block_number = int(receipt["blockNumber"])
        return AnchorReceipt(
            chain_id=self.settings.caip2,
            contract=self._contract_address(),
            tx_hash=_hex(receipt["transactionHash"]),
            block_number=block_number,
            block_timestamp=self.fetch_block_timestamp(block_number),
            origin=origin,
            size=size,
            root=root,
            gas_used=int(receipt["gasUsed"]),
        )

    def wait_for_confirmations(
        self, tx_hash: str, confirmations: int, *, timeout: float | None = None
    ) -> int:
        """Wait until ``tx_hash`` is ``confirmations`` blocks deep (its own block counts as
        one) and return its block number. A reorganisation that moves it restarts the count;
        Unavailable if the depth is not reached within ``timeout`` seconds."""
        deadline = self._monotonic() + (
            self.settings.receipt_timeout if timeout is None else timeout
        )
        what = f"confirm {tx_hash}"
        while True:
            receipt = self._receipt_or_none(tx_hash, what)
            if receipt is not None:
                head = self._retry(lambda: int(self._w3.eth.block_number), what)
                if head - int(receipt["blockNumber"]) + 1 >= confirmations:
                    again = self._receipt_or_none(tx_hash, what)
                    if again is not None and again["blockHash"] == receipt["blockHash"]:
                        return int(receipt["blockNumber"])
                    continue
            if self._monotonic() >= deadline:
                raise Unavailable(
                    f"{what}: not {confirmations} blocks deep in time",
                    hint="The chain is slow or the transaction was dropped; check it later.",
                    tx_hash=tx_hash,
                )
            self._sleep(self.settings.poll_interval)

    # -- reads --------------------------------------------------------------------------

    def fetch_by_root(self, root: bytes) -> AnchorRecord:
        """Where and when ``root`` was anchored; NotFound if it never was."""
        _check_root(root)
        fn = self._contract().functions.anchored_by_root(root)
        origin_hash, size, block_number, timestamp = self._retry(fn.call, "read anchor by root")
        if size == 0:
            raise NotFound(
                f"root {root.hex()} is not anchored on {self.settings.caip2}",
                root=root.hex(),
                contract=self._contract_address(),
            )
        return AnchorRecord(
            chain_id=self.settings.caip2,
            contract=self._contract_address(),
            origin_hash=bytes(origin_hash),
            size=int(size),
            root=root,
            block_number=int(block_number),
            block_timestamp=int(timestamp),
        )

    def fetch_root_at(self, origin: str, size: int) -> bytes:
        """The root anchored for ``origin`` at tree size ``size``; NotFound if none."""
        _check_size(size)
        fn = self._contract().functions.root_at(compute_origin_hash(origin), size)
        root = bytes(self._retry(fn.call, "read root by origin and size"))
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
        return int(self._retry(fn.call, "read latest size"))

    def fetch_block_timestamp(self, block_number: int) -> int:
        """The timestamp (Unix seconds) of block ``block_number``."""
        block = self._retry(lambda: self._w3.eth.get_block(block_number), "read block")
        return int(block["timestamp"])

    # -- machinery ----------------------------------------------------------------------

    def _retry(self, call: Callable[[], T], what: str, **details: Any) -> T:
        """``call()``, retried with exponential back-off while the node is unreachable."""
        self._check_chain(what)
        return self._retry_unchecked(call, what, **details)

    def _retry_unchecked(self, call: Callable[[], T], what: str, **details: Any) -> T:
        delay = self.settings.backoff_initial
        for attempt in range(1, self.settings.max_attempts + 1):
            try:
                return call()
            except (requests.RequestException, Web3Exception, OSError) as exc:
                if not is_transient(exc) or attempt == self.settings.max_attempts:
                    raise translate(exc, what, attempts=attempt, **details) from exc
            self._sleep(delay)
            delay = min(delay * 2, self.settings.backoff_max)
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_chain(self, what: str) -> None:
        if self._chain_checked:
            return
        actual = self._retry_unchecked(lambda: int(self._w3.eth.chain_id), what)
        if actual != self.settings.chain_id:
            raise InvalidInput(
                f"{what}: the node at rpc_url serves chain {actual}, "
                f"not the configured chain {self.settings.chain_id}",
                hint="Fix chain_id or rpc_url in the chain settings.",
            )
        self._chain_checked = True

    def _transact(self, fn: Any, what: str, **details: Any) -> Any:
        """Build, sign once, send and wait for ``fn``'s transaction; return its receipt."""

        def build() -> dict[str, Any]:
            nonce = self._w3.eth.get_transaction_count(self._account.address, "pending")
            tx: dict[str, Any] = fn.build_transaction(
                {"from": self._account.address, "nonce": nonce, "chainId": self.settings.chain_id}
            )
            tx["gas"] = int(tx["gas"] * _GAS_MARGIN)
            return tx

        signed = self._account.sign_transaction(self._retry(build, what, **details))
        tx_hash = _hex(signed.hash)
        sent = False

        def send() -> None:
            nonlocal sent
            try:
                self._w3.eth.send_raw_transaction(signed.raw_transaction)
            except Web3RPCError:
                # An earlier attempt may have reached the node before the connection broke.
                if not (sent and self._is_known(tx_hash)):
                    raise
            finally:
                sent = True

        self._retry(send, what, tx_hash=tx_hash, **details)
        receipt = self._wait_for_receipt(tx_hash, what)
        if int(receipt["status"]) != 1:
            raise self._explain_failure(fn, receipt, what, tx_hash=tx_hash, **details)
        if self.settings.confirmations > 1:
            self.wait_for_confirmations(tx_hash, self.settings.confirmations)
        return receipt

    def _wait_for_receipt(self, tx_hash: str, what: str) -> Any:
        deadline = self._monotonic() + self.settings.receipt_timeout
        while True:
            receipt = self._receipt_or_none(tx_hash, what)
            if receipt is not None:
                return receipt
            if self._monotonic() >= deadline:
                raise Unavailable(
                    f"{what}: transaction {tx_hash} not mined within "
                    f"{self.settings.receipt_timeout:g} s",
                    hint="The node may be congested; look the transaction up later.",
                    tx_hash=tx_hash,
                )
            self._sleep(self.settings.poll_interval)

    def _receipt_or_none(self, tx_hash: str, what: str) -> Any:
        def fetch() -> Any:
            try:
                return self._w3.eth.get_transaction_receipt(HexStr(tx_hash))
            except TransactionNotFound:
                return None

        return self._retry(fetch, what, tx_hash=tx_hash)

    def _is_known(self, tx_hash: str) -> bool:
        try:
            self._w3.eth.get_transaction(HexStr(tx_hash))
        except TransactionNotFound:
            return False
        return True

    def _explain_failure(self, fn: Any, receipt: Any, what: str, **details: Any) -> Exception:
        """Why a mined transaction failed: replay it on the state after its block."""
        try:
            fn.call({"from": self._account.address}, block_identifier=receipt["blockNumber"])
        except ContractLogicError as exc:
            return translate(exc, what, **details)
        except (requests.RequestException, Web3Exception, OSError):
            pass
        return CopysealError(f"{what}: transaction failed on chain", **details)

    def _contract(self) -> Any:
        return self._w3.eth.contract(address=self._contract_address(), abi=list(self._artifact.abi))

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


def _hex(value: bytes | str) -> str:
    if isinstance(value, str):
        return value if value.startswith("0x") else "0x" + value
    return "0x" + bytes(value).hex()


def _outcome(receipt: Any) -> TxOutcome:
    return TxOutcome(
        tx_hash=_hex(receipt["transactionHash"]),
        block_number=int(receipt["blockNumber"]),
        gas_used=int(receipt["gasUsed"]),
    )


def _check_root(root: bytes) -> None:
    if not isinstance(root, bytes) or len(root) != 32:
        raise InvalidInput("a checkpoint root is exactly 32 bytes")


def _check_size(size: int) -> None:
    if not 0 < size <= _MAX_UINT64:
        raise InvalidInput(f"a tree size is between 1 and 2**64 - 1, not {size}")


def _check_checkpoint(origin: str, size: int, root: bytes) -> None:
    if not origin or "\n" in origin:
        raise InvalidInput("a checkpoint origin is one non-empty line")
    _check_size(size)
    _check_root(root)
    if root == bytes(32):
        raise InvalidInput("the all-zero root cannot be anchored")
