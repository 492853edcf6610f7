"""Which bytes are a registration's content: the exact bytes; for text, also the same text
with other line endings, said so; nothing else."""

from __future__ import annotations

import hashlib

import pytest

from copyseal.core.certificate import verify_certificate
from copyseal.core.content import LINE_ENDINGS_CRLF, LINE_ENDINGS_LF, check_content, to_lf
from copyseal.core.kinds.register import commitment
from copyseal.errors import VerificationError
from tests.unit.core.helpers import LOG, issue

POEM_LF = b"Light rain on the window\nthe cat asleep\na kettle hums\n"
POEM_CRLF = POEM_LF.replace(b"\n", b"\r\n")
POEM_CR = POEM_LF.replace(b"\n", b"\r")


def registered(data: bytes, media_type: str = "text/plain; charset=utf-8") -> dict[str, object]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "media_type": media_type}


def test_exact_bytes_match_as_they_are() -> None:
    detail = check_content(registered(POEM_LF), POEM_LF, None)
    assert detail == f"SHA-256 {hashlib.sha256(POEM_LF).hexdigest()}"


@pytest.mark.parametrize("held", [POEM_CRLF, POEM_CR, POEM_LF.replace(b"\n", b"\r\n", 1)])
def test_text_held_with_other_line_endings_matches_and_says_so(held: bytes) -> None:
    detail = check_content(registered(POEM_LF), held, None)
    assert detail.startswith(LINE_ENDINGS_LF) and "not the registered bytes" in detail


def test_text_registered_with_crlf_matches_a_file_with_lf() -> None:
    """What the web form registered before it made pasted text LF."""
    detail = check_content(registered(POEM_CRLF), POEM_LF, None)
    assert detail.startswith(LINE_ENDINGS_CRLF)


@pytest.mark.parametrize(
    "held",
    [
        POEM_LF.rstrip(b"\n"),  # a line ending fewer is other text
        POEM_LF.replace(b"cat", b"dog"),
        POEM_LF.replace(b"\n", b" \n"),
        POEM_CRLF + b"\r\n",
    ],
)
def test_other_text_does_not_match(held: bytes) -> None:
    with pytest.raises(VerificationError, match="does not match"):
        check_content(registered(POEM_LF), held, None)


def test_line_endings_are_normalised_for_text_only() -> None:
    with pytest.raises(VerificationError):
        check_content(registered(POEM_LF, "application/octet-stream"), POEM_CRLF, None)


def test_a_commitment_opens_on_the_exact_bytes_only() -> None:
    salt = b"\x05" * 32
    private = {"commitment": commitment(salt, POEM_LF).hex()}
    assert "private registration" in check_content(private, POEM_LF, salt)
    with pytest.raises(VerificationError):
        check_content(private, POEM_CRLF, salt)


def test_to_lf() -> None:
    assert to_lf(b"a\r\nb\rc\nd\r\r\n") == b"a\nb\nc\nd\n\n"
    assert to_lf("é\r\n珈".encode()) == "é\n珈".encode()


def test_the_report_says_the_file_matched_after_normalising() -> None:
    issued = issue(3, 1, content=POEM_LF)
    exact = verify_certificate(issued.cert, trusted_log=LOG.verifier, content=POEM_LF)
    normalised = verify_certificate(issued.cert, trusted_log=LOG.verifier, content=POEM_CRLF)
    assert exact.ok and normalised.ok
    [exact_row] = [c for c in exact.checks if c.name == "content"]
    [row] = [c for c in normalised.checks if c.name == "content"]
    assert "normalising" not in exact_row.detail
    assert row.status == "ok" and row.detail.startswith(LINE_ENDINGS_LF)
