"""Transparency figures: witness cosign latency and mirror throughput, over loopback HTTP.

Both run real processes: ``copyseal witness serve`` and ``copyseal serve``, each started on
127.0.0.1 on a free port and stopped by PID. The load is bounded in count.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.common import Figure, percentile
from bench.registry import texts
from bench.server import _free_port, start_server
from copyseal.adapters.home import Home
from copyseal.adapters.storage.sqlite import SqliteLogStore
from copyseal.adapters.tlog_client import http_fetcher
from copyseal.adapters.witness_client import request_cosignature
from copyseal.core.note import ALG_COSIGNATURE_V1, NoteVerifier
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from copyseal.services.mirror import Mirror
from copyseal.services.registry import Registry
from copyseal.services.witnessing import Cosigner, WitnessConfig

MIRROR_ENTRIES = 20_000
COSIGN_ROUNDS = 60


def _now() -> datetime:
    return datetime.now(UTC)


def _cli(*args: str) -> str:
    command = [sys.executable, "-c", "from copyseal.cli.main import main; main()", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def _register(registry: Registry, home: Home, n: int, seed: int) -> None:
    works = [WorkInput(t.encode(), TEXT_MEDIA_TYPE, "bench") for t in texts(n, seed)]
    claims = prepare_register_claims(
        works, home.keys.load("default"), clock=_now, random_bytes=os.urandom, max_bytes=1 << 20
    )
    for start in range(0, n, 5000):
        registry.register(claims[start : start + 5000])


def _log(root: Path) -> tuple[Home, Registry]:
    home = Home.init(
        root / "log",
        origin="bench.copyseal/log",
        log_seed=os.urandom(32),
        creator_seed=os.urandom(32),
    )
    return home, Registry(store=home.open_store(), log_signer=home.log_signer, clock=_now)


def _mirror(root: Path) -> list[Figure]:
    home, registry = _log(root)
    _register(registry, home, MIRROR_ENTRIES, seed=7)
    registry.close()
    registry.store.close()
    port = _free_port()
    server = start_server(home.path, port)
    try:
        rates = []
        for run in range(3):
            store = SqliteLogStore(root / f"mirror{run}.db")
            mirror = Mirror(
                store=store,
                log=home.log_signer.verifier,
                fetch=http_fetcher(f"http://127.0.0.1:{port}"),
            )
            started = time.perf_counter()
            report = mirror.sync()
            rates.append(report.fetched / (time.perf_counter() - started))
            store.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return [
        Figure(
            f"mirror throughput over HTTP ({MIRROR_ENTRIES:,} entries, every claim verified)",
            statistics.median(rates),
            "entries/s",
            "report",
        )
    ]


def _cosign(root: Path) -> list[Figure]:
    home, registry = _log(root)
    witness_home = root / "witness"
    _cli("witness", "init", "--home", str(witness_home), "--name", "bench.witness")
    _cli(
        "witness",
        "add-log",
        "--home",
        str(witness_home),
        "--vkey",
        home.log_signer.verifier.to_vkey(),
    )
    vkey = NoteVerifier.from_vkey(_cli("witness", "key", "--home", str(witness_home)).strip())
    assert vkey.alg == ALG_COSIGNATURE_V1
    port = _free_port()
    command = [
        sys.executable, "-c", "from copyseal.cli.main import main; main()",
        "witness", "serve", "--home", str(witness_home), "--port", str(port),
    ]  # fmt: skip
    witness = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url)
        client = httpx.Client(timeout=10)
        cosigner = Cosigner(
            store=registry.store,
            witnesses=[WitnessConfig(url, vkey)],
            request=lambda *a, **k: request_cosignature(*a, client=client, **k),
        )
        latencies = []
        for i in range(COSIGN_ROUNDS):
            _register(registry, home, 10, seed=100 + i)
            started = time.perf_counter()
            report = cosigner.cosign_latest()
            latencies.append((time.perf_counter() - started) * 1000)
            assert report.cosigned_by == ["bench.witness"], report.failed
    finally:
        witness.terminate()
        witness.wait(timeout=10)
        registry.close()
    name = "witness cosign latency (HTTP round trip with a consistency proof, durable)"
    return [
        Figure(f"{name}, p50", statistics.median(latencies), "ms", "report"),
        Figure(f"{name}, p95", percentile(latencies, 0.95), "ms", "report"),
    ]


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.post(f"{url}/add-checkpoint", content=b"", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"the witness at {url} did not start")


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        return _cosign(Path(tmp) / "c") + _mirror(Path(tmp) / "m")
