"""What the certificate page and PDF say about a work: fingerprints in short, anchors only
where the log anchors, counts in their number."""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import replace

from fastapi.testclient import TestClient

from copyseal.core.trust import TrustedChain
from tests.unit.server.test_register_api import KEY_A, claim

CONTRACT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def register(client: TestClient, text: str, seed: int = 0) -> str:
    signed = claim(KEY_A, text, seed=seed).to_dict()
    response = client.post("/api/v1/register", json={"claim": signed})
    assert response.status_code == 201, response.text
    return str(response.json()["work_id"])


def pdf_text(pdf: bytes) -> str:
    """The text drawn on a PDF's pages, which reportlab writes in Flate-compressed streams,
    some of them ASCII85-encoded too."""
    shown = []
    for stream in re.findall(rb"(?<!end)stream\r?\n(.*?)endstream", pdf, re.S):
        data = stream.strip()
        if data.endswith(b"~>"):
            data = base64.a85decode(data, adobe=True)
        try:
            shown.append(zlib.decompress(data).decode("latin-1"))
        except zlib.error:
            continue  # an image, a font
    return "".join(re.findall(r"\((.*?)\) Tj", "\n".join(shown)))


def anchoring(client: TestClient) -> None:
    """The service as it runs on a home that anchors its checkpoints on a chain."""
    services = client.app.state.services  # type: ignore[attr-defined]
    chain = TrustedChain("eip155:31337", CONTRACT)
    services.own_trust_root = replace(services.own_trust_root, chains=(chain,))


def test_fingerprints_show_in_short_and_their_values_under_details(client: TestClient) -> None:
    work_id = register(client, "A heron in the reeds, still as a post.")
    fingerprints = client.get(f"/api/v1/works/{work_id}").json()["fingerprints"]
    minhash = fingerprints["text_minhash_v1"]
    page = client.get(f"/certificates/{work_id}").text
    assert len(minhash) > 500 and page.count(minhash) == 1
    details = re.search(r"<details class=\"fingerprints\">(.*?)</details>", page, re.S)
    assert details and minhash in details.group(1)
    outside = page.replace(details.group(0), "")
    assert "Text, for similarity search" in outside
    assert fingerprints["iscc_text_v1"] in outside
    for name, value in fingerprints.items():  # every long value only under details
        assert name == "iscc_text_v1" or len(str(value)) < 40 or str(value) not in outside


def test_a_log_that_does_not_anchor_says_nothing_of_anchors(client: TestClient) -> None:
    work_id = register(client, "The first poem of a new log.")
    page = client.get(f"/certificates/{work_id}").text
    assert "anchor" not in page.lower()
    assert "tree of 1 entry<" in page and "1 entries" not in page
    pdf = pdf_text(client.get(f"/certificates/{work_id}.pdf").content)
    assert "signed tree of 1 entry" in pdf and "1 entries" not in pdf
    assert "anchor" not in pdf.lower()
    register(client, "A second poem, so the tree holds two.", seed=1)
    assert "tree of 2 entries<" in client.get(f"/certificates/{work_id}").text


def test_a_log_that_anchors_says_when_a_work_is_not_yet_anchored(client: TestClient) -> None:
    work_id = register(client, "A poem waiting for its anchor.")
    anchoring(client)
    page = client.get(f"/certificates/{work_id}").text
    assert "Not yet anchored" in page and "Chain anchor" in page
    pdf = pdf_text(client.get(f"/certificates/{work_id}.pdf").content)
    assert "not yet anchored" in pdf
