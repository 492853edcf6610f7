"""JSON-RPC with retries, local signing and waits: the transport under the EVM adapter.

One :class:`RpcSession` is one node, one chain ID and at most one signing key. Every request
goes through :meth:`RpcSession.retry`, which checks once that the node serves the configured
chain and retries transient failures with exponential back-off; foreign exceptions leave
only as :mod:`copyseal.errors` (see :mod:`copyseal.adapters.chain.translation`).

A transaction is built and signed once; only its sending and the polling for its receipt are
retried, so a retry can neither send twice nor trip over its own earlier success. This
module must never log, print or repr the private key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from web3 import HTTPProvider, Web3
from web3.exceptions import (
    ContractLogicError,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)

from copyseal.adapters.chain.settings import ChainSettings
from copyseal.adapters.chain.translation import is_transient, translate
from copyseal.domain.wording import counted
from copyseal.errors import CopysealError, InvalidInput, Unavailable

T = TypeVar("T")

# The estimate is exact for the state it ran on; the margin covers a state change before
# mining (unused gas is refunded, so it costs nothing).
_GAS_MARGIN = 1.2


def hex_of(value: bytes | str) -> str:
    """A transaction hash or other bytes as 0x-prefixed hex."""
    if isinstance(value, str):
        return value if value.startswith("0x") else "0x" + value
    return "0x" + bytes(value).hex()


class RpcSession:
    """One node, as ``settings`` name it. ``provider`` replaces the HTTP provider (an
    in-process EVM in tests); ``sleep`` and ``monotonic`` are the clock of back-off and waits."""

    def __init__(
        self,
        settings: ChainSettings,
        *,
        provider: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if provider is None:
            # The adapter's own retry policy is the one in force: no second, hidden one.
            provider = HTTPProvider(
                settings.rpc_url,
                request_kwargs={"timeout": settings.request_timeout},
                exception_retry_configuration=None,
            )
        self.settings = settings
        self.w3 = Web3(provider)
        self.sleep = sleep
        self.monotonic = monotonic
        self._account: LocalAccount | None = None
        if settings.private_key is not None:
            try:
                self._account = Account.from_key(settings.private_key)
            except (ValueError, TypeError) as exc:
                # Never quote the key: the message names only what is wrong with it.
                raise InvalidInput("the chain private key is not a valid secp256k1 key") from exc
        self._chain_checked = False

    def retry(self, call: Callable[[], T], what: str, **details: Any) -> T:
        """``call()``, retried with exponential back-off while the node is unreachable."""
        self._check_chain(what)
        return self.retry_unchecked(call, what, **details)

    def retry_unchecked(self, call: Callable[[], T], what: str, **details: Any) -> T:
        delay = self.settings.backoff_initial
        for attempt in range(1, self.settings.max_attempts + 1):
            try:
                return call()
            except (requests.RequestException, Web3Exception, OSError) as exc:
                if not is_transient(exc) or attempt == self.settings.max_attempts:
                    raise translate(exc, what, attempts=attempt, **details) from exc
            self.sleep(delay)
            delay = min(delay * 2, self.settings.backoff_max)
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_chain(self, what: str) -> None:
        if self._chain_checked:
            return
        actual = self.retry_unchecked(lambda: int(self.w3.eth.chain_id), what)
        if actual != self.settings.chain_id:
            raise InvalidInput(
                f"{what}: the node at rpc_url serves chain {actual}, "
                f"not the configured chain {self.settings.chain_id}",
                hint="Fix chain_id or rpc_url in the chain settings.",
            )
        self._chain_checked = True

    def transact(self, fn: Any, what: str, **details: Any) -> Any:
        """Build, sign once, send and wait for ``fn``'s transaction; return its receipt."""

        account = self.signer()

        def build() -> dict[str, Any]:
            nonce = self.w3.eth.get_transaction_count(account.address, "pending")
            tx: dict[str, Any] = fn.build_transaction(
                {"from": account.address, "nonce": nonce, "chainId": self.settings.chain_id}
            )
            tx["gas"] = int(tx["gas"] * _GAS_MARGIN)
            return tx

        signed = account.sign_transaction(self.retry(build, what, **details))
        tx_hash = hex_of(signed.hash)
        sent = False

        def send() -> None:
            nonlocal sent
            try:
                self.w3.eth.send_raw_transaction(signed.raw_transaction)
            except Web3RPCError:
                # An earlier attempt may have reached the node before the connection broke.
                if not (sent and self._is_known(tx_hash)):
                    raise
            finally:
                sent = True

        self.retry(send, what, tx_hash=tx_hash, **details)
        receipt = self.wait_for_receipt(tx_hash, what)
        if int(receipt["status"]) != 1:
            raise self._explain_failure(fn, receipt, what, tx_hash=tx_hash, **details)
        if self.settings.confirmations > 1:
            self.wait_for_confirmations(tx_hash, self.settings.confirmations)
        return receipt

    def wait_for_receipt(self, tx_hash: str, what: str) -> Any:
        deadline = self.monotonic() + self.settings.receipt_timeout
        while True:
            receipt = self.receipt_or_none(tx_hash, what)
            if receipt is not None:
                return receipt
            if self.monotonic() >= deadline:
                raise Unavailable(
                    f"{what}: transaction {tx_hash} not mined within "
                    f"{self.settings.receipt_timeout:g} s",
                    hint="The node may be congested; look the transaction up later.",
                    tx_hash=tx_hash,
                )
            self.sleep(self.settings.poll_interval)

    def receipt_or_none(self, tx_hash: str, what: str) -> Any:
        def fetch() -> Any:
            try:
                return self.w3.eth.get_transaction_receipt(HexStr(tx_hash))
            except TransactionNotFound:
                return None

        return self.retry(fetch, what, tx_hash=tx_hash)

    def _is_known(self, tx_hash: str) -> bool:
        try:
            self.w3.eth.get_transaction(HexStr(tx_hash))
        except TransactionNotFound:
            return False
        return True

    def _explain_failure(self, fn: Any, receipt: Any, what: str, **details: Any) -> Exception:
        """Why a mined transaction failed: replay it on the state after its block."""
        try:
            fn.call({"from": self.signer().address}, block_identifier=receipt["blockNumber"])
        except ContractLogicError as exc:
            return translate(exc, what, **details)
        except (requests.RequestException, Web3Exception, OSError):
            pass
        return CopysealError(f"{what}: transaction failed on chain", **details)

    def signer(self) -> LocalAccount:
        if self._account is None:
            raise InvalidInput(
                "no chain private key is configured",
                hint="Set COPYSEAL_CHAIN_KEY (or the home's chain.key) to send transactions.",
            )
        return self._account

    def wait_for_confirmations(
        self, tx_hash: str, confirmations: int, *, timeout: float | None = None
    ) -> int:
        """Wait until ``tx_hash`` is ``confirmations`` blocks deep (its own block counts as
        one) and return its block number. A reorganisation that moves it restarts the count;
        Unavailable if the depth is not reached within ``timeout`` seconds."""
        deadline = self.monotonic() + (
            self.settings.receipt_timeout if timeout is None else timeout
        )
        what = f"confirm {tx_hash}"
        while True:
            receipt = self.receipt_or_none(tx_hash, what)
            if receipt is not None:
                head = self.retry(lambda: int(self.w3.eth.block_number), what)
                if head - int(receipt["blockNumber"]) + 1 >= confirmations:
                    again = self.receipt_or_none(tx_hash, what)
                    if again is not None and again["blockHash"] == receipt["blockHash"]:
                        return int(receipt["blockNumber"])
                    continue
            if self.monotonic() >= deadline:
                raise Unavailable(
                    f"{what}: not {counted(confirmations, 'block')} deep in time",
                    hint="The chain is slow or the transaction was dropped; check it later.",
                    tx_hash=tx_hash,
                )
            self.sleep(self.settings.poll_interval)
