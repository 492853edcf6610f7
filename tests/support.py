"""Helpers shared by tests: deterministic clocks and randomness, logs as older versions
wrote them."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from copyseal.core.claims import Claim
from copyseal.core.keys import Signer
from copyseal.core.kinds import read, sign_claim
from copyseal.core.kinds.register import register_body
from copyseal.services.registry import Registration, Registry, _Admitted

CREATED = "2026-11-01T00:00:00Z"


class FakeClock:
    """A clock that advances one millisecond per reading, for reproducible times."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> datetime:
        return datetime(2026, 11, 1, tzinfo=UTC) + timedelta(milliseconds=next(self._ticks))


def seeded_bytes(seed: int) -> Callable[[int], bytes]:
    """Deterministic 'randomness' for nonces."""
    counter = itertools.count(seed * 1_000_000)
    return lambda n: next(counter).to_bytes(n, "big")


def png_bytes(seed: int, size: int = 96) -> bytes:
    """A small PNG with enough detail to fingerprint, different for each seed."""
    import io
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), (rng.randrange(256), 128, 64))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(size), rng.randrange(size)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x, y, x + rng.randrange(10, 40), y + rng.randrange(10, 40)), fill=colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def log_unadmitted(registry: Registry, claims: Sequence[Claim]) -> list[Registration]:
    """Log ``claims`` straight through the sequencer, past today's admission rules, as a
    registry of an earlier version did: a log may hold what admission now refuses."""
    kinds = [read(c).kind for c in claims]
    assert all(kinds), "claims of kinds this copyseal reads"
    admitted = [
        _Admitted(c, k, k.content(c.body), (), ()) for c, k in zip(claims, kinds, strict=True) if k
    ]
    logged = registry._submit(admitted)
    assert all(isinstance(r, Registration) for r in logged), logged
    return logged  # type: ignore[return-value]


def unchecked_claim(signer: Signer, seed: int, **body: Any) -> Claim:
    """A register claim for a small text with ``body`` fields as given: parsable as a
    logged leaf, whatever a registry admits today."""
    content = f"unchecked work {seed}".encode()
    fields = register_body(
        sha256=hashlib.sha256(content).digest(),
        size=len(content),
        media_type="text/plain; charset=utf-8",
    )
    nonce = seeded_bytes(seed)(16)
    return sign_claim(signer, "register", {**fields, **body}, nonce=nonce, created=CREATED)
