"""Strict field checks shared by the envelope, the claim kinds and the documents around them.

Each check accepts exactly one spelling and raises :class:`MalformedDocument` naming the
field, so a decoder reads as a list of its fields and their limits.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from typing import Any

from copyseal.errors import MalformedDocument

_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(; ?[ -~]+)?")


def check_fields(
    obj: Any, what: str, required: Collection[str], optional: Collection[str] = ()
) -> dict[str, Any]:
    """``obj`` is a JSON object with every ``required`` field and no field but those."""
    if not isinstance(obj, dict):
        raise MalformedDocument(f"{what} must be a JSON object")
    keys = set(obj)
    if missing := set(required) - keys:
        raise MalformedDocument(f"{what} lacks {', '.join(sorted(missing))}")
    if extra := keys - set(required) - set(optional):
        raise MalformedDocument(f"{what} has unknown fields {', '.join(sorted(extra))}")
    return obj


def check_time(value: Any, what: str) -> str:
    """An RFC 3339 UTC time with at most microseconds, the one spelling copyseal writes."""
    message = f"{what} must be an RFC 3339 UTC time like 2026-01-31T12:00:00Z"
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise MalformedDocument(message)
    try:
        datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError as exc:  # month 13, February 30, hour 25, ...
        raise MalformedDocument(message) from exc
    return value


def check_int(value: Any, what: str, low: int = 0) -> int:
    if type(value) is not int or value < low:
        raise MalformedDocument(f"{what} must be an integer ≥ {low}")
    return value


def check_str(value: Any, what: str, max_len: int) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise MalformedDocument(f"{what} must be a string of 1 to {max_len} characters")
    return value


def check_media_type(value: Any, what: str, max_len: int = 127) -> str:
    media_type = check_str(value, what, max_len)
    if not _MEDIA_TYPE.fullmatch(media_type):
        raise MalformedDocument(f"{media_type!r} is not a media type")
    return media_type
