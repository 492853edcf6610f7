"""HTTP service figures, measured from a second process over loopback.

``copyseal serve`` runs in a child process on 127.0.0.1 (a fresh home, rate limits off so the
load is not refused); this process drives it with keep-alive HTTP/1.1 connections, each one a
client that sends its next request when the last is answered. Claims are signed here, before
the clock starts, by a few self-custody keys, as a CLI user's claims would be. Every run is
bounded in requests and in seconds, and the server is stopped at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.common import Figure, percentile
from bench.registry import texts
from copyseal.core.keys import Signer
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims

HOST = "127.0.0.1"
CLIENTS = (1, 16, 64)
REQUESTS = {1: 400, 16: 4000, 64: 8000}
TIME_LIMIT_S = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-c",
        "from copyseal.cli.main import main; main()",
        "serve",
        "--home",
        str(home),
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-rate-limit",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://{HOST}:{port}/api/v1/health", timeout=1).raise_for_status()
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def signed_claims(n: int, seed: int) -> list[bytes]:
    """``n`` request bodies, each a register claim signed by one of eight creator keys."""
    signers = [Signer.from_seed(os.urandom(32)) for _ in range(8)]
    bodies = []
    corpus = [f"{uuid.uuid4()} {t}" for t in texts(n, seed)]
    for i, signer in enumerate(signers):
        works = [WorkInput(t.encode(), TEXT_MEDIA_TYPE, "bench") for t in corpus[i :: len(signers)]]
        claims = prepare_register_claims(
            works,
            signer,
            clock=lambda: datetime.now(UTC),
            random_bytes=os.urandom,
            max_bytes=1 << 20,
        )
        bodies += [json.dumps({"claim": c.to_dict()}).encode() for c in claims]
    return bodies


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


def post(path: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/html\r\n\r\n".encode()


async def _drive(port: int, requests: list[bytes], clients: int) -> tuple[list[float], float]:
    """Send ``requests`` over ``clients`` connections; latencies (s) and wall time."""
    queue = iter(requests)
    latencies: list[float] = []
    deadline = time.monotonic() + TIME_LIMIT_S

    async def client() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            for request in queue:
                if time.monotonic() > deadline:
                    return
                start = time.perf_counter()
                status = await _exchange(reader, writer, request)
                if status >= 400:
                    raise RuntimeError(f"request failed with {status}")
                latencies.append(time.perf_counter() - start)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, time.perf_counter() - start


def _latency_figures(name: str, latencies: list[float], target: str = "") -> list[Figure]:
    return [
        Figure(f"{name}, p50", percentile(latencies, 0.50) * 1000, "ms"),
        Figure(f"{name}, p95", percentile(latencies, 0.95) * 1000, "ms", target),
    ]


def _registrations(port: int) -> tuple[list[Figure], str]:
    figures = []
    work_id = ""
    for clients in CLIENTS:
        bodies = signed_claims(REQUESTS[clients], seed=clients)
        requests = [post("/api/v1/register", b) for b in bodies]
        latencies, wall = asyncio.run(_drive(port, requests, clients))
        target = "≥ 1,500" if clients == 64 else ""
        figures.append(
            Figure(
                f"registrations/s over HTTP, {clients} client(s), durable",
                len(latencies) / wall,
                "/s",
                target,
                f"{len(latencies)} requests",
            )
        )
        p95 = "≤ 100 ms" if clients == 64 else ""
        figures += _latency_figures(f"register latency, {clients} client(s)", latencies, p95)
    with httpx.Client(base_url=f"http://{HOST}:{port}") as http:
        work_id = http.get("/api/v1/works", params={"limit": 1}).json()["items"][0]["work_id"]
    return figures, work_id


def _reads(port: int, work_id: str) -> list[Figure]:
    page = [get(f"/certificates/{work_id}")] * 300
    latencies, _ = asyncio.run(_drive(port, page, 1))
    figures = _latency_figures("certificate page render, 1 client", latencies, "≤ 50 ms")
    with httpx.Client(base_url=f"http://{HOST}:{port}") as http:
        cert = http.get(f"/certificates/{work_id}.json").content
    boundary = "copysealbench"
    form = (
        (
            f"--{boundary}\r\nContent-Disposition: form-data; name=certificate; "
            f'filename="c.json"\r\nContent-Type: application/json\r\n\r\n'
        ).encode()
        + cert
        + f"\r\n--{boundary}--\r\n".encode()
    )
    verify = [post("/api/v1/verify", form, f"multipart/form-data; boundary={boundary}")] * 300
    latencies, _ = asyncio.run(_drive(port, verify, 1))
    return figures + _latency_figures("verify endpoint, 1 client", latencies, "report")


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        proc = start_server(Path(tmp) / "home", port)
        try:
            figures, work_id = _registrations(port)
            return figures + _reads(port, work_id)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
