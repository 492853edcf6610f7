"""The EVM adapter's own rules, without a node: retries, back-off, error translation.

Reverts and confirmations are exercised against a real node in tests/integration.
"""

from __future__ import annotations

import socket
from dataclasses import replace
from typing import Any

import pytest
import requests
from web3 import EthereumTesterProvider, Web3
from web3.exceptions import ContractLogicError, TooManyRequests, Web3RPCError

from copyseal.adapters.chain.evm import ChainSettings, EvmChain
from copyseal.adapters.chain.translation import is_transient, translate
from copyseal.errors import ConflictError, CopysealError, InvalidInput, NotFound, Unavailable

KEY = "0x" + "5e" * 32


def settings(**changes: Any) -> ChainSettings:
    values: dict[str, Any] = {
        "rpc_url": "in-process",
        "chain_id": 131277322940537,  # eth-tester's
        "private_key": KEY,
        "poll_interval": 0.0,
    }
    values.update(changes)
    return ChainSettings(**values)


class FlakyProvider(EthereumTesterProvider):
    """An in-process EVM whose first ``failures`` requests find no node."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def make_request(self, method: Any, params: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise requests.ConnectionError("connection refused")
        return super().make_request(method, params)


def funded_chain(provider: EthereumTesterProvider, **kwargs: Any) -> EvmChain:
    chain = EvmChain(settings(), provider=provider, **kwargs)
    w3 = Web3(provider)
    w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": chain.address, "value": Web3.to_wei(100, "ether")}
    )
    return chain


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_the_in_process_evm_deploys_anchors_and_reads() -> None:
    deployer = funded_chain(EthereumTesterProvider())
    chain = deployer.bind(deployer.deploy().contract)
    chain.authorize("test.copyseal/log", chain.address)
    assert chain.fetch_anchorer("test.copyseal/log") == chain.address
    assert chain.fetch_anchorer("other.copyseal/log") is None
    record = chain.anchor("test.copyseal/log", 2, b"\x01" * 32)
    anchor = record.anchor
    assert anchor.chain == "eip155:131277322940537"
    assert (anchor.origin, anchor.size, anchor.root) == ("test.copyseal/log", 2, b"\x01" * 32)
    assert chain.fetch_by_root(b"\x01" * 32, "test.copyseal/log") == anchor
    assert chain.fetch_anchor_tx(anchor.tx_hash, "test.copyseal/log") == record
    assert chain.fetch_root_at("test.copyseal/log", 2) == b"\x01" * 32
    assert chain.fetch_head() == anchor.block_number
    with pytest.raises(NotFound):
        chain.fetch_by_root(b"\x02" * 32, "test.copyseal/log")
    with pytest.raises(NotFound):
        chain.fetch_by_root(b"\x01" * 32, "other.copyseal/log")
    with pytest.raises(NotFound):
        chain.fetch_anchor_tx(anchor.tx_hash, "other.copyseal/log")
    with pytest.raises(NotFound):
        chain.fetch_anchor_tx("0x" + "ab" * 32, "test.copyseal/log")


def test_the_by_root_read_searches_the_logs_in_windows() -> None:
    provider = EthereumTesterProvider()
    deployer = funded_chain(provider)
    deployment = deployer.deploy()
    chain = deployer.bind(deployment.contract, deployment_block=deployment.block_number)
    chain.authorize("test.copyseal/log", chain.address)
    anchors = [chain.anchor("test.copyseal/log", n, bytes([n]) * 32).anchor for n in (1, 2, 3)]
    # One block per eth_getLogs request, as a node with a tight range cap would need.
    narrow = EvmChain(replace(chain.settings, log_window=1), provider=provider)
    assert [
        narrow.fetch_by_root(bytes([n]) * 32, "test.copyseal/log") for n in (1, 2, 3)
    ] == anchors
    # A search that starts after the anchor does not find it.
    late = EvmChain(
        replace(chain.settings, deployment_block=anchors[-1].block_number + 1),
        provider=provider,
    )
    with pytest.raises(NotFound):
        late.fetch_by_root(bytes([3]) * 32, "test.copyseal/log")


def test_a_reader_without_a_key_reads_but_cannot_send() -> None:
    provider = EthereumTesterProvider()
    deployer = funded_chain(provider)
    chain = deployer.bind(deployer.deploy().contract)
    reader = EvmChain(replace(chain.settings, private_key=None), provider=provider)
    assert reader.fetch_latest_size("test.copyseal/log") == 0
    with pytest.raises(InvalidInput, match="no chain private key"):
        reader.anchor("test.copyseal/log", 1, b"\x01" * 32)


def test_transient_failures_are_retried_with_exponential_back_off() -> None:
    sleeps: list[float] = []
    provider = FlakyProvider(failures=0)
    chain = funded_chain(provider, sleep=sleeps.append)
    provider.failures = 4
    chain.bind(chain.deploy().contract)
    assert sleeps == [0.25, 0.5, 1.0, 2.0]


def test_an_unreachable_node_is_unavailable_after_the_last_attempt() -> None:
    sleeps: list[float] = []
    chain = EvmChain(
        settings(
            rpc_url=f"http://127.0.0.1:{closed_port()}",
            contract_address="0x" + "11" * 20,
            max_attempts=6,
            backoff_max=1.0,
        ),
        sleep=sleeps.append,
    )
    with pytest.raises(Unavailable) as caught:
        chain.fetch_latest_size("test.copyseal/log")
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert caught.value.details["attempts"] == 6
    assert sleeps == [0.25, 0.5, 1.0, 1.0, 1.0]


def test_without_a_contract_address_nothing_is_sent() -> None:
    chain = EvmChain(settings(), provider=FlakyProvider(failures=99))
    with pytest.raises(InvalidInput, match="no CheckpointAnchor contract address"):
        chain.fetch_latest_size("test.copyseal/log")


@pytest.mark.parametrize(
    ("origin", "size", "root"),
    [
        ("", 1, b"\x01" * 32),
        ("two\nlines", 1, b"\x01" * 32),
        ("test.copyseal/log", 0, b"\x01" * 32),
        ("test.copyseal/log", 2**64, b"\x01" * 32),
        ("test.copyseal/log", 1, b"\x01" * 31),
        ("test.copyseal/log", 1, bytes(32)),
    ],
)
def test_a_malformed_checkpoint_is_refused_before_any_request(
    origin: str, size: int, root: bytes
) -> None:
    chain = EvmChain(settings(contract_address="0x" + "11" * 20), provider=FlakyProvider(99))
    with pytest.raises(InvalidInput):
        chain.anchor(origin, size, root)


def test_the_settings_never_show_the_key() -> None:
    assert "5e5e" not in repr(settings())
    with pytest.raises(InvalidInput) as caught:
        EvmChain(settings(private_key="0x" + "5e" * 31))
    assert "5e5e" not in str(caught.value)
    assert "5e5e" not in str(caught.value.__cause__)
    assert settings().caip2 == "eip155:131277322940537"


def http_error(status: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"HTTP {status}", response=response)


def rpc_error(code: int, message: str) -> Web3RPCError:
    error = {"code": code, "message": message}
    response: Any = {"jsonrpc": "2.0", "id": 1, "error": error}
    return Web3RPCError(str(error), rpc_response=response)


@pytest.mark.parametrize(
    ("exc", "transient", "error"),
    [
        (requests.ConnectionError("refused"), True, Unavailable),
        (requests.ReadTimeout("slow"), True, Unavailable),
        (TooManyRequests("slow down"), True, Unavailable),
        (http_error(503), True, Unavailable),
        (http_error(429), True, Unavailable),
        (http_error(401), False, Unavailable),
        (rpc_error(-32005, "limit exceeded"), True, Unavailable),
        (ContractLogicError("execution reverted: size must grow"), False, ConflictError),
        (ContractLogicError("execution reverted: not an anchorer"), False, InvalidInput),
        (ContractLogicError("execution reverted: not the owner"), False, InvalidInput),
        (ContractLogicError("execution reverted: empty root"), False, CopysealError),
        (rpc_error(-32003, "insufficient funds for gas * price + value"), False, InvalidInput),
        (rpc_error(-32000, "nonce too low"), False, CopysealError),
    ],
)
def test_foreign_errors_translate_into_the_error_tree(
    exc: Exception, transient: bool, error: type[CopysealError]
) -> None:
    assert is_transient(exc) is transient
    translated = translate(exc, "anchor", origin="test.copyseal/log")
    assert type(translated) is error
    assert translated.details["origin"] == "test.copyseal/log"
