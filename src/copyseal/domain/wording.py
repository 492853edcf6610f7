"""Counts in words, the same on pages, in the PDF and on the command line: "1 entry",
"2 entries", "1,024 bytes". Standard library only, so a bare install prints them too."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and the noun in its number; ``plural`` when it is not ``noun + "s"``."""
    word = noun if count == 1 else plural or noun + "s"
    return f"{count:,} {word}"
