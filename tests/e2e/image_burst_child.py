"""A process that serves copyseal in-process and takes a burst of large-dimension PNGs at once
on ``POST /api/v1/check/upload``; it prints its memory figures as JSON.

Run as ``python -m tests.e2e.image_burst_child HOME COUNT SIDE``. Its own process, so that
its peak resident size (``VmHWM``) is the burst's and nothing else's.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient

from copyseal.adapters.home import Home
from copyseal.server.app import create_app
from copyseal.server.ratelimit import RateLimiter
from tests.unit.fingerprint.samples import blocky_png


def memory_kib() -> dict[str, int]:
    status = Path("/proc/self/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    return {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM")}


def main(home: Path, count: int, side: int) -> None:
    Home.init(home, origin="burst.test/log", log_seed=b"\x01" * 32, creator_seed=b"\x02" * 32)
    app = create_app(home, limiter=RateLimiter(enabled=False))
    data = blocky_png(side, side, seed=1)
    with TestClient(app) as client:

        def check(content: bytes) -> tuple[int, str | None]:
            files = {"file": ("large.png", content, "image/png")}
            response = client.post("/api/v1/check/upload", files=files)
            return response.status_code, response.headers.get("retry-after")

        warm = check(blocky_png(64, 64, seed=2))  # imports and first-use costs come first
        Path("/proc/self/clear_refs").write_text("5")  # the peak from here on
        before = memory_kib()
        with ThreadPoolExecutor(count) as pool:
            answers = list(pool.map(check, [data] * count))
        after = memory_kib()
    report = {
        "warm_status": warm[0],
        "answers": answers,
        "file_bytes": len(data),
        "baseline_kib": before["VmRSS"],
        "peak_kib": after["VmHWM"],
        "after_kib": after["VmRSS"],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
