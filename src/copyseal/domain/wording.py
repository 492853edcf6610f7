"""Counts in words and keys shortened for reading, the same on pages, in the PDF and on the
command line: "1 entry", "2 entries", "1,024 bytes". Standard library only, so a bare install
prints them too."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and the noun in its number; ``plural`` when it is not ``noun + "s"``."""
    word = noun if count == 1 else plural or noun + "s"
    return f"{count:,} {word}"


def short_did(did: str, *, head: int = 16, tail: int = 6) -> str:
    """``did`` as a person compares it at a glance: its first ``head`` and last ``tail``
    characters around an ellipsis. Every Ed25519 did:key starts ``did:key:z6Mk``, so where
    room is short the tail alone (``head=0``) tells keys apart."""
    return did if len(did) <= head + tail + 2 else f"{did[:head]}…{did[-tail:]}"
