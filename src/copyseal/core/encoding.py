"""Strict, canonical decoders for the encodings inside signed documents.

Every decoder accepts exactly one spelling of a value, so that changing any byte of a
document changes what it says (and so fails verification) instead of being silently
normalised away: lowercase hex only, padded standard base64 with zero unused bits only,
canonical JSON (RFC 8785) only where a document is hashed or signed as a whole.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
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
"""How deeply arrays and objects may nest in any JSON copyseal reads: documents, and the
bodies of HTTP requests (checked on the raw bytes as they arrive, before any parser runs).
copyseal's own documents, a batch of certificates included, nest fewer than 10."""

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as signed bytes


class DepthScanner:
    """Follows the nesting depth of a JSON text fed in pieces, without parsing it.

    ``json.loads`` recurses in C once per level. When a library in the process has raised
    ``sys.setrecursionlimit`` (py_ecc and py-evm raise it to 100,000), a deeply nested
    document overflows the C stack and kills the process instead of raising RecursionError,
    so depth is bounded before any parser sees the text. Brackets inside strings are not
    counted. The text need not be valid JSON (the parser judges that): up to the first
    stray closing bracket or misplaced backslash the count is exactly a parser's depth, and
    a parser stops there.

    Every step is a ``bytes`` method (replace, split, translate, count), so the scan runs at
    memory speed; Python steps once per bracket only in a piece that could pass the limit.
    """

    __slots__ = ("_escaping", "_in_string", "depth", "max_depth")

    def __init__(self, max_depth: int = MAX_DEPTH) -> None:
        self.max_depth = max_depth
        self.depth = 0
        self._in_string = False
        self._escaping = False  # the last piece ended on a backslash that escapes what follows

    def feed(self, piece: bytes, *, final: bool = False) -> None:
        """Scan the next piece; raise MalformedDocument once the depth passes the limit.
        After the ``final`` piece nothing is scanned, so no state need be kept: a piece
        with too few brackets to pass the limit, as most documents are, is not taken apart."""
        if final and self.depth + piece.count(b"[") + piece.count(b"{") <= self.max_depth:
            return
        if self._escaping:
            piece, self._escaping = b"\\" + piece, False
        if piece.endswith(b"\\") and (len(piece) - len(piece.rstrip(b"\\"))) % 2:
            piece, self._escaping = piece[:-1], True
        if b"\\" in piece:
            # Backslashes pair up from the left, as a parser reads them; what is left
            # before a quote escapes it. Neither kind of pair can open or close a string.
            piece = piece.replace(b"\\\\", b"").replace(b'\\"', b"")
        parts = piece.split(b'"')
        self._count(b"".join(parts[1 if self._in_string else 0 :: 2]))
        if len(parts) % 2 == 0:  # an odd number of quotes
            self._in_string = not self._in_string

    def _count(self, outside: bytes) -> None:
        brackets = outside.translate(None, _NOT_BRACKETS)
        opens = brackets.count(b"[") + brackets.count(b"{")
        if self.depth + opens > self.max_depth:
            steps = memoryview(brackets.translate(_STEPS)).cast("b")
            if max(itertools.accumulate(steps, initial=self.depth)) > self.max_depth:
                raise MalformedDocument(f"JSON is nested more than {self.max_depth} levels deep")
        self.depth += 2 * opens - len(brackets)


def _check_depth(data: bytes) -> None:
    """Refuse more than ``MAX_DEPTH`` nested arrays and objects, before parsing."""
    DepthScanner().feed(data, final=True)


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
