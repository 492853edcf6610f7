"""One ``copyseal serve`` on 127.0.0.1 for the soak, and the faults done to it.

The server starts in a session of its own, so everything it runs (uvicorn's supervisor, its
workers, multiprocessing's resource tracker) is one process group whose ID is the server's
PID: killing "the whole server" is one ``killpg`` of that group, like a power cut to the
service. Workers are found by their parent, the supervisor, and by multiprocessing's
``spawn_main`` in their command line. Nothing here signals a process it did not start.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HOST = "127.0.0.1"
START_TIMEOUT_S = 120.0  # start-up imports numpy and fastapi: slow on a loaded machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """``copyseal serve --workers N`` on a home, restartable on the same home and port."""

    home: Path
    workers: int
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        """Start the server and wait until it answers its health check."""
        command = [
            sys.executable,
            "-c",
            "from copyseal.cli.main import main; main()",
            "serve",
            "--home",
            str(self.home),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-rate-limit",  # one client address sends everything
            "--log-level",
            "warning",
        ]
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(
                command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                httpx.get(f"{self.base}/api/v1/health", timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.kill_all()
                    raise RuntimeError(f"copyseal serve did not start; see {self.log}") from None
                time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        """The PIDs of the processes that serve requests now."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        if self.workers == 1:  # uvicorn serves in the one process, without a supervisor
            return [self.proc.pid]
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _is_worker(int(entry.name), self.proc.pid):
                found.append(int(entry.name))
        return found

    def kill_worker(self, rng: random.Random) -> int | None:
        """SIGKILL one worker, chosen at random; its PID, or None if none was running."""
        pids = self.worker_pids()
        if not pids:
            return None
        pid = rng.choice(pids)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return pid

    def kill_all(self) -> None:
        """SIGKILL the server's whole process group and wait until it is gone."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        _wait_group_gone(self.proc.pid)

    def stop(self) -> None:
        """Stop the server as an operator would (SIGTERM), or kill it if it does not stop."""
        if self.proc is None or self.proc.poll() is not None:
            self.kill_all()
            return
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=20)
        self.kill_all()


def _is_worker(pid: int, parent: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # it ended while we looked
        return False
    # The command name may hold spaces and parentheses: the fields follow the last ')'.
    ppid = int(stat.rsplit(")", 1)[1].split()[1])
    return ppid == parent and b"spawn_main" in cmdline


def _wait_group_gone(pgid: int, timeout_s: float = 10.0) -> None:
    """Wait until no process of the group is left (the workers, reparented, are reaped by
    init), so a restart finds the port and the store's locks free."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        except PermissionError:  # the group's ID was reused by another user's processes
            return
        time.sleep(0.05)
