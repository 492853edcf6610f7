"""Account limits over HTTP: link challenges link once, log-in pauses with Retry-After,
and sign-up is bounded per client address, in the API and the web forms alike."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from copyseal.adapters.home import Home
from copyseal.core.encoding import b64url_decode, b64url_encode
from copyseal.core.keys import Signer
from copyseal.domain.accounts import LINK_PURPOSE, LOGIN_FREE_FAILURES, SIGNUP_ATTEMPTS
from copyseal.server.ratelimit import Rate, RateLimiter
from tests.unit.server.conftest import PASSWORD, api_token, csrf_of, make_client, sign_up
from tests.unit.server.test_register_api import assert_problem

KEY = Signer.from_seed(b"\x61" * 32)


@pytest.fixture
def limited(home: Home) -> Iterator[TestClient]:
    """Per-client limits on, with buckets wide enough that only the account limits bite."""
    wide = {kind: Rate(per_second=1000.0, burst=1000) for kind in ("read", "write", "auth")}
    with make_client(home.path, limiter=RateLimiter(wide)) as c:
        yield c


def test_a_link_proof_links_once(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {api_token(client, 'hana', custodial=False)}"}
    first, second = (
        client.get("/api/v1/account/keys/link", params={"did": KEY.did}, headers=auth).json()
        for _ in range(2)
    )
    assert first["challenge"] != second["challenge"]
    assert first["expires_at"] in first["text"]
    message = b64url_decode(first["message"], "message")
    proof = {
        "did": KEY.did,
        "challenge": first["challenge"],
        "signature": b64url_encode(KEY.sign(LINK_PURPOSE, message)),
    }
    linked = client.post("/api/v1/account/keys/link", json=proof, headers=auth)
    assert linked.status_code == 201, linked.text
    replayed = client.post("/api/v1/account/keys/link", json=proof, headers=auth)
    body = assert_problem(replayed, 422, "verification-error")
    assert "already used" in body["detail"] and body["check"] == "challenge"
    no_challenge = {k: v for k, v in proof.items() if k != "challenge"}
    missing = client.post("/api/v1/account/keys/link", json=no_challenge, headers=auth)
    assert_problem(missing, 400, "invalid-input")


def test_the_web_link_form_carries_its_challenge(client: TestClient) -> None:
    csrf = sign_up(client, "iris", custodial=False)
    page = client.get("/dashboard/keys/link", params={"did": KEY.did}).text
    challenge = html.unescape(page.split('name="challenge" value="')[1].split('"')[0])
    text = html.unescape(page.split('<pre id="message">')[1].split("</pre>")[0])
    assert f'"challenge":"{challenge}"' in text
    form = {
        "csrf": csrf,
        "did": KEY.did,
        "challenge": challenge,
        "signature": b64url_encode(KEY.sign(LINK_PURPOSE, text.encode())),
    }
    assert client.post("/dashboard/keys/link", data=form, follow_redirects=False).status_code == 303
    again = client.post("/dashboard/keys/link", data=form, follow_redirects=False)
    assert again.status_code == 422 and "already used" in again.text


@pytest.mark.parametrize("username", ["olga", "nobody"])
def test_log_in_by_api_pauses_after_five_failures(client: TestClient, username: str) -> None:
    api_token(client, "olga")
    wrong = {"username": username, "password": "not the password", "name": "t"}
    for _ in range(LOGIN_FREE_FAILURES):
        assert_problem(client.post("/api/v1/tokens", json=wrong), 401, "unauthenticated")
    right = {**wrong, "password": PASSWORD}
    paused = client.post("/api/v1/tokens", json=right)
    body = assert_problem(paused, 429, "rate-limited")
    assert paused.headers["retry-after"] == "60"
    assert "paused after 5 failed attempts" in body["detail"]


def test_log_in_by_form_pauses_after_five_failures(client: TestClient) -> None:
    sign_up(client, "olga")
    client.cookies.delete("cs_session")
    token = csrf_of(client.get("/login").text)
    form = {"csrf": token, "username": "olga", "password": "not the password"}
    for _ in range(LOGIN_FREE_FAILURES):
        assert client.post("/login", data=form).status_code == 401
    paused = client.post("/login", data={**form, "password": PASSWORD}, follow_redirects=False)
    assert paused.status_code == 429 and paused.headers["retry-after"] == "60"
    assert "paused after 5 failed attempts" in paused.text
    assert "cs_session" not in paused.headers.get("set-cookie", "")


def test_sign_up_by_api_is_bounded_per_address(limited: TestClient) -> None:
    for i in range(SIGNUP_ATTEMPTS):
        created = limited.post("/api/v1/accounts", json={"username": "taken", "password": PASSWORD})
        assert created.status_code == (201 if i == 0 else 409), created.text
    answers = []
    for name in ("taken", "free-name"):
        refused = limited.post("/api/v1/accounts", json={"username": name, "password": PASSWORD})
        body = assert_problem(refused, 429, "rate-limited")
        answers.append((body["detail"], refused.headers["retry-after"]))
    assert (
        answers[0]
        == answers[1]
        == ("too many sign-ups from this address: at most 10 an hour", "3600")
    )


def test_sign_up_by_form_is_bounded_per_address(limited: TestClient) -> None:
    token = csrf_of(limited.get("/signup").text)
    form = {"csrf": token, "username": "taken", "password": PASSWORD, "custody": "self"}
    for i in range(SIGNUP_ATTEMPTS):
        status = limited.post("/signup", data=form, follow_redirects=False).status_code
        assert status == (303 if i == 0 else 409)
    refused = limited.post("/signup", data={**form, "username": "free-name"})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "3600"
    assert "too many sign-ups" in refused.text
