"""A certificate is the document, not its layout: any JSON text of the same document reads
as that document and verifies as the issued one did, and says it was reformatted; a text
that says anything else does not verify."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from copyseal.core.certificate import REFORMATTED, Certificate, verify_certificate
from copyseal.errors import MalformedDocument
from tests.unit.core.helpers import CONTENT, LOG, issue

TITLE = "Café au lait — 珈琲"


@pytest.fixture
def issued() -> bytes:
    return issue(5, 3, title=TITLE).cert.to_json()


def reordered(value: Any) -> Any:
    """Every object's keys in reverse order, at every depth."""
    if isinstance(value, dict):
        return {k: reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


def json_tool(data: bytes) -> bytes:
    """What ``python -m json.tool cert.json > pretty.json`` writes."""
    return subprocess.run(
        [sys.executable, "-m", "json.tool"], input=data, capture_output=True, check=True
    ).stdout


def layouts(data: bytes) -> dict[str, bytes]:
    doc = json.loads(data)
    return {
        "json.tool": json_tool(data),
        "reordered keys": json.dumps(reordered(doc), ensure_ascii=False).encode(),
        "unicode escapes": json.dumps(doc).encode(),  # é as \\u00e9, 珈 as \\u73c8
        "escaped ascii": data.replace(b'"format"', b'"\\u0066ormat"'),
        "windows lines": json.dumps(doc, indent=2).replace("\n", "\r\n").encode(),
        "42.0 for 42": data.replace(b'"index":3,', b'"index":3.0,'),
    }


@pytest.mark.parametrize(
    "layout",
    [
        "json.tool",
        "reordered keys",
        "unicode escapes",
        "escaped ascii",
        "windows lines",
        "42.0 for 42",
    ],
)
def test_any_layout_of_the_document_verifies_as_the_issued_one(issued: bytes, layout: str) -> None:
    text = layouts(issued)[layout]
    assert text != issued
    cert = Certificate.from_json(text)
    assert cert == Certificate.from_json(issued) and cert.to_json() == issued
    assert cert.claim.body["title"] == TITLE
    report = verify_certificate(cert, trusted_log=LOG.verifier, content=CONTENT)
    assert report.ok, report.to_dict()
    assert cert.reformatted and report.notes == [REFORMATTED]
    assert report.to_dict()["notes"] == [REFORMATTED]


def test_the_issued_bytes_need_no_note(issued: bytes) -> None:
    for text in (issued, issued.rstrip(b"\n")):  # the final newline was always optional
        cert = Certificate.from_json(text)
        report = verify_certificate(cert, trusted_log=LOG.verifier, content=CONTENT)
        assert report.ok and not cert.reformatted and "notes" not in report.to_dict()


@pytest.mark.parametrize(
    ("edit", "failed"),
    [
        (
            lambda d: d["entry"]["leaf"]["claim"]["body"].update(title="Café au lait"),
            {"signature", "leaf"},
        ),
        (lambda d: d["entry"]["leaf"].update(logged_at="2026-11-23T12:00:00Z"), {"leaf"}),
        (lambda d: d["entry"].update(index=2), {"work_id", "inclusion"}),
        (lambda d: d["inclusion"].update(tree_size=6), {"inclusion"}),
    ],
)
def test_a_changed_value_fails_whatever_the_layout(
    issued: bytes, edit: Any, failed: set[str]
) -> None:
    doc = json.loads(issued)
    edit(doc)
    for text in (json.dumps(doc, indent=4).encode(), json.dumps(reordered(doc)).encode()):
        report = verify_certificate(Certificate.from_json(text), trusted_log=LOG.verifier)
        assert {c.name for c in report.checks if c.status == "failed"} == failed


@pytest.mark.parametrize(
    "text",
    [
        b'{"format": "copyseal/certificate", "format": "copyseal/certificate"}',  # which one?
        b'{"format": NaN}',
        b"\xef\xbb\xbf{}",  # a byte-order mark is not JSON
        b'{"a": "\\ud800"}',  # a lone surrogate has no UTF-8 (and no JCS) form
    ],
)
def test_texts_that_are_not_one_json_document_are_still_refused(text: bytes) -> None:
    with pytest.raises(MalformedDocument):
        Certificate.from_json(text)
