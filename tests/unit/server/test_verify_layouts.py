"""The API's verify endpoint and the web verify page read a reformatted certificate as the
document it is, as the CLI does, and say it was reformatted; a changed value still fails."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from fastapi.testclient import TestClient

from copyseal.core.certificate import REFORMATTED
from tests.unit.server.test_register_api import KEY_A, claim

POEM = "Café poem: the froth, the spoon, the rain."


def json_tool(data: bytes) -> bytes:
    return subprocess.run(
        [sys.executable, "-m", "json.tool"], input=data, capture_output=True, check=True
    ).stdout


def texts(client: TestClient) -> tuple[bytes, bytes, bytes]:
    signed = claim(KEY_A, POEM, title="Café").to_dict()
    work_id = client.post("/api/v1/register", json={"claim": signed}).json()["work_id"]
    issued = client.get(f"/certificates/{work_id}.json").content
    pretty = json_tool(issued)
    assert b"\\u00e9" in pretty and pretty != issued  # json.tool escapes é
    doc = json.loads(issued)
    doc["entry"]["leaf"]["logged_at"] = "2020-01-01T00:00:00.000Z"  # backdated
    return issued, pretty, json.dumps(doc, indent=4).encode()


def test_the_api_verifies_a_reformatted_certificate_and_says_so(client: TestClient) -> None:
    _, pretty, backdated = texts(client)
    files = {"certificate": ("pretty.json", pretty), "content": ("poem.txt", POEM.encode())}
    report = client.post("/api/v1/verify", files=files).json()
    assert report["ok"], report
    assert report["notes"] == [REFORMATTED]
    refused = client.post("/api/v1/verify", files={"certificate": ("c.json", backdated)}).json()
    assert not refused["ok"] and "failed" in {c["status"] for c in refused["checks"]}


def test_the_web_page_verifies_a_reformatted_certificate_and_says_so(client: TestClient) -> None:
    issued, pretty, backdated = texts(client)
    dropped = client.post("/verify", files={"certificate": ("pretty.json", pretty)})
    pasted = client.post("/verify", data={"certificate_text": pretty.decode()})
    for page in (dropped, pasted):
        assert page.status_code == 200
        assert "Valid certificate" in page.text and f"Note: {REFORMATTED}" in page.text
    plain = client.post("/verify", files={"certificate": ("c.json", issued)}).text
    assert "Valid certificate" in plain and "Note:" not in plain
    refused = client.post("/verify", files={"certificate": ("c.json", backdated)}).text
    assert "Not valid: a check failed" in refused
    assert re.search(r"Log entry hash</strong>: FAILED", refused)
