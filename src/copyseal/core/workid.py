"""Work IDs: short, printable, stable, never reused, and checkable offline.

A work ID is the Crockford base32 of the registration's log index (at least six digits),
a dash, and the first four base32 digits of its leaf hash: ``000042-7KQ2``. The index part
makes it unique for ever within a log; the hash part binds it to the exact leaf, so a
mistyped or forged ID is caught by anyone holding the certificate.
"""

from __future__ import annotations

import re

from copyseal.errors import MalformedDocument

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MIN_DIGITS = 6
MAX_DIGITS = 13
_PATTERN = re.compile(r"([0-9A-HJKMNP-TV-Z]{6,13})-([0-9A-HJKMNP-TV-Z]{4})")


def _b32(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 32)
        out = _ALPHABET[r] + out
    return out.rjust(width, "0")


def compute_work_id(index: int, leaf_hash: bytes) -> str:
    if not 0 <= index < 32**MAX_DIGITS:
        raise ValueError(f"log index {index} cannot be written as a work ID")
    check = _b32(int.from_bytes(leaf_hash[:3], "big") >> 4, 4)
    return f"{_b32(index, MIN_DIGITS)}-{check}"


def _parse(work_id: str) -> tuple[int, str]:
    text = work_id.strip().upper().replace("O", "0").replace("I", "1").replace("L", "1")
    match = _PATTERN.fullmatch(text)
    if not match:
        raise MalformedDocument(f"{work_id!r:.40} is not a work ID (like 000042-7KQ2)")
    index = 0
    for ch in match.group(1):
        index = index * 32 + _ALPHABET.index(ch)
    return index, match.group(2)


def parse_work_id(work_id: str) -> int:
    """The log index a work ID names. Accepts lowercase and the usual O/I/L confusions."""
    return _parse(work_id)[0]


def normalise_work_id(work_id: str) -> str:
    """The one spelling ``compute_work_id`` gives, e.g. ``0000042-7kq2`` → ``000042-7KQ2``."""
    index, check = _parse(work_id)
    return f"{_b32(index, MIN_DIGITS)}-{check}"
