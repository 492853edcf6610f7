"""Anchoring end to end on a real node: deploy, register, anchor, refresh, verify --rpc.

The CLI runs through its runner against anvil (started by the fixture); each test works in
a home of its own, and all share one node.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from web3 import Web3

from copyseal.adapters.chain.evm import EvmChain
from copyseal.adapters.chain.settings import load_chain_settings
from copyseal.adapters.home import Home
from copyseal.cli.main import app
from copyseal.core.anchor import AnchorReceipt
from copyseal.core.certificate import Certificate
from copyseal.errors import ForeignLog, InvalidInput, NotFound, VerificationError
from copyseal.server.app import create_app
from copyseal.services.anchoring import Anchorer, AnchorLoop, AnchorSchedule
from tests.integration.anvil import AnvilNode
from tests.integration.conftest import ANVIL_CHAIN_ID

pytestmark = pytest.mark.xdist_group("anvil")
runner = CliRunner()


def chain_key(name: str) -> str:
    return "0x" + Web3.keccak(text=f"copyseal anchoring test key {name}").hex().removeprefix("0x")


class Cli:
    """The CLI on one home, with the anchoring key in the environment only."""

    def __init__(self, home: Path, key: str) -> None:
        self.home, self.key = home, key
        self.env = {"COPYSEAL_HOME": str(home), "COPYSEAL_CHAIN_KEY": key}

    def __call__(self, *args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args), env=self.env)
        return result.exit_code, result.output

    def json(self, *args: str) -> tuple[int, Any]:
        code, output = self(*args, "--json")
        return code, json.loads(output)

    def register(self, text: str, out: Path) -> Path:
        code, data = self.json("register", "--text", text, "--out", str(out))
        assert code == 0, data
        return Path(data["works"][0]["certificate"])


def new_home(anvil: AnvilNode, tmp_path: Path, name: str, origin: str) -> Cli:
    cli = Cli(tmp_path / name, chain_key(name))
    code, data = cli.json("init", "--origin", origin)
    assert code == 0, data
    code, data = cli.json("chain", "key")
    assert code == 0, data
    anvil.rpc("anvil_setBalance", data["address"], hex(10**20))
    return cli


@pytest.fixture
def cli(anvil: AnvilNode, tmp_path: Path, request: pytest.FixtureRequest) -> Cli:
    cli = new_home(anvil, tmp_path, "registry", f"cli.test/{request.node.name}")
    rpc = ("--rpc", anvil.url, "--chain-id", str(ANVIL_CHAIN_ID))
    code, data = cli.json("chain", "deploy", *rpc)
    assert code == 0, data
    assert data["chain_id"] == f"eip155:{ANVIL_CHAIN_ID}"
    assert data["anchorer"] == cli.json("chain", "key")[1]["address"]
    return cli


def test_deploy_saves_the_settings_but_never_the_key(cli: Cli) -> None:
    config = json.loads((cli.home / "config.json").read_text())
    assert config["chain"]["chain_id"] == ANVIL_CHAIN_ID
    assert config["chain"]["contract_address"].startswith("0x")
    assert cli.key.removeprefix("0x") not in (cli.home / "config.json").read_text()
    assert not (cli.home / "chain.key").exists()
    code, output = cli("chain", "deploy")
    assert code == 13 and "already anchors" in output


def test_a_certificate_upgraded_by_refresh_verifies_on_chain(
    cli: Cli, anvil: AnvilNode, tmp_path: Path
) -> None:
    cert = cli.register("The first poem.", tmp_path / "certs")
    code, output = cli("certificate", "refresh", str(cert))
    assert code == NotFound.exit_code and "no anchor covers" in output
    cli.register("The second poem.", tmp_path / "certs")
    cli.register("The third poem.", tmp_path / "certs")
    code, anchored = cli.json("anchor")
    assert code == 0 and anchored["created"] and anchored["size"] == 3, anchored
    code, again = cli.json("anchor")
    assert code == 0 and not again["created"]

    code, refreshed = cli.json("certificate", "refresh", str(cert))
    assert code == 0, refreshed
    [receipt] = refreshed["added"]
    assert receipt["chain"] == f"eip155:{ANVIL_CHAIN_ID}"
    assert (receipt["size"], receipt["tx_hash"]) == (3, anchored["tx_hash"])

    code, report = cli.json("verify", str(cert), "--rpc", anvil.url)
    assert code == 0 and report["ok"], report
    rows = {c["name"]: c for c in report["checks"]}
    assert rows["anchor"]["status"] == "ok" and rows["chain"]["status"] == "ok"

    # Offline, the output says what the chain was not asked.
    code, output = cli("verify", str(cert))
    assert code == 0 and "not checked on chain" in output and "skipped" in output

    code, output = cli("verify", str(cert), "--rpc", anvil.url, "--confirmations", "5")
    assert code == VerificationError.exit_code and "5 required" in output
    anvil.rpc("anvil_mine", hex(4))
    code, output = cli("verify", str(cert), "--rpc", anvil.url, "--confirmations", "5")
    assert code == 0, output

    # A verifier that trusts the log but not the contract does not count its anchors.
    verifier = Cli(tmp_path / "verifier", cli.key)
    assert verifier("trust", "add-log", cli("log", "key")[1].strip())[0] == 0
    code, output = verifier("verify", str(cert), "--rpc", anvil.url)
    assert code == VerificationError.exit_code and "not trusted" in output, output
    contract = receipt["contract"]
    assert verifier("trust", "add-chain", receipt["chain"], contract.lower())[0] == 0
    code, report = verifier.json("verify", str(cert), "--rpc", anvil.url)
    assert code == 0 and report["trust_root"]["chains"] == [
        {"chain": receipt["chain"], "contract": contract}
    ], report


def test_a_root_that_was_never_anchored_fails(cli: Cli, anvil: AnvilNode, tmp_path: Path) -> None:
    cert = cli.register("Anchored later.", tmp_path)
    cli.register("And one more.", tmp_path)
    assert cli("anchor")[0] == 0
    assert cli("certificate", "refresh", str(cert))[0] == 0
    held = Certificate.from_json(cert.read_bytes())
    # The certificate's own checkpoint (size 1), presented as anchored: its proof holds
    # offline, but the chain only ever held size 2.
    [genuine] = held.anchors
    own_root = bytes.fromhex(
        cli.json("log", "proof", "--inclusion", "0", "--size", "1")[1]["root_hash"]
    )
    forged = AnchorReceipt(
        genuine.anchor.__class__(**{**genuine.anchor.__dict__, "size": 1, "root": own_root}), ()
    )
    path = tmp_path / "forged.cert.json"
    path.write_bytes(replace(held, anchors=(forged,)).to_json())
    assert cli("verify", str(path))[0] == 0  # offline nothing contradicts it
    code, output = cli("verify", str(path), "--rpc", anvil.url)
    assert code == VerificationError.exit_code
    assert "never anchored" in output


def test_a_certificate_signed_by_an_untrusted_log_key_fails(
    cli: Cli, anvil: AnvilNode, tmp_path: Path
) -> None:
    genuine = cli.register("The real poem.", tmp_path / "real")
    assert cli("anchor")[0] == 0
    assert cli("certificate", "refresh", str(genuine))[0] == 0
    receipts = Certificate.from_json(genuine.read_bytes()).anchors

    # Another log under the same origin name, with its own key, issues a certificate and
    # grafts the genuine anchor receipt onto it.
    origin = Home.open(cli.home).log_signer.name
    impostor = Cli(tmp_path / "impostor", chain_key("impostor"))
    assert impostor.json("init", "--origin", origin)[0] == 0
    fake = impostor.register("The real poem.", tmp_path / "fake")
    held = Certificate.from_json(fake.read_bytes())
    fake.write_bytes(replace(held, anchors=receipts).to_json())

    vkey = cli("log", "key")[1].strip()
    for args in (("--log-key", vkey), ()):
        code, output = cli("verify", str(fake), "--rpc", anvil.url, *args)
        assert code == ForeignLog.exit_code, output
    # Nor can that log anchor under the origin: the contract binds it to the real key.
    anvil.rpc("anvil_setBalance", impostor.json("chain", "key")[1]["address"], hex(10**20))
    contract = json.loads((cli.home / "config.json").read_text())["chain"]["contract_address"]
    impostor.env.update(
        COPYSEAL_CHAIN_RPC=anvil.url,
        COPYSEAL_CHAIN_ID=str(ANVIL_CHAIN_ID),
        COPYSEAL_CHAIN_CONTRACT=contract,
    )
    code, output = impostor("anchor")
    assert code == InvalidInput.exit_code and "not an anchorer" in output


@pytest.fixture
def loop_parts(cli: Cli) -> Iterator[tuple[Anchorer, Home]]:
    home = Home.open(cli.home)
    store, anchors = home.open_store(), home.open_anchors()
    env = {"COPYSEAL_CHAIN_KEY": cli.key}
    chain = EvmChain(load_chain_settings(home.path, home.config, env, poll_interval=0.02))
    yield (
        Anchorer(store=store, anchors=anchors, chain=chain, log_key=home.log_signer.verifier),
        home,
    )
    anchors.close()
    store.close()


def test_the_background_loop_anchors_what_is_registered(
    cli: Cli, anvil: AnvilNode, tmp_path: Path, loop_parts: tuple[Anchorer, Home]
) -> None:
    anchorer, _ = loop_parts
    loop = AnchorLoop(anchorer, AnchorSchedule(interval_s=60, every_entries=2, poll_s=0.02))
    loop.start()
    try:
        first = cli.register("Loop one.", tmp_path)
        assert cli("certificate", "refresh", str(first))[0] == NotFound.exit_code
        cli.register("Loop two.", tmp_path)
        deadline = time.monotonic() + 30
        while loop.status.last_anchor is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        loop.stop()
    assert loop.status.last_anchor is not None and loop.status.last_anchor.anchor.size == 2
    assert cli("certificate", "refresh", str(first))[0] == 0
    assert cli("verify", str(first), "--rpc", anvil.url)[0] == 0


def test_the_service_anchors_in_the_background(
    cli: Cli, anvil: AnvilNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`copyseal serve` anchors by itself; registration never waits for the chain."""
    config = json.loads((cli.home / "config.json").read_text())
    config["chain"].update(anchor_every_entries=2, anchor_interval_s=3600)
    (cli.home / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("COPYSEAL_CHAIN_KEY", cli.key)
    cert = cli.register("Registered before the service started.", tmp_path / "certs")
    cli.register("A second one, so that two entries wait.", tmp_path / "certs")
    work_id = Certificate.from_json(cert.read_bytes()).work_id
    with TestClient(create_app(cli.home)) as client:
        assert client.get("/api/v1/health").status_code == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            code, output = cli("certificate", "refresh", str(cert))
            if code == 0:
                break
            time.sleep(0.2)
        assert code == 0, output
        # The service hands out certificates with their receipts, and says so on the page.
        served = client.get(f"/api/v1/works/{work_id}/certificate").json()
        assert served["anchors"][0]["chain"] == f"eip155:{ANVIL_CHAIN_ID}"
        page = client.get(f"/certificates/{work_id}").text
        assert f"Anchored on eip155:{ANVIL_CHAIN_ID}" in page
    code, output = cli("verify", str(cert), "--rpc", anvil.url)
    assert code == 0, output
