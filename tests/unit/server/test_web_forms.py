"""The web forms in-process: CSRF, sessions, log-in refusals, dashboard tokens."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.unit.server.conftest import PASSWORD, csrf_of, sign_up


def test_forms_refuse_a_missing_or_foreign_csrf_token(client: TestClient) -> None:
    token = csrf_of(client.get("/signup").text)
    form = {"username": "mallory", "password": PASSWORD, "custody": "custodial"}
    assert client.post("/signup", data=form).status_code == 403
    assert client.post("/signup", data={**form, "csrf": token + "x"}).status_code == 403
    # A token minted for another browser (another cs_bid cookie) is refused too.
    other = TestClient(client.app, base_url="https://testserver")
    other_token = csrf_of(other.get("/signup").text)
    assert client.post("/signup", data={**form, "csrf": other_token}).status_code == 403
    assert (
        client.post("/signup", data={**form, "csrf": token}, follow_redirects=False).status_code
        == 303
    )


def test_session_cookie_is_secure_httponly_and_lax(client: TestClient) -> None:
    token = csrf_of(client.get("/signup").text)
    form = {"csrf": token, "username": "nina", "password": PASSWORD, "custody": "custodial"}
    response = client.post("/signup", data=form, follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "cs_session=" in cookie and "httponly" in cookie and "secure" in cookie
    assert "samesite=lax" in cookie


def test_login_refuses_wrong_passwords_and_unknown_users_alike(client: TestClient) -> None:
    sign_up(client, "olga")
    client.cookies.delete("cs_session")
    token = csrf_of(client.get("/login").text)
    wrong = client.post(
        "/login", data={"csrf": token, "username": "olga", "password": "nope nope nope"}
    )
    unknown = client.post(
        "/login", data={"csrf": token, "username": "nobody", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert (
        "wrong username or password" in wrong.text and "wrong username or password" in unknown.text
    )
    ok = client.post(
        "/login",
        data={
            "csrf": token,
            "username": "OLGA",
            "password": PASSWORD,
            "next": "https://evil.test/",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/dashboard"


def test_dashboard_needs_a_session_and_shows_a_new_token_once(client: TestClient) -> None:
    assert client.get("/dashboard", follow_redirects=False).headers["location"].startswith("/login")
    csrf = sign_up(client, "pia")
    page = client.post("/dashboard/tokens", data={"csrf": csrf, "name": "backup script"})
    secret = re.search(r'<pre id="new-token">([^<]+)</pre>', page.text)
    assert secret and secret.group(1).startswith("cs_")
    me = client.get("/api/v1/account", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert me.json()["username"] == "pia"
    assert secret.group(1) not in client.get("/dashboard").text


def test_logout_ends_the_session(client: TestClient) -> None:
    csrf = sign_up(client, "quinn")
    response = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.delete("cs_session")
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_anonymous_home_explains_the_choice(client: TestClient) -> None:
    page = client.get("/").text
    assert "You need a free account to register here" in page
    assert "copyseal</code> command line" in page or "command line" in page


def test_dashboard_title_search_answers_the_list_the_page_targets(client: TestClient) -> None:
    sign_up(client, "rosa")
    page = client.get("/dashboard").text
    form = re.search(r'<form[^>]*hx-get="/dashboard"[^>]*>', page)
    assert form, "the dashboard's search form is an htmx form"
    target = re.search(r'hx-target="#([\w-]+)"', form.group(0))
    assert target and f'id="{target.group(1)}"' in page
    # What htmx sends: HX-Target is the id of the element it swaps (hx-headers cannot
    # override the headers htmx sets itself).
    headers = {"HX-Request": "true", "HX-Target": target.group(1), "HX-Trigger": "q"}
    answer = client.get("/dashboard", params={"q": "nothing"}, headers=headers)
    assert answer.status_code == 200
    assert "<html" not in answer.text and "<header" not in answer.text
    assert "No works with" in answer.text
