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
