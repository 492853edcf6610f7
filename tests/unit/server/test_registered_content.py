"""What a web or API registration with content keeps: the exact bytes it registered (pasted
text with LF line endings), offered beside the certificate; and how the creator's own copy
verifies, with LF or CRLF."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from copyseal.core.content import LINE_ENDINGS_LF
from copyseal.core.kinds import sign_claim
from copyseal.core.kinds.dispute import dispute_body
from copyseal.errors import CopysealError, Unavailable
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_private_claims
from copyseal.services.registry import Registration
from copyseal.services.submission import contents_to_keep
from tests.fakes import MemoryContentStore
from tests.support import CREATED, FakeClock, seeded_bytes
from tests.unit.server.conftest import api_token, sign_up
from tests.unit.server.test_register_api import KEY_A, claim

TYPED = "Light rain on the window\nthe cat asleep on the sill\na kettle hums low"
SENT = TYPED.replace("\n", "\r\n")  # what a browser sends for a textarea
LF = TYPED.encode()


def register_pasted(client: TestClient, text: str = SENT) -> str:
    csrf = sign_up(client, "poet")
    form = {"csrf": csrf, "text": text, "title": "Kettle"}
    response = client.post("/register", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"].split("/certificates/")[1].split("?")[0]


def test_pasted_text_is_registered_with_lf_and_the_page_says_so(client: TestClient) -> None:
    work_id = register_pasted(client)
    work = client.get(f"/api/v1/works/{work_id}").json()
    assert work["content"]["sha256"] == hashlib.sha256(LF).hexdigest()
    assert work["content"]["size"] == len(LF)
    page = client.get(f"/certificates/{work_id}?new=1").text
    said = f"registered as UTF-8 text with LF line endings, {len(LF)} bytes"
    assert said in page and "keep it with the file" not in page
    assert f'href="/certificates/{work_id}/content" download' in page


def test_the_registered_bytes_are_offered_for_download(client: TestClient) -> None:
    work_id = register_pasted(client)
    download = client.get(f"/certificates/{work_id}/content")
    assert download.status_code == 200 and download.content == LF
    assert download.headers["content-disposition"] == f'attachment; filename="{work_id}.txt"'
    assert download.headers["content-type"] == TEXT_MEDIA_TYPE
    assert "sandbox" in download.headers["content-security-policy"]


def test_the_creators_copy_verifies_with_lf_exactly_and_with_crlf_said_so(
    client: TestClient,
) -> None:
    work_id = register_pasted(client)
    cert = client.get(f"/certificates/{work_id}.json").content
    for held, exact in ((LF, True), (SENT.encode(), False)):
        files = {"certificate": ("c.json", cert), "content": ("poem.txt", held)}
        report = client.post("/api/v1/verify", files=files).json()
        assert report["ok"], report
        [row] = [c for c in report["checks"] if c["name"] == "content"]
        assert row["status"] == "ok" and row["detail"].startswith(LINE_ENDINGS_LF) != exact
        page = client.post("/verify", files=files).text
        assert "Valid certificate" in page and (LINE_ENDINGS_LF in page) != exact


def test_api_content_is_kept_and_a_claim_alone_keeps_nothing(client: TestClient) -> None:
    token = api_token(client, "erin")
    auth = {"Authorization": f"Bearer {token}"}
    text = "Erin's haiku\r\nkept as sent"  # the API registers text exactly as sent
    made = client.post("/api/v1/register", json={"text": text}, headers=auth).json()
    assert client.get(f"/certificates/{made['work_id']}/content").content == text.encode()
    signed = client.post("/api/v1/register", json={"claim": claim(KEY_A, "mine").to_dict()})
    alone = signed.json()["work_id"]
    missing = client.get(f"/certificates/{alone}/content")
    assert missing.status_code == 404 and "does not hold the content" in missing.json()["detail"]
    assert "Download content" not in client.get(f"/certificates/{alone}").text


def test_only_public_works_named_by_their_own_bytes_are_kept() -> None:
    poem = b"a poem that is logged"
    [public] = [claim(KEY_A, poem.decode())]
    registered = Registration(certificate=None, created=True)  # type: ignore[arg-type]
    [(private, _salt)] = prepare_private_claims(
        [WorkInput(poem, TEXT_MEDIA_TYPE, "p")],
        KEY_A,
        clock=FakeClock(),
        random_bytes=seeded_bytes(3),
        max_bytes=1000,
    )
    content = {"sha256": hashlib.sha256(poem).hexdigest(), "size": len(poem), "media_type": "t/x"}
    body = dispute_body(work_id="000000-0000", reason="mine", content=content)
    dispute = sign_claim(KEY_A, "dispute", body, nonce=bytes(16), created=CREATED)
    refused: CopysealError = Unavailable("busy")
    claims = [public, private, dispute, public, public]
    contents = [poem, poem, poem, None, poem]
    outcomes = [registered, registered, registered, registered, refused]
    assert contents_to_keep(claims, contents, outcomes) == [poem]
    assert contents_to_keep([public], [b"other bytes"], [registered]) == []


def test_a_store_that_fails_costs_the_download_never_the_registration(
    client: TestClient,
) -> None:
    def full_disk(point: str) -> None:
        raise Unavailable("the content store cannot store anything at the moment")

    services = client.app.state.services  # type: ignore[attr-defined]
    services.submissions.contents = MemoryContentStore(fault=full_disk)
    work_id = register_pasted(client)
    assert client.get(f"/api/v1/works/{work_id}").status_code == 200
    assert client.get(f"/certificates/{work_id}/content").status_code == 404
