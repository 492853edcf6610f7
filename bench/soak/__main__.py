"""Soak ``copyseal serve`` under registration load while its processes are killed, then
check the home: ``.venv/bin/python -m bench.soak --seconds 120 --workers 2 --clients 32``.

The server runs on a fresh home in a temporary directory, on 127.0.0.1; this process drives
it (``load.py``) and, at random intervals, SIGKILLs one of its workers or, with ``--mode
server`` or ``mixed``, the whole server, which it then starts again on the same home
(``faults.py``). When the time is up the clients finish what they sent, the server is
stopped (SIGTERM in ``workers`` mode, else one more SIGKILL), and the home is checked
(``checks.py``): nothing acknowledged lost, nothing logged twice, the log audits clean, the
folds catch up and equal a rebuild. It prints a table and exits 1 if any of that failed, if
the service answered any request with a 500, or if a work sent was still unanswered two
minutes after the time was up (the service hung).

Options: ``--seconds`` (60), ``--workers`` (2), ``--clients`` (32), ``--mode workers|server|
mixed`` (mixed), ``--kill-every MIN:MAX`` seconds between kills (2:6), ``--seed``, ``--json``
(the figures as JSON on stdout), ``--keep`` (keep the home and the server's log).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.soak.checks import Findings, check_home
from bench.soak.faults import MODES, FaultLog, inject
from bench.soak.load import Plan, Tally, client, open_accounts
from bench.soak.server import Server

GRACE_S = 120.0  # how long the clients may take to settle what they sent once time is up


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--mode", choices=MODES, default="mixed")
    parser.add_argument("--kill-every", default="2:6", metavar="MIN:MAX")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args(argv)
    low, _, high = args.kill_every.partition(":")
    args.every = (float(low), float(high or low))
    if not 0 < args.every[0] <= args.every[1]:
        parser.error("--kill-every needs 0 < MIN ≤ MAX")
    return args


async def _soak(args: argparse.Namespace, server: Server, tally: Tally, faults: FaultLog) -> float:
    """Run the load and the faults; the seconds until every client had settled."""
    rng = random.Random(args.seed)
    # The faults draw from their own generator, so a seed fixes which kills come in order,
    # however the clients' requests interleave.
    fault_rng = random.Random(None if args.seed is None else args.seed + 1)
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits) as http:
        plan = Plan(rng, await open_accounts(http, rng))
        start = time.monotonic()
        until = start + args.seconds
        killing = asyncio.create_task(
            inject(server, faults, rng=fault_rng, mode=args.mode, every=args.every, until=until)
        )
        settle = until + GRACE_S
        reporting = asyncio.create_task(_progress(tally, faults, start))
        clients = [
            client(http, plan, tally, until=until, give_up_at=settle) for _ in range(args.clients)
        ]
        await asyncio.gather(*clients)
        await killing
        reporting.cancel()
        return time.monotonic() - start


async def _progress(tally: Tally, faults: FaultLog, start: float) -> None:
    """A line on stderr every 10 s, so a long soak shows it is alive."""
    while True:
        await asyncio.sleep(10)
        print(
            f"{time.monotonic() - start:6.0f} s: {len(tally.acks)} acknowledged, "
            f"{tally.sent} requests, {faults.worker_kills} worker kills, "
            f"{faults.restarts} restarts",
            file=sys.stderr,
        )


def _figures(
    args: argparse.Namespace,
    tally: Tally,
    faults: FaultLog,
    found: Findings,
    took: float,
    unlogged: list[dict[str, float]],
) -> dict[str, Any]:
    return {
        "seconds": round(took, 1),
        "workers": args.workers,
        "clients": args.clients,
        "mode": args.mode,
        "requests_sent": tally.sent,
        "works_submitted": tally.submitted,
        "acknowledged": len(tally.acks),
        "refused": dict(sorted(tally.refused.items())),
        "refused_for_good": tally.final_refusals,
        "unsettled": tally.unsettled,
        "internal_errors": tally.refused.get("500", 0) + tally.refused.get("500 (item)", 0),
        "lost": len(found.lost),
        "duplicated": len(found.duplicated),
        "worker_kills": faults.worker_kills,
        "worker_deaths_unlogged": unlogged,
        "server_kills": len(faults.server_kills),
        "restarts": faults.restarts,
        "restart_seconds": round(faults.restart_s, 1),
        "throughput_per_s": round(len(tally.acks) / took, 1),
        "log_entries": found.entries,
        "folds_behind": found.behind,
        "audit": found.audit,
        "folds": "; ".join(found.folds) or "caught up, equal to a rebuild",
        "examples": (found.lost + found.duplicated)[:10],
    }


def _table(figures: dict[str, Any]) -> Table:
    table = Table("figure", "value", title="copyseal soak")
    for name, value in figures.items():
        if name == "examples" and not value:
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
        elif isinstance(value, list):
            value = "\n".join(_line(item) for item in value) or "none"
        table.add_row(name.replace("_", " "), str(value))
    return table


def _line(item: Any) -> str:
    if isinstance(item, dict):
        return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in item.items())
    return str(item)


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    tmp = Path(tempfile.mkdtemp(prefix="copyseal-soak-"))
    server = Server(tmp / "home", args.workers, tmp / "serve.log")
    tally, faults = Tally(), FaultLog()
    try:
        server.start()
        try:
            took = asyncio.run(_soak(args, server, tally, faults))
        finally:
            ended = time.monotonic()
            # Killed once more at the end, unless only workers were to be: the checks then
            # see the home as a crash leaves it (WAL not copied back, folds as they were).
            if args.mode == "workers":
                server.stop()
            else:
                server.kill_all()
        checking = time.monotonic()
        found = check_home(server.home, tally.acks.values(), tally.conflicting)
        print(f"checked the home in {time.monotonic() - checking:.0f} s", file=sys.stderr)
        log = server.log.read_text(errors="replace")
        figures = _figures(args, tally, faults, found, took, faults.unlogged(log, ended))
    finally:
        if args.keep:
            print(f"home kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        Console(emoji=False, highlight=False).print(_table(figures))
    failed = not found.ok or figures["internal_errors"] or tally.unsettled or not tally.acks
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
