"""Chain figures: gas per anchor from receipts, cost per registration, and the time from a
registration to its anchored certificate on a real node (anvil from node_modules/)."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from web3 import EthereumTesterProvider, Web3

from bench.common import Figure
from copyseal.adapters.chain.evm import ChainSettings, EvmChain
from copyseal.adapters.home import Home
from copyseal.core.anchor import Anchor
from copyseal.core.certificate import Certificate
from copyseal.domain.anchors import AnchorChain
from copyseal.services.anchoring import Anchorer, refresh_certificate
from copyseal.services.chain_verification import verify_anchored_certificate
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from copyseal.services.registry import Registry

GAS_PRICE_GWEI = 10  # a stated price; multiply the gas figures for any other
PER_ANCHOR = (1_000, 10_000, 100_000)
TESTER_CHAIN_ID = 131277322940537
ANVIL_CHAIN_ID = 424243
ORIGIN = "bench.copyseal/log"


def _chain(settings: ChainSettings, provider: Any, fund: Callable[[str], Any]) -> EvmChain:
    """A funded key that owns a fresh contract and may anchor ``ORIGIN``."""
    chain = EvmChain(settings, provider=provider)
    fund(chain.address)
    deployment = chain.deploy()
    bound = chain.bind(deployment.contract, deployment_block=deployment.block_number)
    bound.authorize(ORIGIN, bound.address)
    return bound


def gas_from_receipts() -> tuple[int, list[int]]:
    """First and later anchors on the in-process EVM (gas is deterministic)."""
    provider = EthereumTesterProvider()
    w3 = Web3(provider)

    def fund(address: str) -> None:
        w3.eth.send_transaction(
            {"from": w3.eth.accounts[0], "to": address, "value": Web3.to_wei(100, "ether")}
        )

    settings = ChainSettings(
        rpc_url="in-process", chain_id=TESTER_CHAIN_ID, private_key="0x" + "5e" * 32
    )
    chain = _chain(settings, provider, fund)
    sizes = [1_000 * (n + 1) for n in range(10)]
    used = [chain.anchor(ORIGIN, n, Web3.keccak(n.to_bytes(8, "big"))).gas_used for n in sizes]
    return used[0], used[1:]


def cost_figures(gas: int) -> list[Figure]:
    figures = []
    for n in PER_ANCHOR:
        per_registration = gas / n
        gwei = per_registration * GAS_PRICE_GWEI
        figures.append(
            Figure(
                f"cost per registration, {n:,} registrations per anchor",
                per_registration,
                "gas",
                "report",
                f"{gwei:,.1f} gwei = {gwei / 1e9:.2e} ETH at {GAS_PRICE_GWEI} gwei/gas",
            )
        )
    return figures


@contextmanager
def _anvil(root: Path) -> Iterator[Any]:
    try:
        from tests.integration.anvil import ANVIL, AnvilNode
    except ImportError:
        yield None
        return
    if not ANVIL.exists():
        yield None
        return
    with AnvilNode(chain_id=ANVIL_CHAIN_ID, log_path=root / "anvil.log") as node:
        yield node


def _now() -> datetime:
    return datetime.now(UTC)


def registration_to_anchored_certificate(node: Any, root: Path, runs: int = 7) -> list[float]:
    """Seconds from a registration call to its refreshed certificate verifying on chain:
    register, anchor the checkpoint, refresh the certificate, verify it with --rpc's checks."""
    url: str = node.url
    key = "0x" + Web3.keccak(text="copyseal bench key").hex().removeprefix("0x")
    settings = ChainSettings(
        rpc_url=url, chain_id=ANVIL_CHAIN_ID, private_key=key, poll_interval=0.01
    )
    chain = _chain(settings, None, lambda a: node.rpc("anvil_setBalance", a, hex(10**20)))
    home = Home.init(
        root / "home", origin=ORIGIN, log_seed=os.urandom(32), creator_seed=os.urandom(32)
    )
    store, anchors = home.open_store(), home.open_anchors()
    registry = Registry(store=store, log_signer=home.log_signer, clock=_now)
    anchorer = Anchorer(store=store, anchors=anchors, chain=chain, log_key=home.log_signer.verifier)

    def reader(anchor: Anchor) -> AnchorChain:
        return EvmChain(
            ChainSettings(rpc_url=url, chain_id=anchor.chain_id, contract_address=anchor.contract)
        )

    signer = home.keys.load("default")
    samples = []
    try:
        for run in range(runs):
            work = WorkInput(f"bench poem {run}".encode(), TEXT_MEDIA_TYPE, "bench")
            [claim] = prepare_register_claims(
                [work], signer, clock=_now, random_bytes=os.urandom, max_bytes=1 << 20
            )
            start = time.perf_counter()
            cert = registry.register_one(claim).certificate
            anchorer.anchor_latest()
            data = refresh_certificate(
                cert.to_json(), store=store, anchors=anchors, log_key=home.log_signer.verifier
            ).data
            report = verify_anchored_certificate(
                Certificate.from_json(data),
                trusted_log=home.log_signer.verifier,
                chain_for=reader,
                trusted_chains=[(chain.caip2, chain.contract)],
            )
            samples.append(time.perf_counter() - start)
            assert report.ok, report.to_dict()
    finally:
        registry.close()
        anchors.close()
        store.close()
    return samples


def run() -> list[Figure]:
    first, later = gas_from_receipts()
    figures = [
        Figure(
            "gas per anchor, first anchor of an origin (from receipts)",
            first,
            "gas",
            "≤ 50,000",
            "floor 48,100: 21,000 tx + 22,100 new slot + 5,000 origin slot; see docs/chain.md",
        ),
        Figure(
            "gas per anchor, later anchors (from receipts, median)",
            statistics.median(later),
            "gas",
            "≤ 50,000",
            f"range {min(later):,}–{max(later):,}; +1,792 event, ~1,250 calldata, ~580 code",
        ),
        *cost_figures(max(later)),
    ]
    with tempfile.TemporaryDirectory() as tmp, _anvil(Path(tmp)) as node:
        if node is None:
            figures.append(
                Figure("registration → anchored certificate", 0, "s", "report", "no anvil: npm ci")
            )
            return figures
        samples = registration_to_anchored_certificate(node, Path(tmp))
        figures.append(
            Figure(
                "registration → anchored, refreshed certificate verified on chain (anvil)",
                statistics.median(samples) * 1000,
                "ms",
                "report",
                "automine, 1 confirmation; on a live chain add block time × confirmations "
                "and the schedule's wait (≤ 10 min or 10,000 entries by default)",
            )
        )
    return figures
