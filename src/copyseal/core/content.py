"""Whether bytes someone holds are a registration's content.

The claim names the SHA-256 of the exact bytes registered, and the exact bytes always
match. Text is the one case where other bytes are the same work: the same characters with
other line endings (a file saved on Windows, a poem pasted into a browser, which sends CRLF).
So for a registration whose media type is ``text/…``, bytes that do not match as they are
match when their line endings, normalised, give the registered bytes: CRLF and CR to LF
(how the web form registers pasted text), or, for text registered with CRLF, LF to CRLF.
The check then says so in its detail ("content matches after normalising line endings"),
never just "matches", and nothing else about the bytes is normalised: not Unicode, not
trailing spaces, not an encoding. A private registration's commitment is checked on the
exact bytes only: it names no media type.

Changing what matches here changes what certificates prove: this module is part of core.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from copyseal.core.kinds.register import commitment
from copyseal.errors import VerificationError

LINE_ENDINGS_LF = "content matches after normalising line endings (CRLF and CR to LF)"
LINE_ENDINGS_CRLF = "content matches after normalising line endings (to CRLF)"


def to_lf(data: bytes) -> bytes:
    """Text with every line ending LF: CRLF first, then a lone CR. In UTF-8 the bytes CR
    and LF never occur inside another character, so this is safe on the encoded text."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def to_crlf(data: bytes) -> bytes:
    return to_lf(data).replace(b"\n", b"\r\n")


def is_text(media_type: str) -> bool:
    return media_type.split(";")[0].strip().lower().startswith("text/")


def check_content(registered: Mapping[str, Any], content: bytes, salt: bytes | None) -> str:
    """What matched, for the ``content`` object of a claim's body; raises
    :class:`VerificationError` (check ``content``) when the bytes are not the content."""
    committed = registered.get("commitment")
    if committed is not None:
        if salt is None:
            raise VerificationError(
                "a private registration is checked with its salt (--salt)", check="content"
            )
        if commitment(salt, content).hex() != committed:
            raise VerificationError("content and salt do not match the commitment", check="content")
        return f"commitment {committed} (private registration)"
    expected = registered["sha256"]
    if hashlib.sha256(content).hexdigest() == expected:
        return f"SHA-256 {expected}"
    if is_text(registered["media_type"]):
        for normalise, detail in ((to_lf, LINE_ENDINGS_LF), (to_crlf, LINE_ENDINGS_CRLF)):
            if hashlib.sha256(normalise(content)).hexdigest() == expected:
                return f"{detail}, SHA-256 {expected}: not the registered bytes, the same text"
    raise VerificationError("content does not match the registered hash", check="content")
