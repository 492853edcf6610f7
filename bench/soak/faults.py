"""The soak's faults: SIGKILL a worker, or the whole server and start it again on the same
home, at random intervals, until the soak's time is up."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from bench.soak.server import Server

MODES = ("workers", "server", "mixed")
SERVER_SHARE = 0.25  # of the kills in "mixed" mode


@dataclass
class FaultLog:
    worker_kills: int = 0
    server_kills: int = 0
    restarts: int = 0
    restart_s: float = 0.0  # the time the server was down for restarts, in all


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
            log.server_kills += 1
            await asyncio.to_thread(server.start)
            log.restarts += 1
            log.restart_s += time.monotonic() - down
        elif server.kill_worker(rng) is not None:
            log.worker_kills += 1
