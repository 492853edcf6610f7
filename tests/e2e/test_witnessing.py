"""The log collects witness cosignatures; certificates carry them; verify counts a quorum."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from copyseal.adapters.home import Home
from copyseal.adapters.witness_client import request_cosignature
from copyseal.cli.main import app
from copyseal.core.certificate import verify_certificate
from copyseal.core.keys import Signer
from copyseal.core.note import ALG_COSIGNATURE_V1, NoteSignature, NoteSigner
from copyseal.server.witness_app import create_witness_app
from copyseal.services.creator import WorkInput, prepare_register_claims
from copyseal.services.registry import Registry
from copyseal.services.witness import Witness
from copyseal.services.witnessing import Cosigner, WitnessConfig
from tests.support import FakeClock, seeded_bytes
from tests.witness_support import NOW, MemoryWitnessStore

URL = "http://witness.test"


class WitnessUnderTest:
    def __init__(self, name: str, seed: bytes, logs: dict[str, list[Any]]) -> None:
        self.signer = NoteSigner(name, seed, alg=ALG_COSIGNATURE_V1)
        witness = Witness(store=MemoryWitnessStore(), signer=self.signer, logs=logs)
        self.client = TestClient(create_witness_app(witness, clock=lambda: NOW), base_url=URL)
        self.config = WitnessConfig(URL, self.signer.verifier)

    def request(
        self, url: str, old: int, proof: Any, signed: Any, **kw: Any
    ) -> list[NoteSignature]:
        return request_cosignature(url, old, proof, signed, client=self.client, **kw)


def make_log(path: Path, seed: bytes = b"\x41" * 32) -> Registry:
    home = Home.init(path, origin="witnessed.test/log", log_seed=seed, creator_seed=b"\x42" * 32)
    return Registry(store=home.open_store(), log_signer=home.log_signer, clock=FakeClock())


def register(registry: Registry, texts: list[str], seed: int) -> list[str]:
    claims = prepare_register_claims(
        [WorkInput(t.encode(), "text/plain", "t") for t in texts],
        Signer.from_seed(b"\x43" * 32),
        clock=FakeClock(),
        random_bytes=seeded_bytes(seed),
        max_bytes=1 << 20,
    )
    return [r.certificate.work_id for r in registry.register(claims)]  # type: ignore[union-attr]


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Registry]:
    registry = make_log(tmp_path / "log")
    yield registry
    registry.close()


def witness_for(log: Registry, name: str, seed: bytes) -> WitnessUnderTest:
    return WitnessUnderTest(name, seed, {log.origin: [log.log_signer.verifier]})


def cosigner(log: Registry, *witnesses: WitnessUnderTest) -> Cosigner:
    def request(url: str, *args: Any, witness: Any = None) -> list[NoteSignature]:
        chosen = next(w for w in witnesses if w.signer.verifier == witness)
        return chosen.request(url, *args, witness=witness)

    return Cosigner(store=log.store, witnesses=[w.config for w in witnesses], request=request)


def test_cosigned_certificates_meet_the_quorum(log: Registry) -> None:
    alpha = witness_for(log, "alpha.witness", b"\x51" * 32)
    beta = witness_for(log, "beta.witness", b"\x52" * 32)
    [first] = register(log, ["a poem"], seed=1)
    report = cosigner(log, alpha).cosign_latest()
    assert report.cosigned_by == ["alpha.witness"] and not report.failed
    cert = log.certificate(first)
    keys = [alpha.signer.verifier, beta.signer.verifier]
    ok = verify_certificate(cert, trusted_log=log.log_signer.verifier, witnesses=keys, quorum=1)
    assert ok.ok, ok.to_dict()
    short = verify_certificate(cert, trusted_log=log.log_signer.verifier, witnesses=keys)
    assert [c.status for c in short.checks if c.name == "witnesses"] == ["failed"]
    # The log grows; both witnesses cosign the new checkpoint, alpha from its last size.
    register(log, ["a second poem", "a third"], seed=2)
    report = cosigner(log, alpha, beta).cosign_latest()
    assert sorted(report.cosigned_by) == ["alpha.witness", "beta.witness"]
    both = verify_certificate(
        log.certificate(first), trusted_log=log.log_signer.verifier, witnesses=keys, quorum=2
    )
    assert both.ok, both.to_dict()


def test_a_witness_refuses_a_fork_of_what_it_cosigned(log: Registry, tmp_path: Path) -> None:
    alpha = witness_for(log, "alpha.witness", b"\x51" * 32)
    register(log, ["honest history"], seed=1)
    assert not cosigner(log, alpha).cosign_latest().failed
    fork = make_log(tmp_path / "fork")  # the same log key, another history
    register(fork, ["rewritten history"], seed=9)
    report = cosigner(fork, alpha).cosign_latest()
    assert report.cosigned_by == [] and "alpha.witness" in report.failed
    fork.close()


def test_verify_cli_requires_the_quorum(log: Registry, tmp_path: Path) -> None:
    alpha = witness_for(log, "alpha.witness", b"\x51" * 32)
    [work] = register(log, ["checked by a witness"], seed=1)
    cosigner(log, alpha).cosign_latest()
    path = tmp_path / "cert.json"
    path.write_bytes(log.certificate(work).to_json())
    vkey, wkey = log.log_signer.verifier.to_vkey(), alpha.signer.verifier.to_vkey()
    other = NoteSigner("other.witness", b"\x53" * 32, alg=ALG_COSIGNATURE_V1).verifier.to_vkey()
    runner = CliRunner()

    def verify(*args: str) -> tuple[int, Any]:
        result = runner.invoke(app, ["verify", str(path), "--log-key", vkey, "--json", *args])
        return result.exit_code, json.loads(result.output)

    code, data = verify("--witness", wkey)
    assert code == 0, data
    code, data = verify("--witness", wkey, "--witness", other, "--quorum", "2")
    assert code == 11 and "1 of the 2" in json.dumps(data)
    code, data = verify("--witness", other)
    assert code == 11
