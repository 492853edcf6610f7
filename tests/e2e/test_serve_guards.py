"""``copyseal serve`` against clients that misbehave, and a home or a worker that fails.

Each test runs a real server process and talks to it over loopback: forwarded addresses
from an untrusted peer, headers and bodies that stall or trickle, more connections than
allowed, a home that refuses writes, a worker killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from copyseal.adapters.home import Home
from copyseal.core.keys import Signer
from copyseal.server.ratelimit import DEFAULT_RATES
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from tests.e2e.server_support import Served, serving

pytestmark = pytest.mark.xdist_group("serve-guards")  # one process starts each server

GENEROUS_S = 30.0  # a deadline for the test to give up, never an expected duration


def _home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    Home.init(path, origin="test.copyseal/guards", log_seed=os.urandom(32), creator_seed=b"\1" * 32)
    return path


def _until_limited(http: httpx.Client, forwarded_for: Iterator[str], most: int) -> int | None:
    """Requests for a token by password (an ``auth`` request: 10 at once, then one per 5 s)
    sent until the first 429; None if ``most`` were not refused. The empty body is refused
    after the rate check, without a password hash."""
    for sent, address in enumerate(forwarded_for, start=1):
        response = http.post("/api/v1/tokens", json={}, headers={"X-Forwarded-For": address})
        if response.status_code == 429:
            assert response.headers["retry-after"]
            return sent
        assert response.status_code in (400, 422), response.text
        if sent == most:
            return None
    return None


def _rotating() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"198.51.100.{n % 250 + 1}"


def _same(address: str) -> Iterator[str]:
    while True:
        yield address


AUTH_BURST = DEFAULT_RATES["auth"].burst


def test_forwarded_addresses_from_an_untrusted_peer_do_not_count(impatient: Served) -> None:
    # From loopback, with no proxy configured, X-Forwarded-For is the client's own claim:
    # rotating it does not buy fresh buckets.
    with httpx.Client(base_url=impatient.base) as http:
        assert _until_limited(http, _rotating(), most=3 * AUTH_BURST) is not None


def test_forwarded_addresses_from_a_trusted_proxy_name_the_client(proxied: Served) -> None:
    with httpx.Client(base_url=proxied.base) as http:
        assert _until_limited(http, _rotating(), most=3 * AUTH_BURST) is None
        assert _until_limited(http, _same("203.0.113.9"), most=3 * AUTH_BURST) is not None


@pytest.fixture(scope="session")  # once per test process, however the tests interleave
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = _home(tmp_path_factory.mktemp("proxied"))
    extra = ("--workers", "1", "--trusted-proxy", "127.0.0.1/32", "--max-connections", "4")
    with serving(home, *extra) as served:
        yield served


@pytest.fixture(scope="session")  # once per test process, however the tests interleave
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = _home(tmp_path_factory.mktemp("impatient"))
    extra = ("--workers", "1", "--header-timeout", "2", "--body-timeout", "2")
    with serving(home, *extra) as served:
        yield served


def _read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(GENEROUS_S)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@contextmanager
def _trickling(sock: socket.socket, byte: bytes) -> Iterator[None]:
    """Send ``byte`` every 0.2 s, as a slow client does, until the server hangs up."""
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(0.2):
            try:
                sock.sendall(byte)
            except OSError:
                return

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        yield
    finally:
        stop.set()
        sender.join()


@pytest.mark.parametrize("trickle", [False, True], ids=["stalled", "trickled"])
def test_headers_that_do_not_arrive_in_time_lose_the_connection(
    impatient: Served, trickle: bool
) -> None:
    with socket.create_connection(("127.0.0.1", impatient.port)) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        if trickle:
            with _trickling(sock, b"a"):
                received = _read_to_close(sock)
        else:
            received = _read_to_close(sock)
    assert received == b"" or received.startswith(b"HTTP/1.1 408 "), received


@pytest.mark.parametrize("trickle", [False, True], ids=["stalled", "trickled"])
def test_a_body_that_does_not_arrive_in_time_gets_408(impatient: Served, trickle: bool) -> None:
    head = (
        b"POST /api/v1/register HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", impatient.port)) as sock:
        sock.sendall(head + b'{"text": "')
        if trickle:
            with _trickling(sock, b"a"):
                received = _read_to_close(sock)
        else:
            received = _read_to_close(sock)
    status, _, rest = received.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout", received
    assert b"request-timeout" in rest and b"connection: close" in rest.lower()


def test_connections_beyond_the_limit_get_503(proxied: Served) -> None:
    idle = [socket.create_connection(("127.0.0.1", proxied.port)) for _ in range(4)]
    try:
        refused = httpx.get(f"{proxied.base}/api/v1/health")
    finally:
        for sock in idle:
            sock.close()
    assert refused.status_code == 503
    deadline = time.monotonic() + GENEROUS_S
    while httpx.get(f"{proxied.base}/api/v1/health").status_code != 200:
        assert time.monotonic() < deadline, "the idle connections were never let go"
        time.sleep(0.1)


def _claims(count: int) -> list[dict[str, object]]:
    works = [
        WorkInput(
            f"Guard post {i}: the ferry horn at dawn, {i} gulls.".encode(),
            TEXT_MEDIA_TYPE,
            f"post {i}",
        )
        for i in range(count)
    ]
    claims = prepare_register_claims(
        works,
        Signer.from_seed(os.urandom(32)),
        clock=lambda: datetime.now(UTC),
        random_bytes=os.urandom,
        max_bytes=1 << 20,
    )
    return [c.to_dict() for c in claims]


@contextmanager
def _unwritable(*paths: Path) -> Iterator[None]:
    """Make ``paths`` refuse writes. Root is not stopped by permissions, so as root the
    files get the immutable attribute (which stops root too) instead."""
    as_root = os.geteuid() == 0
    modes = {path: path.stat().st_mode for path in paths}
    for path in paths:
        if as_root:
            subprocess.run(["chattr", "+i", str(path)], check=True)
        else:
            path.chmod(modes[path] & ~0o222)
    try:
        yield
    finally:
        for path in paths:
            if as_root:
                subprocess.run(["chattr", "-i", str(path)], check=True)
            else:
                path.chmod(modes[path])


def test_a_home_that_refuses_writes_gets_503_and_one_log_line(proxied: Served) -> None:
    home = proxied.home
    first, *refused, last = _claims(6)
    with httpx.Client(base_url=proxied.base, timeout=GENEROUS_S) as http:
        assert http.post("/api/v1/register", json={"claim": first}).status_code == 201
        with _unwritable(home / "copyseal.db-writer.lock", home):
            for claim in refused:
                response = http.post("/api/v1/register", json={"claim": claim})
                assert response.status_code == 503, response.text
                assert int(response.headers["retry-after"]) >= 1
                assert response.json()["type"] == "urn:copyseal:problem:unavailable"
            assert http.get("/api/v1/log").status_code == 200  # reads still work
        # Once the home takes writes again, so does the service, without a restart.
        assert http.post("/api/v1/register", json={"claim": last}).status_code == 201
    output = proxied.output()
    assert "Traceback" not in output, output
    reports = [line for line in output.splitlines() if "cannot use the home" in line]
    assert len(reports) == 1, output
    assert "copyseal.db-writer.lock" in reports[0]


def _workers(supervisor: int) -> set[int]:
    """The worker processes uvicorn's supervisor has started (spawned Python processes)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    found = set()
    for pid in children:
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.add(int(pid))
        except FileNotFoundError:  # it has just ended
            continue
    return found


def test_a_killed_worker_is_logged_and_replaced(tmp_path: Path) -> None:
    with serving(_home(tmp_path), "--workers", "2", "--no-rate-limit") as served:
        deadline = time.monotonic() + GENEROUS_S
        while len(workers := _workers(served.proc.pid)) < 2:
            assert time.monotonic() < deadline, "two workers never started"
            time.sleep(0.1)
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        while not (lines := [ln for ln in served.output().splitlines() if f"[{victim}]" in ln]):
            assert time.monotonic() < deadline, served.output()
            time.sleep(0.1)
        assert len(lines) == 1 and "SIGKILL" in lines[0], lines
        for _ in range(4):
            assert httpx.get(f"{served.base}/api/v1/health").status_code == 200
