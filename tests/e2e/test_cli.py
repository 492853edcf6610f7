"""The CLI through its runner: every command, and each bad input's message and exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copyseal.adapters.home import Home
from copyseal.cli.main import app
from copyseal.core.keys import Signer
from copyseal.errors import (
    ContentTooLarge,
    EmptyContent,
    ForeignLog,
    InvalidInput,
    MalformedDocument,
    UnknownKey,
    UnreadablePath,
    UnsupportedVersion,
    UntrustedLog,
    VerificationError,
)
from copyseal.services.assembly import assemble
from tests.support import FakeClock, log_unadmitted, unchecked_claim
from tests.unit.fingerprint.samples import sample_image

runner = CliRunner()
VECTORS = Path(__file__).parents[1] / "vectors"


def cs(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, [*args], env={"COPYSEAL_HOME": str(home), **(env or {})})
    return result.exit_code, result.output


def cs_json(home: Path, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code, output = cs(home, *args, "--json")
    return code, json.loads(output)


@pytest.fixture
def cli_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    code, data = cs_json(home, "init", "--origin", "cli.test/log")
    assert code == 0, data
    assert data["creator"]["did"].startswith("did:key:z6Mk")
    assert data["log_key"].startswith("cli.test/log+")
    return home


def register_text(home: Path, out: Path, text: str, *extra: str) -> dict:  # type: ignore[type-arg]
    code, data = cs_json(home, "register", "--text", text, "--out", str(out), *extra)
    assert code == 0, data
    return data["works"][0]


def test_register_verify_show(cli_home: Path, tmp_path: Path) -> None:
    work = register_text(cli_home, tmp_path / "certs", "Silence, then rain.", "--title", "Rain")
    cert = Path(work["certificate"])
    content = tmp_path / "rain.txt"
    content.write_text("Silence, then rain.")
    code, report = cs_json(cli_home, "verify", str(cert), "--content", str(content))
    assert code == 0 and report["ok"]
    assert {c["name"]: c["status"] for c in report["checks"]} == {
        "log": "ok",
        "signature": "ok",
        "claim": "ok",
        "content": "ok",
        "leaf": "ok",
        "work_id": "ok",
        "inclusion": "ok",
        "checkpoint": "ok",
    }
    code, shown = cs_json(cli_home, "show", work["work_id"])
    assert code == 0 and shown["title"] == "Rain"
    code, text = cs(cli_home, "show", work["work_id"])
    assert code == 0 and "Rain" in text


def test_wrong_content_names_the_content_check(cli_home: Path, tmp_path: Path) -> None:
    work = register_text(cli_home, tmp_path, "original words")
    other = tmp_path / "other.txt"
    other.write_text("other words")
    code, output = cs(cli_home, "verify", work["certificate"], "--content", str(other))
    assert code == VerificationError.exit_code
    assert "content" in output


def test_register_many_files_and_idempotency(cli_home: Path, tmp_path: Path) -> None:
    files = []
    for i in range(60):
        f = tmp_path / f"poem{i}.txt"
        f.write_text(f"poem number {i}")
        files.append(str(f))
    png = tmp_path / "photo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    code, data = cs_json(cli_home, "register", str(png), "--out", str(tmp_path / "c"))
    assert code == MalformedDocument.exit_code and "image" in data["detail"]
    blob = tmp_path / "clip.bin"
    blob.write_bytes(bytes(range(256)) * 4)  # any media type registers, by its exact hash
    code, data = cs_json(cli_home, "register", *files, str(blob), "--out", str(tmp_path / "c"))
    assert code == 0, data
    works = data["works"]
    assert len(works) == 61 and all(w["created"] for w in works)
    assert len(list((tmp_path / "c").glob("*.cert.json"))) == 61
    code, again = cs_json(cli_home, "register", files[3], "--out", str(tmp_path / "c"))
    assert code == 0
    assert again["works"][0]["work_id"] == works[3]["work_id"]
    assert not again["works"][0]["created"]
    code, shown = cs_json(cli_home, "show", works[-1]["work_id"])
    assert shown["content"]["media_type"] == "application/octet-stream"
    assert shown["fingerprints"] == {}


def test_keys(cli_home: Path, tmp_path: Path) -> None:
    code, made = cs_json(cli_home, "keys", "new", "alice")
    assert code == 0 and made["did"].startswith("did:key:")
    key_file = cli_home / "keys" / "alice.json"
    assert key_file.stat().st_mode & 0o777 == 0o600
    code, locked = cs(
        cli_home,
        "keys",
        "new",
        "bob",
        "--passphrase",
        "--json",
        env={"COPYSEAL_PASSPHRASE": "correct horse"},
    )
    assert code == 0 and json.loads(locked)["encrypted"]
    code, listed = cs_json(cli_home, "keys", "list")
    assert [k["name"] for k in listed] == ["alice", "bob", "default"]  # type: ignore[index]
    code, exported = cs_json(cli_home, "keys", "export", "alice")
    assert exported["did"] == made["did"] and "private_key_pem" not in exported
    code, exported = cs_json(cli_home, "keys", "export", "alice", "--private")
    assert exported["private_key_pem"].startswith("-----BEGIN PRIVATE KEY-----")
    # Registering with an encrypted key needs its passphrase.
    code, _ = cs(cli_home, "register", "--text", "x", "--key", "bob", "--out", str(tmp_path))
    assert code == 3
    code, _ = cs(
        cli_home,
        "register",
        "--text",
        "x",
        "--key",
        "bob",
        "--out",
        str(tmp_path),
        env={"COPYSEAL_PASSPHRASE": "wrong"},
    )
    assert code == 3
    code, out = cs(
        cli_home,
        "register",
        "--text",
        "x",
        "--key",
        "bob",
        "--out",
        str(tmp_path),
        "--json",
        env={"COPYSEAL_PASSPHRASE": "correct horse"},
    )
    assert code == 0, out
    code, shown = cs_json(cli_home, "show", json.loads(out)["works"][0]["work_id"])
    assert shown["owner"] == json.loads(locked)["did"]


def test_log_commands(cli_home: Path, tmp_path: Path) -> None:
    for i in range(7):
        register_text(cli_home, tmp_path, f"entry {i}")
    code, vkey = cs(cli_home, "log", "key")
    vkey = vkey.strip()
    code, checkpoint = cs(cli_home, "log", "checkpoint")
    assert code == 0 and checkpoint.startswith("cli.test/log\n7\n")
    (tmp_path / "cp.txt").write_text(checkpoint)
    code, verified = cs_json(
        cli_home, "log", "verify-checkpoint", str(tmp_path / "cp.txt"), "--key", vkey
    )
    assert code == 0 and verified["checkpoint"]["size"] == 7
    code, proof = cs_json(cli_home, "log", "proof", "--inclusion", "2", "--size", "5")
    assert code == 0 and set(proof) == {"index", "tree_size", "leaf_hash", "proof", "root_hash"}
    assert proof["tree_size"] == 5 and all(len(h) == 64 for h in proof["proof"])
    code, cons = cs_json(cli_home, "log", "proof", "--consistency", "3", "7")
    assert code == 0 and set(cons) == {"old_size", "new_size", "old_root", "new_root", "proof"}
    code, audit = cs_json(cli_home, "audit")
    assert code == 0 and audit["ok"] and audit["entries"] == 7
    # A checkpoint tampered with, or checked with another key, fails.
    (tmp_path / "bad.txt").write_text(checkpoint.replace("\n7\n", "\n8\n"))
    code, _ = cs(cli_home, "log", "verify-checkpoint", str(tmp_path / "bad.txt"), "--key", vkey)
    assert code == VerificationError.exit_code


def test_verify_checkpoint_of_go_checksum_database(tmp_path: Path) -> None:
    """A real signed tree head of sum.golang.org, verified with its published key."""
    vector = json.loads((VECTORS / "transparency-dev-formats-log.json").read_text())
    note = tmp_path / "sumdb.txt"
    note.write_text(vector["sumdb_note"])
    code, data = cs_json(
        tmp_path, "log", "verify-checkpoint", str(note), "--key", vector["sumdb_vkey"]
    )
    assert code == 0, data
    assert data["verified_by"] == ["sum.golang.org"]
    assert data["checkpoint"]["size"] == vector["sumdb_size"] == 6476701
    note.write_text(vector["sumdb_note"].replace("6476701", "6476702"))
    code, _ = cs(tmp_path, "log", "verify-checkpoint", str(note), "--key", vector["sumdb_vkey"])
    assert code == VerificationError.exit_code


def test_bad_inputs_get_their_own_exit_codes(cli_home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert cs(cli_home, "register", str(empty))[0] == EmptyContent.exit_code
    assert cs(cli_home, "register", str(tmp_path / "missing"))[0] == UnreadablePath.exit_code
    assert cs(cli_home, "register", "--text", "x", "--key", "nobody")[0] == UnknownKey.exit_code
    config = json.loads((cli_home / "config.json").read_text())
    (cli_home / "config.json").write_text(json.dumps({**config, "max_content_bytes": 10}))
    big = tmp_path / "big.txt"
    big.write_text("x" * 11)
    good = tmp_path / "good.txt"
    good.write_text("fine")
    code, output = cs(cli_home, "register", str(good), str(big))
    assert code == ContentTooLarge.exit_code and "limit" in output
    (cli_home / "config.json").write_text(json.dumps(config))
    code, _ = cs(cli_home, "audit")
    assert code == 0
    code, _ = cs_json(cli_home, "log", "proof", "--inclusion", "0")
    assert code == 9  # empty log: nothing was half-written by the refused registrations


def test_files_over_the_size_limit_are_too_large_and_say_their_size(
    cli_home: Path, tmp_path: Path
) -> None:
    config = json.loads((cli_home / "config.json").read_text())
    (cli_home / "config.json").write_text(json.dumps({**config, "max_content_bytes": 1000}))
    photo = tmp_path / "photo.png"
    sample_image(1).save(photo, format="PNG")
    size = photo.stat().st_size
    for command in ("check", "register"):
        code, output = cs(cli_home, command, str(photo))
        assert code == ContentTooLarge.exit_code, output
        assert f"{size:,} bytes" in output and "1,000" in output, output


def test_titles_are_one_line_and_logged_ones_show_as_text(cli_home: Path, tmp_path: Path) -> None:
    for title in ("invoice\u202egpj.exe", "two\nlines", "bell\x07"):
        code, output = cs(cli_home, "register", "--text", "a poem", "--title", title)
        assert code == InvalidInput.exit_code and "a title is one line of text" in output
    # A title an earlier registry logged: terminal escapes, an override and Rich markup.
    spoof = "invoice\u202egpj.exe\x1b[2J [bold red]urgent[/]"
    home = Home.open(cli_home)
    stores = home.open_stores()
    node = assemble(stores, log_signer=home.log_signer, clock=FakeClock())
    try:
        signer = Signer.from_seed(b"\x03" * 32)
        [logged] = log_unadmitted(node.registry, [unchecked_claim(signer, 1, title=spoof)])
    finally:
        node.close()
        stores.close()
    code, text = cs(cli_home, "show", logged.certificate.work_id)
    assert code == 0, text
    assert "\u202e" not in text and "\x1b" not in text
    assert "invoice<U+202E>gpj.exe<U+001B>[2J [bold red]urgent[/]" in " ".join(text.split())
    code, shown = cs_json(cli_home, "show", logged.certificate.work_id)
    assert code == 0 and shown["title"] == spoof  # --json gives the title as logged
    assert cs(cli_home, "audit")[0] == 0


def test_bad_certificates(cli_home: Path, tmp_path: Path) -> None:
    work = register_text(cli_home, tmp_path, "certified")
    cert_path = Path(work["certificate"])
    raw = cert_path.read_bytes()
    cases = {
        "truncated": (raw[: len(raw) // 2], MalformedDocument),
        "not json": (b"hello", MalformedDocument),
        "duplicate key": (
            raw.replace(b'{"anchors":[],', b'{"anchors":[],"anchors":[],'),
            MalformedDocument,
        ),
        "version": (raw.replace(b'"version":1', b'"version":9'), UnsupportedVersion),
        "tampered": (raw.replace(b'"index":0', b'"index":1'), VerificationError),
    }
    for name, (data, error) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(data)
        code, output = cs(cli_home, "verify", str(path))
        assert code == error.exit_code, (name, output)
    other = tmp_path / "other"
    cs(other, "init", "--origin", "other.test/log")
    # Another log's home trusts its own log only: this certificate's log is not trusted.
    code, output = cs(other, "verify", str(cert_path))
    assert code == UntrustedLog.exit_code and "log key not trusted" in output
    code, vkey = cs(other, "log", "key")
    code, output = cs(cli_home, "verify", str(cert_path), "--log-key", vkey.strip())
    assert code == ForeignLog.exit_code and "another log" in output.lower()


def test_commands_need_a_home(tmp_path: Path) -> None:
    code, output = cs(tmp_path / "none", "register", "--text", "x")
    assert code == 9 and "copyseal init" in output
    code, _ = cs(tmp_path / "none", "init")
    assert code == 0
    code, _ = cs(tmp_path / "none", "init")
    assert code == 13


def test_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    import copyseal

    code, output = cs(tmp_path, "--version")
    assert code == 0 and output == f"copyseal {version('copyseal')}\n"
    assert copyseal.__version__ == version("copyseal")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("register",), "name files or use --text"),
        (("register", "x.txt", "--text", "a poem"), "not both"),
        (("register", "--text", "a poem", "--dispute", "000000-0000"), "--reason"),
        (("register", "--text", "p", "--private", "--derivative-of", "000000-0000"), "private"),
        (("check",), "name a file or use --text"),
        (("log", "proof"), "exactly one of --inclusion"),
        (("verify", "x.cert.json", "--quorum", "1"), "--witness"),
    ],
)
def test_missing_or_clashing_options_are_usage_errors(
    cli_home: Path, args: tuple[str, ...], named: str
) -> None:
    code, output = cs(cli_home, *args)
    assert code == 2, output
    assert "Usage:" in output and named in output, output
    code, _ = cs(cli_home, "log", "proof", "--inclusion", "0", "--json")
    assert code == 9  # nothing was registered


def test_a_passphrase_without_a_terminal_says_how_to_give_it(cli_home: Path) -> None:
    code, output = cs(cli_home, "keys", "new", "carol", "--passphrase")
    assert code == InvalidInput.exit_code, output
    assert "COPYSEAL_PASSPHRASE" in output and "terminal" in output, output
    code, listed = cs_json(cli_home, "keys", "list")
    assert "carol" not in [k["name"] for k in listed]  # type: ignore[index]


def test_counts_are_printed_in_their_number(cli_home: Path, tmp_path: Path) -> None:
    register_text(cli_home, tmp_path, "The only poem of this log.")
    code, output = cs(cli_home, "audit")
    assert code == 0 and "1 entry, 0 interior nodes, 1 checkpoint" in output, output
    code, output = cs(cli_home, "index", "rebuild")
    assert code == 0 and "index rebuilt from 1 entry" in output, output


def test_a_reformatted_certificate_verifies_and_says_so(cli_home: Path, tmp_path: Path) -> None:
    poem = tmp_path / "poem.txt"
    poem.write_text("Crème brûlée at midnight", encoding="utf-8")
    code, data = cs_json(cli_home, "register", str(poem), "--out", str(tmp_path))
    issued = Path(data["works"][0]["certificate"])
    pretty = tmp_path / "pretty.json"
    pretty.write_bytes(
        subprocess.run(
            [sys.executable, "-m", "json.tool", str(issued)], capture_output=True, check=True
        ).stdout
    )
    code, output = cs(cli_home, "verify", str(pretty), "--content", str(poem))
    assert code == 0, output
    assert "note:" in output and "same document" in output and "verified" in output
    code, report = cs_json(cli_home, "verify", str(pretty), "--content", str(poem))
    assert code == 0 and report["notes"] and report["ok"]
    code, output = cs(cli_home, "verify", str(issued), "--content", str(poem))
    assert code == 0 and "note:" not in output
    doc = json.loads(pretty.read_text())
    doc["entry"]["leaf"]["claim"]["body"]["content"]["size"] += 1
    pretty.write_text(json.dumps(doc, indent=2))
    code, output = cs(cli_home, "verify", str(pretty), "--content", str(poem))
    assert code == VerificationError.exit_code, output


def test_a_copy_with_other_line_endings_verifies_and_says_so(
    cli_home: Path, tmp_path: Path
) -> None:
    poem = tmp_path / "poem.txt"
    poem.write_bytes(b"Light rain\nthe cat asleep\n")
    code, data = cs_json(cli_home, "register", str(poem), "--out", str(tmp_path))
    cert = data["works"][0]["certificate"]
    saved_on_windows = tmp_path / "poem-crlf.txt"
    saved_on_windows.write_bytes(b"Light rain\r\nthe cat asleep\r\n")
    code, report = cs_json(cli_home, "verify", cert, "--content", str(saved_on_windows))
    assert code == 0 and report["ok"]
    [row] = [c for c in report["checks"] if c["name"] == "content"]
    assert row["detail"].startswith("content matches after normalising line endings")
    code, output = cs(cli_home, "verify", cert, "--content", str(saved_on_windows))
    assert code == 0 and "normalising" in output  # the table may fold the detail
    other = tmp_path / "other.txt"
    other.write_bytes(b"Light rain\r\nthe dog asleep\r\n")
    assert cs(cli_home, "verify", cert, "--content", str(other))[0] == VerificationError.exit_code
