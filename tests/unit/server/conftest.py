"""An app on a fresh home, driven in-process over HTTPS (so Secure cookies flow)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from copyseal.adapters.home import Home
from copyseal.server.app import create_app
from copyseal.server.ratelimit import RateLimiter

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
PASSWORD = "correct horse battery staple"


def make_client(home: Path, **options: Any) -> TestClient:
    options.setdefault("limiter", RateLimiter(enabled=False))
    options.setdefault("with_search", False)
    app = create_app(home, password_hasher=FAST_HASHER, **options)
    return TestClient(app, base_url="https://testserver")


@pytest.fixture
def client(home: Home) -> Iterator[TestClient]:
    with make_client(home.path) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "page has no CSRF field"
    return found.group(1)


def sign_up(client: TestClient, username: str, *, custodial: bool = True) -> str:
    """Sign up through the web form; the client keeps the session. Returns a CSRF token."""
    token = csrf_of(client.get("/signup").text)
    custody = "custodial" if custodial else "self"
    form = {"csrf": token, "username": username, "password": PASSWORD, "custody": custody}
    response = client.post("/signup", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/dashboard").text)


def api_token(client: TestClient, username: str, *, custodial: bool = True) -> str:
    created = client.post(
        "/api/v1/accounts",
        json={"username": username, "password": PASSWORD, "custodial": custodial},
    )
    assert created.status_code == 201, created.text
    response = client.post(
        "/api/v1/tokens", json={"username": username, "password": PASSWORD, "name": "test"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])
