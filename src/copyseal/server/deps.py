"""What every route may ask for: the wired use-cases, who is calling, and CSRF checks.

Who is calling:

- ``Authorization: Bearer cs_…`` — an API token, for scripts. No cookies, so no CSRF.
- the session cookie — a browser. Any unsafe request must also carry the CSRF token (form
  field ``csrf`` or header ``X-CSRF-Token``), which is an HMAC of the browser's id cookie and
  the session, so a page on another site can neither read nor forge it.
- nobody — public reads, self-custody claims, verification.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Depends, Request

from copyseal.core.encoding import b64url_encode
from copyseal.core.trust import TrustRoot
from copyseal.domain.accounts import Account
from copyseal.errors import Forbidden, Unauthenticated
from copyseal.server.batching import RegistrationBatcher
from copyseal.services.accounts import Accounts
from copyseal.services.registry import Registry
from copyseal.services.submission import Submissions
from copyseal.services.tiles import LogTiles
from copyseal.services.works import Works

SESSION_COOKIE = "cs_session"
BROWSER_COOKIE = "cs_bid"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class SimilarityCheck(Protocol):
    """The "who owns this?" use-case (``copyseal.services.search.SimilaritySearch``)."""

    def check(self, content: bytes, media_type: str, *, top_k: int = 10) -> list[Any]: ...


@dataclass
class Settings:
    public_url: str | None = None  # e.g. https://copyseal.example; else taken from requests
    secure_cookies: bool | None = None  # None: Secure unless plain HTTP to a loopback host
    body_timeout_s: float = 20.0  # a request body may stall this long (server/timeouts.py)


@dataclass
class Services:
    """The use-cases wired by ``server/app.py``; routes reach them through ``services``."""

    registry: Registry
    accounts: Accounts
    works: Works
    submissions: Submissions
    tiles: LogTiles
    search: SimilarityCheck | None
    settings: Settings
    batcher: RegistrationBatcher
    csrf_key: bytes
    log_vkey: str
    origin: str
    # What this service publishes (its own log, witnesses, chain), and what its verify
    # endpoint and page trust: that, and whatever the home's trust.json adds.
    own_trust_root: TrustRoot
    trust_root: TrustRoot


@dataclass(frozen=True)
class Caller:
    account: Account | None = None
    via: str | None = None  # "token", "session" or None
    session_token: str | None = None


def get_services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def services(request: Request) -> Services:
    """The wired use-cases (async, so FastAPI resolves it on the event loop, not a thread)."""
    return get_services(request)


def csrf_token(svc: Services, browser_id: str, session_token: str | None) -> str:
    message = f"{browser_id}\0{session_token or ''}".encode()
    return b64url_encode(hmac.new(svc.csrf_key, message, hashlib.sha256).digest()[:24])


def verify_csrf(request: Request, svc: Services, caller: Caller, supplied: str | None) -> None:
    browser_id = request.cookies.get(BROWSER_COOKIE)
    expected = csrf_token(svc, browser_id, caller.session_token) if browser_id else None
    if not supplied or expected is None or not hmac.compare_digest(supplied, expected):
        raise Forbidden(
            "the form's security token is missing or stale",
            hint="Reload the page and send the form again.",
        )


def resolve_caller(request: Request) -> Caller:
    cached: Caller | None = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    svc = get_services(request)
    caller = Caller()
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, secret = auth.partition(" ")
        account = svc.accounts.token_account(secret.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            raise Unauthenticated("the API token is not valid (revoked, or mistyped)")
        caller = Caller(account, "token")
    elif (token := request.cookies.get(SESSION_COOKIE)) is not None:
        account = svc.accounts.session_account(token)
        if account is not None:
            caller = Caller(account, "session", token)
    request.state.caller = caller
    return caller


async def api_caller(request: Request) -> Caller:
    """The caller of an API route; a browser session must show its CSRF header to write."""
    caller = resolve_caller(request)
    if caller.via == "session" and request.method in UNSAFE:
        verify_csrf(request, get_services(request), caller, request.headers.get(CSRF_HEADER))
    return caller


def require_account(caller: Caller) -> Account:
    if caller.account is None:
        raise Unauthenticated("this needs an account")
    return caller.account


async def api_account(caller: Caller = Depends(api_caller)) -> Account:
    return require_account(caller)
