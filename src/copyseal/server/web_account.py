"""Web pages for accounts: sign-up, log-in, log-out, and the creator's dashboard.

Every form here changes state, so every one checks its CSRF token first.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from copyseal.errors import CopysealError, RateLimited, Unauthenticated
from copyseal.server.api_account import sign_up_client
from copyseal.server.deps import (
    SESSION_COOKIE,
    Caller,
    Services,
    resolve_caller,
    services,
    verify_csrf,
)
from copyseal.server.ratelimit import limited_route
from copyseal.server.rendering import clear_session, render, set_cookie

pages = APIRouter(include_in_schema=False, route_class=limited_route("read"))
auth = APIRouter(include_in_schema=False, route_class=limited_route("auth"))
forms = APIRouter(include_in_schema=False, route_class=limited_route("write"))
WORKS_LIST = "works-list"  # the id of the dashboard's list of works (dashboard.html)


def _next(target: str | None) -> str:
    """Only same-site paths: a log-in link must not bounce the user to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/dashboard"


@pages.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request) -> HTMLResponse:
    return render(request, "signup.html", {"nav": "signup"})


@pages.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = Query(None, max_length=200)) -> HTMLResponse:
    return render(request, "login.html", {"nav": "login", "next": _next(next)})


def _retry_after(exc: CopysealError) -> dict[str, str]:
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(max(1, round(exc.retry_after)))}
    return {}


def _session_response(request: Request, svc: Services, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    max_age = int(svc.accounts.session_ttl.total_seconds())
    set_cookie(response, request, SESSION_COOKIE, token, max_age)
    return response


@auth.post("/signup")
async def signup(
    request: Request,
    csrf: str = Form(""),
    username: str = Form("", max_length=64),
    password: str = Form("", max_length=1024),
    custody: str = Form("custodial", pattern="^(custodial|self)$"),
    svc: Services = Depends(services),
) -> Response:
    verify_csrf(request, svc, Caller(), csrf)
    try:
        await run_in_threadpool(
            svc.accounts.sign_up,
            username,
            password,
            custodial=custody == "custodial",
            client=sign_up_client(request),
        )
    except CopysealError as exc:
        context = {"nav": "signup", "error": exc.message, "username": username, "custody": custody}
        return render(
            request, "signup.html", context, status=exc.http_status, headers=_retry_after(exc)
        )
    grant = await run_in_threadpool(svc.accounts.log_in, username, password)
    return _session_response(request, svc, grant.token, "/dashboard?welcome=1")


@auth.post("/login")
async def login(
    request: Request,
    csrf: str = Form(""),
    username: str = Form("", max_length=64),
    password: str = Form("", max_length=1024),
    next: str = Form("/dashboard", max_length=200),
    svc: Services = Depends(services),
) -> Response:
    verify_csrf(request, svc, Caller(), csrf)
    try:
        grant = await run_in_threadpool(svc.accounts.log_in, username, password)
    except (Unauthenticated, RateLimited) as exc:
        message = f"{exc.message}. {exc.hint}" if isinstance(exc, RateLimited) else exc.message
        context = {"nav": "login", "error": message, "username": username, "next": next}
        return render(
            request, "login.html", context, status=exc.http_status, headers=_retry_after(exc)
        )
    return _session_response(request, svc, grant.token, _next(next))


@forms.post("/logout")
def logout(request: Request, csrf: str = Form(""), svc: Services = Depends(services)) -> Response:
    caller = resolve_caller(request)
    verify_csrf(request, svc, caller, csrf)
    if caller.session_token:
        svc.accounts.log_out(caller.session_token)
    response = RedirectResponse("/", status_code=303)
    clear_session(response, request)
    return response


def _account(request: Request) -> Caller:
    caller = resolve_caller(request)
    if caller.account is None:
        raise Unauthenticated("log in to see your dashboard", hint="Log in, then try again.")
    return caller


def _dashboard(
    request: Request, svc: Services, caller: Caller, extra: dict[str, Any] | None = None
) -> HTMLResponse:
    account = caller.account
    assert account is not None
    q = request.query_params.get("q", "")[:200]
    cursor = request.query_params.get("cursor")
    owners = svc.accounts.dids(account)
    page = svc.works.find(owners=owners, title=q or None, cursor=cursor, limit=25)
    context = {
        "nav": "dashboard",
        "keys": svc.accounts.keys(account),
        "tokens": svc.accounts.tokens(account),
        "page": page,
        "q": q,
        "welcome": request.query_params.get("welcome") == "1",
        **(extra or {}),
    }
    # htmx names the element it swaps in HX-Target: the list, which gets the list alone.
    partial = request.headers.get("hx-target") == WORKS_LIST
    return render(request, "partials/works.html" if partial else "dashboard.html", context)


@pages.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, svc: Services = Depends(services)) -> Response:
    caller = resolve_caller(request)
    if caller.account is None:
        return RedirectResponse("/login?next=/dashboard", status_code=303)
    return _dashboard(request, svc, caller)


@pages.get("/dashboard/export")
def dashboard_export(request: Request, svc: Services = Depends(services)) -> Response:
    account = _account(request).account
    assert account is not None
    data = svc.works.export(svc.accounts.dids(account))
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="copyseal-certificates.zip"'},
    )


@forms.post("/dashboard/tokens", response_class=HTMLResponse)
def new_token(
    request: Request,
    csrf: str = Form(""),
    name: str = Form("script", max_length=64),
    svc: Services = Depends(services),
) -> HTMLResponse:
    caller = _account(request)
    verify_csrf(request, svc, caller, csrf)
    assert caller.account is not None
    token, secret = svc.accounts.create_token(caller.account, name)
    return _dashboard(request, svc, caller, {"new_token": secret, "new_token_name": token.name})


@forms.post("/dashboard/tokens/{token_id}/revoke")
def revoke_token(
    token_id: int, request: Request, csrf: str = Form(""), svc: Services = Depends(services)
) -> Response:
    caller = _account(request)
    verify_csrf(request, svc, caller, csrf)
    assert caller.account is not None
    svc.accounts.revoke_token(caller.account, token_id)
    return RedirectResponse("/dashboard#tokens", status_code=303)


@forms.post("/dashboard/keys/custodial")
def create_custodial(
    request: Request, csrf: str = Form(""), svc: Services = Depends(services)
) -> Response:
    caller = _account(request)
    verify_csrf(request, svc, caller, csrf)
    assert caller.account is not None
    svc.accounts.create_custodial_key(caller.account)
    return RedirectResponse("/dashboard#keys", status_code=303)


@pages.get("/dashboard/keys/link", response_class=HTMLResponse)
def link_page(
    request: Request, did: str = Query("", max_length=100), svc: Services = Depends(services)
) -> HTMLResponse:
    caller = _account(request)
    assert caller.account is not None
    issued = svc.accounts.link_challenge(caller.account, did) if did else None
    context = {
        "nav": "dashboard",
        "did": did,
        "message": issued.message.decode() if issued else None,
        "challenge": issued.challenge if issued else None,
        "expires_at": issued.expires_at if issued else None,
    }
    return render(request, "link.html", context)


@forms.post("/dashboard/keys/link")
def link_key(
    request: Request,
    csrf: str = Form(""),
    did: str = Form("", max_length=100),
    challenge: str = Form("", max_length=100),
    signature: str = Form("", max_length=200),
    svc: Services = Depends(services),
) -> Response:
    caller = _account(request)
    verify_csrf(request, svc, caller, csrf)
    assert caller.account is not None
    svc.accounts.link_key(caller.account, did.strip(), challenge.strip(), signature.strip())
    return RedirectResponse("/dashboard#keys", status_code=303)
