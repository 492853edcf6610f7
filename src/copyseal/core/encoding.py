"""Strict, canonical decoders for the encodings inside signed documents.

Every decoder accepts exactly one spelling of a value, so that changing any byte of a
document changes what it says (and so fails verification) instead of being silently
normalised away: lowercase hex only, padded standard base64 with zero unused bits only,
canonical JSON (RFC 8785) only where a document is hashed or signed as a whole.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import rfc8785

from copyseal.errors import MalformedDocument

_SAFE_INTEGER = 2**53 - 1
_fast_dumps = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode


def _is_plain(value: Any) -> bool:
    """True when the C JSON encoder's output is exactly RFC 8785 for ``value``.

    That holds without floats (JCS formats numbers the ECMAScript way), with integers in the
    interoperable range, and with ASCII keys (whose code-point order is their UTF-16 order).
    The escaping of strings is the same in both: only quote, backslash and controls, with
    the short forms and lowercase ``\\u00xx``. Every copyseal document is plain.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_SAFE_INTEGER <= value <= _SAFE_INTEGER)
    if kind is dict:
        return all(type(k) is str and k.isascii() and _is_plain(v) for k, v in value.items())
    if kind is list:
        return all(_is_plain(v) for v in value)
    return False


def jcs(value: Any) -> bytes:
    """RFC 8785 canonical JSON bytes."""
    try:
        if _is_plain(value):
            return _fast_dumps(value).encode("utf-8")
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise MalformedDocument(f"value cannot be canonicalised: {exc}") from exc


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedDocument(f"duplicate key {key!r}")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise MalformedDocument(f"{name} is not JSON")


MAX_DEPTH = 32
# A JSON string (possibly unterminated, so a match never fails once started) or one bracket.
# Strings are matched whole so that brackets inside them are not counted.
_STRING_OR_BRACKET = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


def _check_depth(data: bytes) -> None:
    """Refuse more than ``MAX_DEPTH`` nested arrays and objects, before parsing.

    ``json.loads`` recurses in C once per level. When a library in the process has raised
    ``sys.setrecursionlimit`` (py_ecc and py-evm raise it to 100,000), a deeply nested
    document overflows the C stack and kills the process instead of raising RecursionError.
    """
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(data):
        first = match.group()[0]
        if first in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise MalformedDocument(f"JSON is nested more than {MAX_DEPTH} levels deep")
        elif first in b"]}":
            depth -= 1


def parse_json(data: bytes | str, *, max_bytes: int = 16 << 20) -> Any:
    """Parse JSON strictly: UTF-8, no duplicate keys, no NaN, bounded size and depth."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates
            raise MalformedDocument("document is not valid Unicode") from exc
    if len(data) > max_bytes:
        raise MalformedDocument(f"document is larger than {max_bytes} bytes")
    _check_depth(data)
    try:
        text = data.decode("utf-8")
        value = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except UnicodeDecodeError as exc:
        raise MalformedDocument("document is not UTF-8") from exc
    except (ValueError, RecursionError) as exc:
        # ValueError covers json.JSONDecodeError and also the integer-size limit that
        # json.loads enforces for numbers of more than 4,300 digits.
        raise MalformedDocument(f"document is not valid JSON: {exc}") from exc
    return value


def parse_canonical_json(data: bytes, *, max_bytes: int = 16 << 20) -> Any:
    """Parse JSON that must be in RFC 8785 form, optionally followed by one newline."""
    body = data[:-1] if data.endswith(b"\n") else data
    value = parse_json(body, max_bytes=max_bytes)
    if jcs(value) != body:
        raise MalformedDocument("document is not in canonical (RFC 8785) form")
    return value


def hex32(text: Any, what: str = "hash") -> bytes:
    """A 32-byte value spelled as 64 lowercase hex digits."""
    if not isinstance(text, str) or len(text) != 64:
        raise MalformedDocument(f"{what} must be 64 lowercase hex digits")
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise MalformedDocument(f"{what} must be 64 lowercase hex digits") from exc
    if raw.hex() != text:
        raise MalformedDocument(f"{what} must be 64 lowercase hex digits")
    return raw


def b64decode(text: str, what: str = "value") -> bytes:
    """Standard padded base64, canonical spelling only."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedDocument(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise MalformedDocument(f"{what} is not canonical base64")
    return raw


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def b64url_decode(text: str, what: str = "value") -> bytes:
    """Unpadded base64url (RFC 4648 §5), canonical spelling only."""
    if not isinstance(text, str) or "=" in text:
        raise MalformedDocument(f"{what} is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedDocument(f"{what} is not valid base64url") from exc
    if b64url_encode(raw) != text:
        raise MalformedDocument(f"{what} is not canonical base64url")
    return raw


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(raw: bytes) -> str:
    """Bitcoin base58 (the multibase ``z`` alphabet)."""
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\x00"))) + out


def b58decode(text: str) -> bytes:
    n = 0
    for ch in text:
        i = _B58.find(ch)
        if i < 0:
            raise MalformedDocument(f"{ch!r} is not a base58 character")
        n = n * 58 + i
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\x00" * (len(text) - len(text.lstrip("1"))) + body
