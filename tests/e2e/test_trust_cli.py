"""`copyseal verify` against trust roots, and `copyseal trust`, through the CLI's runner."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from copyseal.core.certificate import Certificate
from copyseal.core.note import ALG_COSIGNATURE_V1, Note, NoteSigner, NoteVerifier
from copyseal.core.trust import TrustedLog, TrustRoot
from copyseal.errors import (
    ForeignLog,
    InvalidInput,
    MalformedDocument,
    NotFound,
    UnsupportedVersion,
    UntrustedLog,
    VerificationError,
)
from tests.e2e.server_support import running_server
from tests.e2e.test_cli import cs, cs_json, register_text

ORIGIN = "trust.test/log"
WITNESS = NoteSigner("witness.test/w1", b"\x31" * 32, alg=ALG_COSIGNATURE_V1)


def make_log(tmp_path: Path, name: str, origin: str = ORIGIN) -> tuple[Path, str, Path]:
    """A log's home, its verifier key, and a certificate it issued."""
    home = tmp_path / name
    assert cs_json(home, "init", "--origin", origin)[0] == 0
    cert = Path(
        register_text(home, tmp_path / f"{name}-certs", f"a poem logged by {name}")["certificate"]
    )
    return home, cs(home, "log", "key")[1].strip(), cert


def key_id(vkey: str) -> str:
    return vkey.split("+")[1]


@pytest.fixture
def log(tmp_path: Path) -> tuple[Path, str, Path]:
    return make_log(tmp_path, "registry")


def test_no_trusted_key_is_exit_11_naming_the_key(
    log: tuple[Path, str, Path], tmp_path: Path
) -> None:
    _, vkey, cert = log
    code, output = cs(tmp_path / "verifier", "verify", str(cert))
    assert code == UntrustedLog.exit_code == 11
    assert "log key not trusted" in output and key_id(vkey) in output and ORIGIN in output
    assert "/.well-known/copyseal/trust.json" in output and "copyseal trust add-log" in output
    code, data = cs_json(tmp_path / "verifier", "verify", str(cert))
    assert code == 11 and data["error"] == "UntrustedLog" and data["key_id"] == key_id(vkey)


def test_unsafe_trust_of_the_certificates_key_says_so(
    log: tuple[Path, str, Path], tmp_path: Path
) -> None:
    _, _, cert = log
    code, output = cs(tmp_path / "verifier", "verify", str(cert), "--unsafe-trust-certificate-key")
    assert code == 0
    assert "verified against the certificate's own, untrusted log key" in output
    assert "verified\n" not in output  # never the plain verdict
    code, data = cs_json(tmp_path / "v", "verify", str(cert), "--unsafe-trust-certificate-key")
    assert code == 0 and data["log_trusted"] is False
    log_row = next(c for c in data["checks"] if c["name"] == "log")
    assert log_row["status"] == "skipped" and log_row["detail"].startswith("untrusted")


def test_log_key_on_the_command_line_is_trusted(
    log: tuple[Path, str, Path], tmp_path: Path
) -> None:
    _, vkey, cert = log
    code, data = cs_json(tmp_path / "verifier", "verify", str(cert), "--log-key", vkey)
    assert (
        code == 0
        and data["ok"]
        and data["log_trusted"]
        and data["trust_root"]["source"] == "--log-key"
    )
    code, _ = cs(
        tmp_path / "v", "verify", str(cert), "--log-key", vkey, "--unsafe-trust-certificate-key"
    )
    assert code == 2  # options that exclude each other: a usage error


def test_a_verifier_keeps_a_root_without_init(log: tuple[Path, str, Path], tmp_path: Path) -> None:
    _, vkey, cert = log
    verifier = tmp_path / "verifier"
    code, added = cs_json(verifier, "trust", "add-log", vkey, "--url", "https://trust.test")
    assert code == 0 and added["key_id"] == key_id(vkey)
    assert sorted(p.name for p in verifier.iterdir()) == ["trust.json"]
    code, output = cs(verifier, "verify", str(cert))
    assert code == 0 and output.rstrip().splitlines()[-2] == "verified"
    root = TrustRoot.from_json((verifier / "trust.json").read_bytes())
    assert f"trust root {root.root_id}" in output
    code, listed = cs_json(verifier, "trust", "list")
    assert code == 0 and listed["trust_root"]["id"] == root.root_id
    assert listed["trust_root"]["logs"] == [
        {"origin": ORIGIN, "key_id": key_id(vkey), "url": "https://trust.test"}
    ]
    code, text = cs(verifier, "trust", "list")
    assert key_id(vkey) in text and "https://trust.test" in text
    # Removed by its key ID, the log is untrusted again.
    code, removed = cs_json(verifier, "trust", "remove", key_id(vkey))
    assert code == 0 and removed["removed"] == [f"log {ORIGIN} (key ID {key_id(vkey)})"]
    assert cs(verifier, "verify", str(cert))[0] == UntrustedLog.exit_code
    assert cs(verifier, "trust", "remove", key_id(vkey))[0] == NotFound.exit_code


def test_a_look_alike_log_is_exit_12_naming_both_key_ids(
    log: tuple[Path, str, Path], tmp_path: Path
) -> None:
    home, vkey, _ = log
    _, fake_vkey, fake_cert = make_log(tmp_path, "impostor")  # the same origin, its own key
    assert key_id(fake_vkey) != key_id(vkey)
    for args in ((), ("--unsafe-trust-certificate-key",)):
        code, output = cs(home, "verify", str(fake_cert), *args)
        assert code == ForeignLog.exit_code == 12, output
        assert key_id(vkey) in output and key_id(fake_vkey) in output and "same name" in output
    verifier = tmp_path / "verifier"
    assert cs(verifier, "trust", "add-log", vkey)[0] == 0
    code, data = cs_json(verifier, "verify", str(fake_cert))
    assert (
        code == 12
        and data["trusted_key_ids"] == [key_id(vkey)]
        and data["key_id"] == key_id(fake_vkey)
    )


def test_the_homes_own_log_is_trusted_by_default_and_stays(log: tuple[Path, str, Path]) -> None:
    home, vkey, cert = log
    assert not (home / "trust.json").exists()
    assert cs(home, "verify", str(cert))[0] == 0
    code, output = cs(home, "trust", "add-log", vkey)
    assert code == InvalidInput.exit_code and "own log" in output
    code, output = cs(home, "trust", "remove", key_id(vkey))
    assert code == InvalidInput.exit_code and "trusted by default" in output
    code, listed = cs_json(home, "trust", "list")
    assert listed["own"]["logs"][0]["key_id"] == key_id(vkey) and listed["listed"]["logs"] == []


def test_a_trust_file_replaces_the_homes_root(log: tuple[Path, str, Path], tmp_path: Path) -> None:
    home, vkey, cert = log
    other_home, other_vkey, _ = make_log(tmp_path, "other", "other.test/log")
    only_other = tmp_path / "other-root.json"
    only_other.write_bytes(
        TrustRoot((TrustedLog.of(NoteVerifier.from_vkey(other_vkey)),)).to_json()
    )
    code, output = cs(home, "verify", str(cert), "--trust", str(only_other))
    assert code == UntrustedLog.exit_code, output
    both = tmp_path / "both.json"
    both.write_bytes(
        TrustRoot(
            (
                TrustedLog.of(NoteVerifier.from_vkey(vkey)),
                TrustedLog.of(NoteVerifier.from_vkey(other_vkey)),
            )
        ).to_json()
    )
    code, data = cs_json(other_home, "verify", str(cert), "--trust", str(both))
    assert code == 0 and data["trust_root"]["source"] == f"file {both}"


def test_malformed_roots_are_refused(log: tuple[Path, str, Path], tmp_path: Path) -> None:
    home, vkey, cert = log
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "copyseal/trust-root", "version": 1, "logs": []}')
    assert cs(home, "verify", str(cert), "--trust", str(bad))[0] == MalformedDocument.exit_code
    future = TrustRoot().to_dict() | {"version": 2}
    bad.write_text(json.dumps(future))
    assert cs(home, "verify", str(cert), "--trust", str(bad))[0] == UnsupportedVersion.exit_code
    (home / "trust.json").write_text("{")
    code, output = cs(home, "verify", str(cert))
    assert code == MalformedDocument.exit_code and "trust.json" in output
    assert cs(home, "trust", "list")[0] == MalformedDocument.exit_code
    assert cs(tmp_path / "v", "trust", "add-log", "not a key")[0] == InvalidInput.exit_code
    code, output = cs(tmp_path / "v", "trust", "add-witness", vkey)
    assert code == InvalidInput.exit_code and "0x04" in output
    assert (
        cs(tmp_path / "v", "trust", "add-log", vkey, "--url", "ftp://x")[0]
        == InvalidInput.exit_code
    )


def cosigned(cert: Path, tmp_path: Path) -> Path:
    """The certificate with a cosignature of WITNESS on its checkpoint."""
    held = Certificate.from_json(cert.read_bytes())
    note = Note.from_text(held.checkpoint)
    line = WITNESS.cosign_line(note.text, int(time.time()))
    path = tmp_path / "cosigned.cert.json"
    path.write_bytes(replace(held, checkpoint=note.with_signatures([line]).to_text()).to_json())
    return path


def test_the_roots_witness_quorum_applies_by_default(
    log: tuple[Path, str, Path], tmp_path: Path
) -> None:
    _, vkey, cert = log
    verifier = tmp_path / "verifier"
    assert cs(verifier, "trust", "add-log", vkey)[0] == 0
    code, output = cs(verifier, "trust", "add-witness", WITNESS.verifier.to_vkey(), "--quorum", "2")
    assert code == InvalidInput.exit_code and "--quorum 2" in output
    code, added = cs_json(verifier, "trust", "add-witness", WITNESS.verifier.to_vkey())
    assert code == 0 and added["quorum"] == 1
    code, data = cs_json(verifier, "verify", str(cert))
    assert code == VerificationError.exit_code and data["check"] == "witnesses"
    code, data = cs_json(verifier, "verify", str(cosigned(cert, tmp_path)))
    assert code == 0, data
    witnesses = next(c for c in data["checks"] if c["name"] == "witnesses")
    assert witnesses["status"] == "ok" and "witness.test/w1" in witnesses["detail"]
    # --witness on the command line replaces the root's witnesses.
    other = NoteSigner("witness.test/w2", b"\x32" * 32, alg=ALG_COSIGNATURE_V1).verifier
    code, _ = cs(verifier, "verify", str(cosigned(cert, tmp_path)), "--witness", other.to_vkey())
    assert code == VerificationError.exit_code
    assert cs(verifier, "trust", "remove", "witness.test/w1")[0] == 0
    assert cs(verifier, "verify", str(cert))[0] == 0


def test_trust_import_from_a_file_says_what_it_added(
    log: tuple[Path, str, Path], tmp_path: Path
) -> None:
    _, vkey, cert = log
    shared = tmp_path / "shared.json"
    shared.write_bytes(
        TrustRoot((TrustedLog.of(NoteVerifier.from_vkey(vkey)),), (WITNESS.verifier,), 1).to_json()
    )
    verifier = tmp_path / "verifier"
    code, output = cs(verifier, "trust", "import", str(shared))
    assert code == 0
    assert f"added log     {key_id(vkey)}  {ORIGIN}" in output
    assert f"added witness {WITNESS.verifier.key_id.hex()}  witness.test/w1" in output
    assert "witness quorum 0 → 1" in output and "trust decision" in output
    code, output = cs(verifier, "trust", "import", str(shared))
    assert code == 0 and "nothing new" in output
    assert cs(verifier, "verify", str(cosigned(cert, tmp_path)))[0] == 0


@pytest.mark.slow
def test_trust_import_from_a_running_service(log: tuple[Path, str, Path], tmp_path: Path) -> None:
    home, vkey, cert = log
    verifier = tmp_path / "verifier"
    with running_server(home, "--workers", "1") as base:
        code, data = cs_json(verifier, "trust", "import", base)
    assert code == 0, data
    assert data["source"] == f"{base}/.well-known/copyseal/trust.json"
    assert data["added"]["logs"] == [{"origin": ORIGIN, "key_id": key_id(vkey), "vkey": vkey}]
    assert "trust decision" in data["warning"]
    code, output = cs(verifier, "verify", str(cert))
    assert code == 0 and "verified" in output
