"""A real ``copyseal serve`` on 127.0.0.1 and a free port, for browser and fuzz tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A running server: its address, its process (uvicorn's supervisor with several
    workers), and the file its output goes to."""

    base: str
    port: int
    home: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serving(home: Path, *extra: str) -> Iterator[Served]:
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from copyseal.cli.main import main; main()",
        "serve",
        "--home",
        str(home),
        "--port",
        str(port),
        "--log-level",
        "warning",
        *extra,
    ]
    env = {**os.environ, "COPYSEAL_HOME": str(home)}
    log = home.with_name(f"{home.name}-serve-{port}.log")
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", port, home, proc, log)
    try:
        deadline = time.monotonic() + 120  # start-up imports web3 and numpy: slow under load
        while True:
            try:
                httpx.get(f"{served.base}/api/v1/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"copyseal serve did not start:\n{served.output()}"
                    ) from None
                time.sleep(0.1)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def running_server(home: Path, *extra: str) -> Iterator[str]:
    with serving(home, *extra) as served:
        yield served.base
