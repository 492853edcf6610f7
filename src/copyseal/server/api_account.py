"""``/api/v1/accounts``, ``/api/v1/tokens`` and ``/api/v1/account``: accounts for scripts.

A script gets an API token once, with the account's password (or from the dashboard), then
sends ``Authorization: Bearer <token>``. Tokens are shown once and stored hashed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from copyseal.core.encoding import b64url_encode
from copyseal.domain.accounts import LINK_PURPOSE, Account, AccountKey, ApiToken
from copyseal.server.api_works import page_body
from copyseal.server.deps import Services, api_account, services
from copyseal.server.ratelimit import client_key, limited_route
from copyseal.services.works import MAX_PAGE

auth = APIRouter(prefix="/api/v1", tags=["accounts"], route_class=limited_route("auth"))
mine = APIRouter(prefix="/api/v1/account", tags=["accounts"], route_class=limited_route("write"))


class SignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(..., max_length=64)
    password: str = Field(..., max_length=1024)
    custodial: bool = Field(True, description="Let the server hold a signing key for you.")


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(..., max_length=64)
    password: str = Field(..., max_length=1024)
    name: str = Field("script", max_length=64)


class LinkKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    did: str = Field(..., max_length=100)
    challenge: str = Field(..., max_length=100, description="From GET /keys/link.")
    signature: str = Field(..., max_length=200, description="base64url Ed25519 signature.")


def key_body(key: AccountKey) -> dict[str, Any]:
    return {"did": key.did, "kind": key.kind, "created_at": key.created_at}


def token_body(token: ApiToken) -> dict[str, Any]:
    return {"id": token.id, "name": token.name, "hint": token.hint, "created_at": token.created_at}


def account_body(svc: Services, account: Account) -> dict[str, Any]:
    return {
        "username": account.username,
        "created_at": account.created_at,
        "keys": [key_body(k) for k in svc.accounts.keys(account)],
    }


def sign_up_client(request: Request) -> str | None:
    """The address a sign-up is counted against, or None when rate limits are off."""
    return client_key(request) if request.app.state.limiter.enabled else None


@auth.post("/accounts", status_code=201, summary="Sign up")
async def sign_up(
    body: SignUp, request: Request, svc: Services = Depends(services)
) -> dict[str, Any]:
    """A taken username is a 409. Each client address may try 10 sign-ups an hour (429
    after that, with Retry-After), whether the names were free or taken."""
    account = await run_in_threadpool(
        svc.accounts.sign_up,
        body.username,
        body.password,
        custodial=body.custodial,
        client=sign_up_client(request),
    )
    return account_body(svc, account)


@auth.post("/tokens", status_code=201, summary="Get an API token with a password")
async def create_token(body: TokenRequest, svc: Services = Depends(services)) -> dict[str, Any]:
    """The token is in the answer once; keep it secret, like a password. After 5 failed
    attempts for a username, log-in for it pauses (429 with Retry-After) for a time that
    doubles from 1 minute up to 15."""
    account = await run_in_threadpool(svc.accounts.check_password, body.username, body.password)
    token, secret = svc.accounts.create_token(account, body.name)
    return {**token_body(token), "token": secret}


@mine.get("", summary="Who am I")
def whoami(account: Account = Depends(api_account), svc: Services = Depends(services)) -> Any:
    return account_body(svc, account)


@mine.get("/works", summary="My works")
def my_works(
    title: str | None = Query(None, max_length=200),
    cursor: str | None = Query(None, max_length=20),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    account: Account = Depends(api_account),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Works signed by any key this account controls."""
    owners = svc.accounts.dids(account)
    return page_body(svc.works.find(owners=owners, title=title, cursor=cursor, limit=limit))


@mine.get("/export", summary="Export my certificates (zip)")
def export(account: Account = Depends(api_account), svc: Services = Depends(services)) -> Response:
    data = svc.works.export(svc.accounts.dids(account))
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="copyseal-certificates.zip"'},
    )


@mine.get("/tokens", summary="My API tokens")
def tokens(account: Account = Depends(api_account), svc: Services = Depends(services)) -> Any:
    return {"tokens": [token_body(t) for t in svc.accounts.tokens(account)]}


@mine.delete("/tokens/{token_id}", status_code=204, summary="Revoke an API token")
def revoke(
    token_id: int, account: Account = Depends(api_account), svc: Services = Depends(services)
) -> Response:
    svc.accounts.revoke_token(account, token_id)
    return Response(status_code=204)


@mine.post("/keys/custodial", status_code=201, summary="Create my custodial key")
def custodial(account: Account = Depends(api_account), svc: Services = Depends(services)) -> Any:
    """The server generates a key, seals it at rest and signs with it when you ask."""
    return key_body(svc.accounts.create_custodial_key(account))


@mine.get("/keys/link", summary="The message that links a self-custody key")
def link_message(
    did: str = Query(..., max_length=100),
    account: Account = Depends(api_account),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Sign ``message`` (the bytes, base64url) with the key, for purpose ``account-link``,
    then POST the signature with ``challenge`` before ``expires_at`` (10 minutes). Each
    challenge links once."""
    issued = svc.accounts.link_challenge(account, did)
    return {
        "did": did,
        "purpose": LINK_PURPOSE,
        "challenge": issued.challenge,
        "expires_at": issued.expires_at,
        "message": b64url_encode(issued.message),
        "text": issued.message.decode(),
    }


@mine.post("/keys/link", status_code=201, summary="Link a self-custody key")
def link(
    body: LinkKey, account: Account = Depends(api_account), svc: Services = Depends(services)
) -> dict[str, Any]:
    """An expired, foreign or already used challenge is a 422 (``check``: ``challenge``)."""
    return key_body(svc.accounts.link_key(account, body.did, body.challenge, body.signature))
