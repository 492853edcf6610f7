"""The soak's faults: SIGKILL a worker, or the whole server and start it again on the same
home, at random intervals, until the soak's time is up."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from bench.soak.server import Server

MODES = ("workers", "server", "mixed")
SERVER_SHARE = 0.25  # of the kills in "mixed" mode


@dataclass
class FaultLog:
    killed: list[tuple[float, int]] = field(default_factory=list)  # (when, PID) of workers
    server_kills: list[float] = field(default_factory=list)  # when
    restarts: int = 0
    restart_s: float = 0.0  # the time the server was down for restarts, in all

    @property
    def worker_kills(self) -> int:
        return len(self.killed)

    def unlogged(self, server_log: str, ended: float) -> list[dict[str, float]]:
        """Killed workers whose death the supervisor did not log, each with how soon after
        it the whole server was killed or stopped (``ended``). The supervisor notices a
        death between its health checks, each of which waits up to 5 s for every worker to
        answer (a worker still starting answers late), so one killed shortly before the
        whole server may go unseen."""
        missing = []
        for when, pid in self.killed:
            if f"Worker process [{pid}] was killed by signal SIGKILL" in server_log:
                continue
            after = min(t for t in [*self.server_kills, ended] if t >= when) - when
            missing.append({"pid": pid, "server_gone_after_s": round(after, 1)})
        return missing


async def inject(
    server: Server,
    log: FaultLog,
    *,
    rng: random.Random,
    mode: str,
    every: tuple[float, float],
    until: float,
) -> None:
    """Kill at intervals drawn uniformly from ``every`` (seconds) until ``until``. With one
    worker the worker is the server, so every kill is the whole server's."""
    while True:
        wait = rng.uniform(*every)
        if time.monotonic() + wait >= until:
            return
        await asyncio.sleep(wait)
        whole = (
            server.workers == 1
            or mode == "server"
            or (mode == "mixed" and rng.random() < SERVER_SHARE)
        )
        if whole:
            down = time.monotonic()
            await asyncio.to_thread(server.kill_all)
            log.server_kills.append(down)
            await asyncio.to_thread(server.start)
            log.restarts += 1
            log.restart_s += time.monotonic() - down
        elif (pid := server.kill_worker(rng)) is not None:
            log.killed.append((time.monotonic(), pid))
