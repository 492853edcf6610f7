"""``copyseal witness``: the CLI through its runner, and ``witness serve`` as a real process.

The server listens on 127.0.0.1 on a free port and is stopped by its own process id.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copyseal.adapters.witness_client import request_cosignature
from copyseal.cli.main import app
from copyseal.core.note import ALG_COSIGNATURE_V1, Note, NoteVerifier, verify_note
from copyseal.errors import (
    ConflictError,
    InconsistencyError,
    MalformedDocument,
    NotFound,
    Unavailable,
)
from tests.witness_support import FakeLog

runner = CliRunner()
COPYSEAL = Path(sys.executable).parent / "copyseal"


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["witness", *args])
    return result.exit_code, result.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def serving(home: Path, log_path: Path, *, timeout: float = 30.0) -> Iterator[str]:
    """``copyseal witness serve`` in a subprocess; yields its URL, then stops it by PID."""
    port = free_port()
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                *(str(COPYSEAL), "witness", "serve", "--home", str(home)),
                *("--host", "127.0.0.1", "--port", str(port)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + timeout
        while not _listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"witness did not start:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def witness_home(tmp_path: Path) -> tuple[Path, NoteVerifier]:
    home = tmp_path / "witness"
    code, output = cli("init", "--home", str(home), "--name", "e2e.test/witness", "--json")
    assert code == 0, output
    data = json.loads(output)
    key = NoteVerifier.from_vkey(data["vkey"])
    assert key.name == "e2e.test/witness" and key.alg == ALG_COSIGNATURE_V1
    assert (home / "witness.key").stat().st_mode & 0o777 == 0o600
    code, output = cli("key", "--home", str(home))
    assert (code, output) == (0, data["vkey"] + "\n")
    return home, key


def test_cli_commands_and_their_errors(witness_home: tuple[Path, NoteVerifier]) -> None:
    home, _ = witness_home
    log = FakeLog()
    code, output = cli("add-log", "--vkey", log.vkey, "--home", str(home), "--json")
    assert code == 0 and json.loads(output) == {
        "origin": log.signer.name,
        "vkey": log.vkey,
        "added": True,
    }
    code, output = cli("add-log", "--vkey", log.vkey, "--home", str(home), "--json")
    assert code == 0 and json.loads(output)["added"] is False
    code, _ = cli("init", "--home", str(home), "--name", "again")
    assert code == ConflictError.exit_code
    code, _ = cli("add-log", "--vkey", "not+a+vkey", "--home", str(home))
    assert code == MalformedDocument.exit_code
    code, _ = cli("serve", "--home", str(home.parent / "nowhere"))
    assert code == NotFound.exit_code


@pytest.mark.slow
def test_witness_serve_end_to_end(witness_home: tuple[Path, NoteVerifier], tmp_path: Path) -> None:
    home, witness_key = witness_home
    log = FakeLog().grow(4)
    code, _ = cli("add-log", "--vkey", log.vkey, "--home", str(home))
    assert code == 0
    server_log = tmp_path / "witness.log"

    with serving(home, server_log) as url:
        lines = request_cosignature(url, 0, [], log.checkpoint(), witness=witness_key)
        note = Note.from_text(log.checkpoint()).with_signatures(lines)
        assert verify_note(note, [log.signer.verifier, witness_key]) == [
            log.signer.verifier,
            witness_key,
        ]
        log.grow(11)
        lines = request_cosignature(url, 4, log.proof(4), log.checkpoint(), witness=witness_key)
        assert len(lines) == 1
        fork = FakeLog().grow(7).grow(11, branch="fork")
        with pytest.raises(InconsistencyError) as caught:
            request_cosignature(url, 11, [], fork.checkpoint())
        assert caught.value.details["witnessed_checkpoint"] == log.checkpoint()
        assert caught.value.details["submitted_checkpoint"] == fork.checkpoint()

    with pytest.raises(Unavailable):  # stopped: nothing listens there any more
        request_cosignature(url, 11, [], log.checkpoint())

    # The record survives a restart: the witness still remembers size 11.
    log.grow(12)
    with serving(home, server_log) as url:
        with pytest.raises(ConflictError) as stale:
            request_cosignature(url, 0, [], log.checkpoint())
        size = stale.value.details["latest_size"]
        assert size == 11
        request_cosignature(url, size, log.proof(size), log.checkpoint(), witness=witness_key)
