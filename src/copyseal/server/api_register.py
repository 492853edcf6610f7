"""``/api/v1/register``: log works, one or a batch, signed by the caller or by the server.

Registration blocks on the registry's group commit, so these routes are plain functions:
FastAPI runs each in its thread pool, and concurrent requests reach the sequencer together
and share one durable commit.
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from copyseal.errors import CopysealError, InvalidInput
from copyseal.server.deps import Caller, Services, api_caller, require_account, services
from copyseal.server.problems import problem
from copyseal.server.ratelimit import body_limit, limited_route
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput
from copyseal.services.registry import Registration
from copyseal.services.submission import MAX_BATCH, media_type_for

MAX_UPLOAD_FILES = 100

router = APIRouter(prefix="/api/v1", tags=["register"], route_class=limited_route("write"))


class ClaimSubmission(BaseModel):
    """A register claim signed by the caller's own key (self-custody)."""

    model_config = ConfigDict(extra="forbid")
    claim: dict[str, Any] = Field(description="The signed claim, as in docs/formats.md.")


class ContentSubmission(BaseModel):
    """Content for the authenticated account's custodial key to sign."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(None, description="The work as text (UTF-8).")
    content_base64: str | None = Field(None, description="The work's bytes, base64.")
    media_type: str | None = Field(None, description="Media type of content_base64.")
    title: str | None = Field(None, max_length=300)


RegisterItem = ClaimSubmission | ContentSubmission


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[RegisterItem] = Field(max_length=MAX_BATCH)


def work_input(item: ContentSubmission, label: str) -> WorkInput:
    if (item.text is None) == (item.content_base64 is None):
        raise InvalidInput("give exactly one of text or content_base64", label=label)
    if item.text is not None:
        return WorkInput(item.text.encode("utf-8", "replace"), TEXT_MEDIA_TYPE, label, item.title)
    try:
        content = b64decode(item.content_base64 or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("content_base64 is not base64", label=label) from exc
    return WorkInput(content, media_type_for(None, item.media_type), label, item.title)


def _item(item: RegisterItem, label: str) -> Any:
    return item.claim if isinstance(item, ClaimSubmission) else work_input(item, label)


def links(work_id: str) -> dict[str, str]:
    return {
        "work": f"/api/v1/works/{work_id}",
        "certificate": f"/certificates/{work_id}.json",
        "page": f"/certificates/{work_id}",
        "pdf": f"/certificates/{work_id}.pdf",
        "verify": f"/verify/{work_id}",
    }


def registration_body(reg: Registration) -> dict[str, Any]:
    work_id = reg.certificate.work_id
    return {
        "work_id": work_id,
        "created": reg.created,
        "links": links(work_id),
        "certificate": reg.certificate.to_dict(),
    }


def registered(reg: Registration) -> Response:
    """The registration as JSON; the certificate goes in as its canonical bytes, unparsed."""
    work_id = reg.certificate.work_id
    head = {"work_id": work_id, "created": reg.created, "links": links(work_id)}
    body = json.dumps(head, separators=(",", ":")).encode()
    return Response(
        body[:-1] + b',"certificate":' + reg.certificate.to_json().rstrip(b"\n") + b"}",
        status_code=201 if reg.created else 200,
        media_type="application/json",
        headers={"Location": f"/api/v1/works/{work_id}"},
    )


def outcomes(results: list[Registration | CopysealError], path: str) -> dict[str, Any]:
    return {
        "results": [
            {"ok": False, "problem": problem(r, path)}
            if isinstance(r, CopysealError)
            else {"ok": True, **registration_body(r)}
            for r in results
        ]
    }


@router.post(
    "/register", status_code=201, summary="Register one work", openapi_extra=body_limit(4 << 20)
)
async def register(
    item: RegisterItem,
    caller: Caller = Depends(api_caller),
    svc: Services = Depends(services),
) -> Response:
    """Either a claim signed by your own key (no account needed; with an account, the key
    must be one the account controls), or content that your account's custodial key signs.
    201 for a new registration, 200 when the same work was registered before."""
    outcome = await svc.batcher.submit(_item(item, "item"), caller.account)
    if isinstance(outcome, CopysealError):
        raise outcome
    return registered(outcome)


@router.post(
    "/register/batch", summary="Register up to 1,000 works", openapi_extra=body_limit(16 << 20)
)
def register_batch(
    request: Request,
    batch: BatchRequest,
    caller: Caller = Depends(api_caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """One result per item, in order: a registration, or the problem with that item."""
    items: list[Any] = []
    errors: dict[int, CopysealError] = {}
    for i, item in enumerate(batch.items):
        try:
            items.append(_item(item, f"items.{i}"))
        except CopysealError as exc:
            errors[i] = exc
            items.append(None)
    good = [it for i, it in enumerate(items) if i not in errors]
    done = iter(svc.submissions.submit(good, caller.account))
    results = [errors[i] if i in errors else next(done) for i in range(len(items))]
    return outcomes(results, request.url.path)


@router.post(
    "/register/upload",
    status_code=201,
    summary="Register uploaded files",
    openapi_extra=body_limit(64 << 20),
)
async def register_upload(
    request: Request,
    files: list[UploadFile] = File(..., description="1 to 100 files (multipart)."),
    title: str | None = Form(None, max_length=300),
    caller: Caller = Depends(api_caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Files for the authenticated account's custodial key to sign."""
    account = require_account(caller)
    if len(files) > MAX_UPLOAD_FILES:
        raise InvalidInput(
            f"an upload holds at most {MAX_UPLOAD_FILES} files; this one holds {len(files)}",
            hint="Send the rest in further uploads; nothing of this one was registered.",
            limit=MAX_UPLOAD_FILES,
        )
    limit = svc.submissions.max_content_bytes
    works = []
    for upload in files:
        content = await upload.read(limit + 1)
        media_type = media_type_for(upload.filename, upload.content_type)
        works.append(WorkInput(content, media_type, upload.filename or "upload", title))
    results = await run_in_threadpool(svc.submissions.submit, works, account)
    return outcomes(results, request.url.path)
