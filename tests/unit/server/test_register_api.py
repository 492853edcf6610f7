"""Registration over the API: self-custody claims, custodial content, batches, and who may
act for which key."""

from __future__ import annotations

import asyncio
import base64
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from copyseal.adapters.home import Home
from copyseal.core.claims import Claim
from copyseal.core.encoding import MAX_DEPTH
from copyseal.core.keys import Signer
from copyseal.core.kinds import sign_claim
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from tests.support import CREATED, FakeClock, png_bytes, seeded_bytes, unchecked_claim
from tests.unit.server.conftest import api_token, make_client, sign_up

KEY_A = Signer.from_seed(b"\x0a" * 32)
KEY_B = Signer.from_seed(b"\x0b" * 32)


def claim(signer: Signer, text: str, seed: int = 0, title: str = "A title") -> Claim:
    """A self-custody register claim; its title is signed as given, unchecked, as any
    submitter's own software may do."""
    work = WorkInput(text.encode(), TEXT_MEDIA_TYPE, "t")
    [signed] = prepare_register_claims(
        [work], signer, clock=FakeClock(), random_bytes=seeded_bytes(seed), max_bytes=1 << 20
    )
    body = {**signed.body, "title": title}
    return sign_claim(signer, "register", body, nonce=seeded_bytes(seed)(16), created=CREATED)


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


DEEP_BODY = b'{"claim":' + b"[" * 99_000 + b"]" * 99_000 + b"}"
"""198 KB with no account: it overflowed the C stack of a worker in FastAPI's json.loads."""


@pytest.fixture
def raised_recursion_limit() -> Iterator[None]:
    """The limit as importing web3 leaves it (py_ecc, py-evm)."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    yield
    sys.setrecursionlimit(before)


@pytest.mark.usefixtures("raised_recursion_limit")
@pytest.mark.parametrize("path", ["/api/v1/register", "/api/v1/register/batch"])
@pytest.mark.parametrize("content_type", ["application/json", None])
def test_deeply_nested_json_is_refused_before_it_is_parsed(
    client: TestClient, path: str, content_type: str | None
) -> None:
    sys.setrecursionlimit(100_000)  # the client's start-up set it back: the scan must hold
    headers = {"content-type": content_type} if content_type else {}
    body = assert_problem(
        client.post(path, content=DEEP_BODY, headers=headers), 400, "malformed-document"
    )
    assert f"more than {MAX_DEPTH} levels" in body["detail"]
    # The process still serves, and what nests as deep as allowed still parses.
    signed = claim(KEY_A, "after the deep body").to_dict()
    assert client.post("/api/v1/register", json={"claim": signed}).status_code == 201
    deepest = b'{"x":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    response = client.post("/api/v1/register", content=deepest, headers=headers)
    assert_problem(response, 400, "invalid-input")  # parsed, then refused by the schema


@pytest.mark.usefixtures("raised_recursion_limit")
def test_the_service_runs_with_the_default_recursion_limit(home: Home) -> None:
    """Imports under web3 raise the limit to 100,000; the service sets it back while it
    runs (in each worker process), and restores the embedding program's on shutdown."""
    with make_client(home.path) as c:
        assert sys.getrecursionlimit() == 1000  # Python's default
        assert c.get("/api/v1/health").status_code == 200
    assert sys.getrecursionlimit() == 100_000


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


def bad_fingerprint_claim(signer: Signer, seed: int) -> dict[str, Any]:
    """Correctly signed, parsable as a logged leaf, but with a MinHash of three bytes."""
    return unchecked_claim(signer, seed, fingerprints={"text_minhash_v1": "AAAA"}).to_dict()


def test_a_claim_with_a_malformed_fingerprint_fails_only_its_batch_item(
    client: TestClient,
) -> None:
    items = [
        {"claim": claim(KEY_A, "the first honest poem", seed=11).to_dict()},
        {"claim": bad_fingerprint_claim(KEY_B, 12)},
        {"claim": claim(KEY_A, "the second honest poem", seed=13).to_dict()},
    ]
    response = client.post("/api/v1/register/batch", json={"items": items})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["ok"] for r in results] == [True, False, True]
    problem = results[1]["problem"]
    assert problem["type"] == "urn:copyseal:problem:malformed-document"
    assert "text_minhash_v1" in problem["detail"] or "fingerprints" in problem["detail"]
    assert client.get("/api/v1/health").json()["tree_size"] == 2


def test_concurrent_registrations_do_not_share_one_claims_failure(client: TestClient) -> None:
    """Requests that arrive while a group is committing are registered together (one
    registry call): the bad claim among them fails alone."""
    batcher = client.app.state.services.batcher  # type: ignore[attr-defined]
    items = [claim(KEY_A, f"concurrent poem number {i}", seed=20 + i).to_dict() for i in range(4)]
    items.insert(2, bad_fingerprint_claim(KEY_B, 30))

    async def all_at_once() -> list[Any]:
        # The first goes at once; the other four gather behind it into one group.
        return await asyncio.gather(
            *(batcher.submit(i, None) for i in items), return_exceptions=True
        )

    outcomes = asyncio.run(all_at_once())
    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == ["Registration", "Registration", "MalformedDocument", *["Registration"] * 2]
    assert client.get("/api/v1/health").json()["tree_size"] == 4


def test_content_that_cannot_be_fingerprinted_fails_only_its_item(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {api_token(client, 'ines')}"}
    broken = base64.b64encode(b"\x89PNG\r\n\x1a\n not an image").decode()
    items = [
        {"text": "The first of three custodial works, signed together."},
        {"content_base64": broken, "media_type": "image/png"},
        {"text": "The third of three custodial works, signed together."},
    ]
    response = client.post("/api/v1/register/batch", json={"items": items}, headers=auth)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["problem"]["status"] in (400, 422)


def test_an_upload_of_more_files_than_the_limit_is_refused_whole(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {api_token(client, 'joan')}"}
    files = [("files", (f"{i}.txt", f"file number {i}".encode(), "text/plain")) for i in range(101)]
    response = client.post("/api/v1/register/upload", files=files, headers=auth)
    body = assert_problem(response, 400, "invalid-input")
    assert "at most 100 files" in body["detail"] and body["limit"] == 100
    assert client.get("/api/v1/health").json()["tree_size"] == 0
    response = client.post("/api/v1/register/upload", files=files[:100], headers=auth)
    assert response.status_code == 201, response.text
    assert len(response.json()["results"]) == 100


@pytest.mark.parametrize("title", ["invoice\u202egpj.exe", "first line\nsecond line", "bell\x07"])
def test_titles_with_controls_or_bidi_overrides_are_refused(client: TestClient, title: str) -> None:
    auth = {"Authorization": f"Bearer {api_token(client, 'kai')}"}
    response = client.post(
        "/api/v1/register", json={"text": "a poem", "title": title}, headers=auth
    )
    body = assert_problem(response, 400, "invalid-input")
    assert "a title is one line of text" in body["detail"]
    signed = claim(KEY_A, "a self-custody poem", seed=40, title=title).to_dict()
    body = assert_problem(
        client.post("/api/v1/register", json={"claim": signed}), 400, "invalid-input"
    )
    assert "a title is one line of text" in body["detail"]
    assert client.get("/api/v1/health").json()["tree_size"] == 0
