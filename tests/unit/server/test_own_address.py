"""The site's address in QR codes, PDFs and links is the server's own (``--public-url``, else
the address it was reached on), never the request's ``Host`` header, which the client
writes: otherwise anyone could have the service issue certificates that point elsewhere."""

from __future__ import annotations

import base64
import re
import zlib
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from copyseal.adapters.home import Home
from copyseal.core.trust import WELL_KNOWN_PATH
from copyseal.server.deps import Services, Settings
from copyseal.server.pdf import render_certificate_pdf
from copyseal.server.qr import qr_svg
from tests.unit.server.conftest import make_client
from tests.unit.server.test_read_api import register

FORGED = {"host": "evil.example"}


def _qr_on_page(client: TestClient, work_id: str, base: str) -> bool:
    page = client.get(f"/certificates/{work_id}", headers={**FORGED, "accept": "text/html"})
    assert page.status_code == 200
    label = f"QR code linking to the verify page of {work_id}"
    return qr_svg(f"{base}/verify/{work_id}", label=label) in page.text


def test_the_certificate_pages_qr_code_ignores_the_host_header(client: TestClient) -> None:
    [work_id] = register(client, ["the work"])
    assert _qr_on_page(client, work_id, "https://testserver")
    assert not _qr_on_page(client, work_id, "https://evil.example")


def test_the_public_url_wins_when_set(home: Home) -> None:
    settings = Settings(public_url="https://seal.example/")
    with make_client(home.path, settings=settings) as client:
        [work_id] = register(client, ["the work"])
        assert _qr_on_page(client, work_id, "https://seal.example")


def _rectangles(pdf: bytes) -> list[bytes]:
    """Every rectangle a PDF's content streams draw (the QR code is drawn as rectangles)."""
    found: list[bytes] = []
    for filters, data in re.findall(
        rb"/Filter \[([^\]]*)\][^>]*>>\s*stream\r?\n(.*?)endstream", pdf, re.S
    ):
        if b"ASCII85Decode" in filters:
            data = base64.a85decode(data.strip(), adobe=True)
        content = zlib.decompress(data)
        found += re.findall(rb"[-\d.]+ [-\d.]+ [-\d.]+ [-\d.]+ re\b", content)
    return found


def _pdf_for(services: Services, work_id: str, base: str) -> bytes:
    return render_certificate_pdf(
        services.works.view(work_id),
        verify_url=f"{base}/verify/{work_id}",
        json_url=f"{base}/certificates/{work_id}.json",
        generated_at=datetime.now(UTC),
        trust_root=(services.own_trust_root.root_id, f"{base}{WELL_KNOWN_PATH}"),
    )


def test_the_pdfs_qr_code_ignores_the_host_header(client: TestClient, tmp_path: Path) -> None:
    [work_id] = register(client, ["the work"])
    served = client.get(f"/certificates/{work_id}.pdf", headers=FORGED)
    assert served.status_code == 200
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    own = _rectangles(_pdf_for(services, work_id, "https://testserver"))
    forged = _rectangles(_pdf_for(services, work_id, "https://evil.example"))
    assert own != forged
    assert _rectangles(served.content) == own
