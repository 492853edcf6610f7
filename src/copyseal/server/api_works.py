"""``/api/v1/works``, ``/api/v1/verify`` and ``/api/v1/check``: reading, verifying, matching."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from copyseal.core.certificate import MAX_CERTIFICATE_BYTES, Certificate
from copyseal.core.trust import WELL_KNOWN_PATH
from copyseal.errors import ContentTooLarge, Unavailable
from copyseal.server.api_register import links
from copyseal.server.deps import Services, SimilarityCheck, services
from copyseal.server.ratelimit import body_limit, limited_route
from copyseal.services.creator import TEXT_MEDIA_TYPE
from copyseal.services.submission import media_type_for
from copyseal.services.trust import trust_summary, verify_trusted
from copyseal.services.works import MAX_PAGE, Page, entry_summary

reads = APIRouter(prefix="/api/v1", tags=["works"], route_class=limited_route("read"))
writes = APIRouter(prefix="/api/v1", tags=["verify and check"], route_class=limited_route("write"))


def page_body(page: Page) -> dict[str, Any]:
    return {
        "items": [{**entry_summary(i), "links": links(i.work_id)} for i in page.items],
        "next_cursor": page.next_cursor,
    }


@reads.get("/works", summary="List works by owner, or search them by title")
def list_works(
    owner: str | None = Query(None, max_length=100, description="A creator's did:key."),
    title: str | None = Query(None, max_length=200, description="Part of the title."),
    cursor: str | None = Query(None, max_length=20, description="next_cursor of a page."),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Registered works, oldest first, a page at a time; follow ``next_cursor``."""
    owners = None if owner is None else [owner]
    return page_body(svc.works.find(owners=owners, title=title, cursor=cursor, limit=limit))


@reads.get("/works/{work_id}", summary="One registered work")
def get_work(work_id: str, svc: Services = Depends(services)) -> dict[str, Any]:
    work = svc.works.work(work_id)
    return {**work, "links": links(work["work_id"])}


@reads.get("/works/{work_id}/certificate", summary="A work's certificate (JSON)")
def get_certificate(work_id: str, svc: Services = Depends(services)) -> Response:
    """The certificate in its canonical bytes, proving inclusion in the latest checkpoint."""
    cert = svc.works.certificate(work_id)
    return Response(cert.to_json(), media_type="application/json")


async def read_upload(upload: UploadFile | None, limit: int, what: str) -> bytes | None:
    if upload is None:
        return None
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ContentTooLarge(f"the {what} is over {limit} bytes", limit=limit)
    return data


def trust_body(svc: Services) -> dict[str, Any]:
    """Which trust root this service verifies against, and where its own is published."""
    return {**trust_summary(svc.trust_root), "published": WELL_KNOWN_PATH}


def verify_bytes(svc: Services, certificate: bytes, content: bytes | None) -> dict[str, Any]:
    cert = Certificate.from_json(certificate)
    report = verify_trusted(cert, svc.trust_root, content=content)
    log = {"origin": cert.log.name, "vkey": cert.log_vkey, "key_id": cert.log.key_id.hex()}
    return {**report.to_dict(), "log": log, "trust_root": trust_body(svc)}


async def verify_upload(
    svc: Services, certificate: UploadFile, content: UploadFile | None
) -> dict[str, Any]:
    cert = await read_upload(certificate, MAX_CERTIFICATE_BYTES, "certificate") or b""
    data = await read_upload(content, svc.submissions.max_content_bytes, "content")
    return await run_in_threadpool(verify_bytes, svc, cert, data)


@writes.post("/verify", summary="Verify a certificate", openapi_extra=body_limit(64 << 20))
async def verify(
    certificate: UploadFile = File(..., description="The certificate (JSON)."),
    content: UploadFile | None = File(None, description="The registered content, optional."),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Every offline check, against this service's trust root (``trust_root`` in the answer
    says which: its own log, witnesses and chain, and what its operator added). ``ok`` is
    false when any check failed; a certificate that cannot be read is a problem (400), one
    whose log key the root does not list is ``untrusted-log`` (422), a look-alike of a
    trusted log ``foreign-log`` (422)."""
    return await verify_upload(svc, certificate, content)


class CheckText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., min_length=1, max_length=100_000)
    top_k: int = Field(10, ge=1, le=50)


def require_search(svc: Services) -> SimilarityCheck:
    if svc.search is None:
        raise Unavailable(
            "similarity search is turned off on this service",
            retry_after=3600,
            hint="Exact look-ups still work: list works by owner or title.",
        )
    return svc.search


def match_body(match: Any) -> dict[str, Any]:
    return {
        "work_id": match.work_id,
        "owner": match.owner,
        "logged_at": match.logged_at,
        "score": round(float(match.score), 4),
        "kind": match.kind,
        "original": bool(match.original),
        "shared_passages": [[int(a), int(b)] for a, b in (match.shared_passages or [])],
        "links": links(match.work_id),
    }


def run_check(svc: Services, content: bytes, media_type: str, top_k: int) -> dict[str, Any]:
    matches = require_search(svc).check(content, media_type, top_k=top_k)
    return {"matches": [match_body(m) for m in matches]}


@writes.post("/check", summary="Who owns this? (text)")
def check_text(body: CheckText, svc: Services = Depends(services)) -> dict[str, Any]:
    """Registered works that this text copies or resembles, best match first."""
    return run_check(svc, body.text.encode("utf-8", "replace"), TEXT_MEDIA_TYPE, body.top_k)


@writes.post("/check/upload", summary="Who owns this? (file)", openapi_extra=body_limit(64 << 20))
async def check_upload(
    file: UploadFile = File(...),
    top_k: int = Query(10, ge=1, le=50),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    data = await read_upload(file, svc.submissions.max_content_bytes, "file") or b""
    media_type = media_type_for(file.filename, file.content_type)
    return await run_in_threadpool(run_check, svc, data, media_type, top_k)
