"""Start and stop a real EVM node (anvil, from the npm package) for the integration tests.

``npm ci`` installs it under ``node_modules/`` (package.json pins it); nothing here
downloads anything. The node listens on 127.0.0.1 only, on a free port, and is stopped by
its own process id.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
MISSING = (
    f"anvil is not installed at {ANVIL}. Run `npm ci` in {ROOT} "
    "(package.json pins it; `make test` does this first)."
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class AnvilNode:
    """One anvil process: ``with AnvilNode(chain_id=...) as node: node.url``."""

    def __init__(self, *, chain_id: int, log_path: Path, binary: Path = ANVIL) -> None:
        self.chain_id = chain_id
        self.binary = binary
        self.log_path = log_path
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self, *, timeout: float = 30.0, attempts: int = 3) -> None:
        if not self.binary.exists():
            raise FileNotFoundError(MISSING)
        for _ in range(attempts):  # another process may take the free port first
            self.port = free_port()
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [
                        str(self.binary),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(self.port),
                        "--chain-id",
                        str(self.chain_id),
                        "--silent",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
            if self._wait_until_ready(timeout):
                return
            self.stop()
        raise RuntimeError(f"anvil did not start; see {self.log_path}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def rpc(self, method: str, *params: Any) -> Any:
        """A raw JSON-RPC call, for the node's test methods (anvil_*, evm_*)."""
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        reply = requests.post(self.url, json=body, timeout=10).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result")

    def _wait_until_ready(self, timeout: float) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            with contextlib.suppress(requests.RequestException):
                if str(self.rpc("web3_clientVersion")).startswith("anvil/"):
                    return True
            time.sleep(0.05)
        return False

    def __enter__(self) -> AnvilNode:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
