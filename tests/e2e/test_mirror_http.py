"""`copyseal mirror` replicates a running `copyseal serve` over HTTP, incrementally."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from copyseal.cli.main import app
from copyseal.errors import VerificationError
from tests.e2e.server_support import running_server

runner = CliRunner()


def cs(*args: str, home: Path) -> tuple[int, str]:
    result = runner.invoke(app, [*args], env={"COPYSEAL_HOME": str(home)})
    return result.exit_code, result.output


def test_mirror_a_running_log(tmp_path: Path) -> None:
    home, mirror = tmp_path / "log", tmp_path / "mirror"
    assert cs("init", "--origin", "mirrored.test/log", home=home)[0] == 0
    for i in range(3):
        assert cs("register", "--text", f"poem {i}", "--out", str(tmp_path), home=home)[0] == 0
    vkey = cs("log", "key", home=home)[1].strip()
    with running_server(home) as base:
        code, output = cs(
            "mirror", base, "--log-key", vkey, "--home", str(mirror), "--json", home=home
        )
        assert code == 0, output
        assert json.loads(output)["new_size"] == 3
        for i in range(3, 7):
            cs("register", "--text", f"poem {i}", "--out", str(tmp_path), home=home)
        code, output = cs("mirror", base, "--home", str(mirror), "--json", home=home)
        assert code == 0, output
        report = json.loads(output)
        assert (report["old_size"], report["new_size"], report["fetched"]) == (3, 7, 4)
        # The mirror is a log store of its own: it audits clean with the log's key.
        code, _ = cs("audit", home=home)
        assert code == 0
        # A mirror refuses to follow another log's key, and says why.
        other = tmp_path / "other"
        cs("init", "--origin", "mirrored.test/log", home=other)
        wrong = cs("log", "key", home=other)[1].strip()
        code, output = cs(
            "mirror", base, "--log-key", wrong, "--home", str(tmp_path / "m2"), home=home
        )
        assert code == VerificationError.exit_code, output
        assert "no signature by a trusted key" in output
