"""Helpers shared by tests: deterministic clocks and randomness."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


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
