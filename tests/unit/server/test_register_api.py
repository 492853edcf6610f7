"""Registration over the API: self-custody claims, custodial content, batches, and who may
act for which key."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from copyseal.core.claims import Claim
from copyseal.core.keys import Signer
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from tests.support import FakeClock, png_bytes, seeded_bytes
from tests.unit.server.conftest import api_token, sign_up

KEY_A = Signer.from_seed(b"\x0a" * 32)
KEY_B = Signer.from_seed(b"\x0b" * 32)


def claim(signer: Signer, text: str, seed: int = 0) -> Claim:
    work = WorkInput(text.encode(), TEXT_MEDIA_TYPE, "t", "A title")
    return prepare_register_claims(
        [work], signer, clock=FakeClock(), random_bytes=seeded_bytes(seed), max_bytes=1 << 20
    )[0]


def assert_problem(response, status: int, error: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:copyseal:problem:{error}"
    assert body["title"] and body["detail"]
    return body


def test_self_custody_claim_needs_no_account(client: TestClient) -> None:
    signed = claim(KEY_A, "a poem").to_dict()
    first = client.post("/api/v1/register", json={"claim": signed})
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["created"] is True
    assert body["certificate"]["work_id"] == body["work_id"]
    assert first.headers["location"] == f"/api/v1/works/{body['work_id']}"
    again = client.post("/api/v1/register", json={"claim": signed})
    assert again.status_code == 200 and again.json()["created"] is False
    work = client.get(f"/api/v1/works/{body['work_id']}").json()
    assert work["owner"] == KEY_A.did


def test_claim_signed_by_another_key_than_its_signer_fails(client: TestClient) -> None:
    forged = claim(KEY_B, "stolen poem").to_dict()
    forged["signer"] = KEY_A.did  # B's signature, A's name
    body = assert_problem(
        client.post("/api/v1/register", json={"claim": forged}), 422, "verification-error"
    )
    assert body["check"] == "signature"
    assert client.get("/api/v1/health").json()["tree_size"] == 0


def test_account_cannot_submit_a_claim_of_a_key_it_does_not_control(client: TestClient) -> None:
    token = api_token(client, "bob")
    signed = claim(KEY_A, "alice's poem").to_dict()
    response = client.post(
        "/api/v1/register",
        json={"claim": signed},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = assert_problem(response, 403, "forbidden")
    assert body["did"] == KEY_A.did
    assert client.get("/api/v1/health").json()["tree_size"] == 0


def test_session_cannot_submit_another_keys_claim_either(client: TestClient) -> None:
    csrf = sign_up(client, "carol")
    signed = claim(KEY_A, "alice's other poem").to_dict()
    response = client.post(
        "/api/v1/register", json={"claim": signed}, headers={"X-CSRF-Token": csrf}
    )
    assert_problem(response, 403, "forbidden")


def test_session_writes_need_the_csrf_header(client: TestClient) -> None:
    sign_up(client, "dave")
    response = client.post("/api/v1/register", json={"text": "my own words"})
    assert_problem(response, 403, "forbidden")


def test_custodial_content_registration_with_a_token(client: TestClient) -> None:
    token = api_token(client, "erin")
    auth = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/account", headers=auth).json()
    [key] = me["keys"]
    assert key["kind"] == "custodial"
    response = client.post(
        "/api/v1/register", json={"text": "Erin's haiku", "title": "Haiku"}, headers=auth
    )
    assert response.status_code == 201, response.text
    assert response.json()["certificate"]["entry"]["leaf"]["claim"]["signer"] == key["did"]
    blob = base64.b64encode(png_bytes(1)).decode()
    response = client.post(
        "/api/v1/register",
        json={"content_base64": blob, "media_type": "image/png"},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    mine = client.get("/api/v1/account/works", headers=auth).json()
    assert [w["title"] for w in mine["items"]] == ["Haiku", None]


def test_content_without_an_account_is_refused(client: TestClient) -> None:
    assert_problem(
        client.post("/api/v1/register", json={"text": "anonymous"}), 401, "unauthenticated"
    )


def test_self_custody_account_has_no_key_to_sign_with(client: TestClient) -> None:
    token = api_token(client, "frank", custodial=False)
    response = client.post(
        "/api/v1/register", json={"text": "x"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_problem(response, 403, "forbidden")


def test_bad_token_is_unauthenticated(client: TestClient) -> None:
    response = client.get("/api/v1/account", headers={"Authorization": "Bearer cs_nope"})
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_batch_reports_each_item(client: TestClient) -> None:
    good = claim(KEY_A, "one", seed=1).to_dict()
    forged = {**claim(KEY_B, "two", seed=2).to_dict(), "signer": KEY_A.did}
    items = [{"claim": good}, {"claim": forged}, {"claim": {"type": "register"}}, {"text": "x"}]
    response = client.post("/api/v1/register/batch", json={"items": items})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["ok"] for r in results] == [True, False, False, False]
    assert [r.get("problem", {}).get("status") for r in results] == [None, 422, 400, 401]


def test_upload_registers_files_for_the_account(client: TestClient) -> None:
    token = api_token(client, "gina")
    response = client.post(
        "/api/v1/register/upload",
        files=[
            ("files", ("a.txt", b"first file", "text/plain")),
            ("files", ("b.bin", b"\x00\x01")),
        ],
        data={"title": "Uploads"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    results = response.json()["results"]
    assert all(r["ok"] for r in results)
    media = [
        r["certificate"]["entry"]["leaf"]["claim"]["body"]["content"]["media_type"] for r in results
    ]
    assert media == ["text/plain; charset=utf-8", "application/octet-stream"]


def test_linking_a_self_custody_key_lets_the_account_submit_its_claims(
    client: TestClient,
) -> None:
    token = api_token(client, "hana", custodial=False)
    auth = {"Authorization": f"Bearer {token}"}
    challenge = client.get("/api/v1/account/keys/link", params={"did": KEY_A.did}, headers=auth)
    message = base64.urlsafe_b64decode(challenge.json()["message"] + "==")
    # A signature by another key over the same message does not link KEY_A.
    wrong = base64.urlsafe_b64encode(KEY_B.sign("account-link", message)).decode().rstrip("=")
    issued = {"did": KEY_A.did, "challenge": challenge.json()["challenge"]}
    bad = client.post(
        "/api/v1/account/keys/link", json={**issued, "signature": wrong}, headers=auth
    )
    assert_problem(bad, 422, "verification-error")
    right = base64.urlsafe_b64encode(KEY_A.sign("account-link", message)).decode().rstrip("=")
    linked = client.post(
        "/api/v1/account/keys/link", json={**issued, "signature": right}, headers=auth
    )
    assert linked.status_code == 201, linked.text
    response = client.post(
        "/api/v1/register", json={"claim": claim(KEY_A, "hana's poem").to_dict()}, headers=auth
    )
    assert response.status_code == 201, response.text
    # Another account cannot link the same key, even with a valid proof for itself.
    other = api_token(client, "ivan", custodial=False)
    other_auth = {"Authorization": f"Bearer {other}"}
    msg = client.get("/api/v1/account/keys/link", params={"did": KEY_A.did}, headers=other_auth)
    proof = (
        base64.urlsafe_b64encode(
            KEY_A.sign("account-link", base64.urlsafe_b64decode(msg.json()["message"] + "=="))
        )
        .decode()
        .rstrip("=")
    )
    clash = client.post(
        "/api/v1/account/keys/link",
        json={"did": KEY_A.did, "challenge": msg.json()["challenge"], "signature": proof},
        headers=other_auth,
    )
    assert_problem(clash, 409, "conflict-error")


def test_tokens_are_revocable_and_scoped_to_their_account(client: TestClient) -> None:
    token_j = api_token(client, "judy")
    token_k = api_token(client, "kim")
    auth_j = {"Authorization": f"Bearer {token_j}"}
    auth_k = {"Authorization": f"Bearer {token_k}"}
    [mine] = client.get("/api/v1/account/tokens", headers=auth_j).json()["tokens"]
    assert token_j.startswith(mine["hint"])
    # kim cannot revoke judy's token
    assert_problem(
        client.delete(f"/api/v1/account/tokens/{mine['id']}", headers=auth_k), 404, "not-found"
    )
    assert client.delete(f"/api/v1/account/tokens/{mine['id']}", headers=auth_j).status_code == 204
    assert_problem(client.get("/api/v1/account", headers=auth_j), 401, "unauthenticated")
