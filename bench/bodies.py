"""The depth scan every JSON request body passes before it is parsed, beside the parse.

Bodies as the service receives them: one signed register claim (about 1.7 KB), a batch of
signed claims padded to the 16 MiB limit of ``/register/batch``, and 16 MB of ``[],`` (the
most brackets a body can hold: the scan's worst case). Each is fed in 64 KiB pieces, as
uvicorn hands a body over.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bench.common import Figure
from bench.registry import texts
from copyseal.core.encoding import DepthScanner
from copyseal.core.keys import Signer
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims

PIECE = 64 << 10
BATCH_BYTES = 16 << 20


def _seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _scan(body: bytes) -> None:
    scanner = DepthScanner()
    for start in range(0, len(body), PIECE):
        scanner.feed(body[start : start + PIECE], final=start + PIECE >= len(body))


def _bodies() -> dict[str, bytes]:
    signer = Signer.from_seed(os.urandom(32))
    works = [WorkInput(t.encode(), TEXT_MEDIA_TYPE, "bench", "A title") for t in texts(500, 7)]
    claims = prepare_register_claims(
        works,
        signer,
        clock=lambda: datetime.now(UTC),
        random_bytes=os.urandom,
        max_bytes=1 << 20,
    )
    items = [{"claim": c.to_dict()} for c in claims]
    one = json.dumps(items[0]).encode()
    per_item = len(json.dumps({"items": items}).encode()) / len(items)
    batch = json.dumps({"items": items * int(BATCH_BYTES / per_item / len(items))}).encode()
    brackets = b"[" + b"[]," * (BATCH_BYTES // 3 - 1) + b"[]]"
    return {"one claim": one, "16 MiB batch": batch, "16 MiB of brackets": brackets}


def run() -> list[Figure]:
    figures = []
    for name, body in _bodies().items():
        repeats = 2000 if len(body) < PIECE else 3
        scan = _seconds(lambda body=body: _scan(body), repeats)  # type: ignore[misc]
        parse = _seconds(lambda body=body: json.loads(body), repeats)  # type: ignore[misc]
        unit, scale = ("µs", 1e6) if len(body) < PIECE else ("ms", 1e3)
        note = f"{len(body):,} bytes; json.loads {parse * scale:,.1f} {unit}"
        figures.append(Figure(f"depth scan, {name}", scan * scale, unit, note=note))
    return figures
