"""Counts in their number, as every interface prints them."""

from __future__ import annotations

import pytest

from copyseal.domain.wording import counted
from copyseal.server.rendering import human_size


@pytest.mark.parametrize(
    ("count", "noun", "plural", "shown"),
    [
        (0, "entry", "entries", "0 entries"),
        (1, "entry", "entries", "1 entry"),
        (2, "entry", "entries", "2 entries"),
        (1, "witness", "witnesses", "1 witness"),
        (1, "checkpoint", None, "1 checkpoint"),
        (12345, "checkpoint", None, "12,345 checkpoints"),
    ],
)
def test_counted(count: int, noun: str, plural: str | None, shown: str) -> None:
    assert counted(count, noun, plural) == shown


def test_sizes_say_byte_for_one() -> None:
    assert [human_size(n) for n in (1, 2, 1023, 2048)] == [
        "1 byte",
        "2 bytes",
        "1,023 bytes",
        "2.0 KiB",
    ]
