"""Web pages: home (register by paste or drop), certificate page / JSON / PDF, verify page.

Every form is a plain HTML form that works without JavaScript; htmx, where present, swaps
in the result without a page load (the same route answers with a fragment).
"""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from copyseal.core.certificate import MAX_CERTIFICATE_BYTES
from copyseal.core.content import to_lf
from copyseal.core.trust import WELL_KNOWN_PATH
from copyseal.errors import CopysealError, InvalidInput
from copyseal.server.api_works import read_upload, trust_body, verify_bytes
from copyseal.server.deps import Caller, Services, resolve_caller, services, verify_csrf
from copyseal.server.pdf import render_certificate_pdf
from copyseal.server.ratelimit import body_limit, limited_route
from copyseal.server.rendering import base_url, render
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput
from copyseal.services.submission import media_type_for
from copyseal.services.trust import verify_trusted

pages = APIRouter(include_in_schema=False, route_class=limited_route("read"))
SERVED_AS_IS = {"text/plain", "image/png", "image/jpeg", "image/gif", "image/webp", "audio/mpeg"}
"""Registered media types a download keeps; any other is sent as application/octet-stream."""
forms = APIRouter(include_in_schema=False, route_class=limited_route("write"))


@pages.get("/", response_class=HTMLResponse)
def home(request: Request, svc: Services = Depends(services)) -> HTMLResponse:
    caller = resolve_caller(request)
    keys = svc.accounts.keys(caller.account) if caller.account else []
    custodial = next((k for k in keys if k.kind == "custodial"), None)
    return render(request, "home.html", {"nav": "register", "custodial": custodial})


async def _web_work(text: str, upload: UploadFile | None, title: str | None, limit: int) -> Any:
    if upload is not None and upload.filename:
        content = await upload.read(limit + 1)
        media_type = media_type_for(upload.filename, upload.content_type)
        return WorkInput(content, media_type, upload.filename, title or None)
    if not text.strip():
        raise InvalidInput("paste some text or choose a file to register")
    # Browsers send a textarea's lines ending in CRLF whatever was typed or pasted: the
    # text registered is the one the creator saw, with LF line endings (the page says so).
    return WorkInput(to_lf(text.encode("utf-8", "replace")), TEXT_MEDIA_TYPE, "text", title or None)


@forms.post("/register", openapi_extra=body_limit(64 << 20))
async def register_form(
    request: Request,
    csrf: str = Form(""),
    text: str = Form("", max_length=1_000_000),
    title: str = Form("", max_length=300),
    file: UploadFile | None = File(None),
    svc: Services = Depends(services),
) -> Response:
    caller = resolve_caller(request)
    verify_csrf(request, svc, caller, csrf)
    limit = svc.submissions.max_content_bytes
    work = await _web_work(text, file, title.strip(), limit)
    reg = await svc.batcher.submit(work, caller.account)
    if isinstance(reg, CopysealError):
        raise reg
    target = f"/certificates/{reg.certificate.work_id}?new={1 if reg.created else 0}"
    return RedirectResponse(target, status_code=303)


@pages.get("/certificates/{work_id}.json")
def certificate_json(work_id: str, svc: Services = Depends(services)) -> Response:
    cert = svc.works.certificate(work_id)
    return Response(
        cert.to_json(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{cert.work_id}.cert.json"'},
    )


def download_name(work_id: str, media_type: str) -> str:
    base = media_type.split(";")[0].strip().lower()
    return f"{work_id}{mimetypes.guess_extension(base) or '.bin'}"


@pages.get("/certificates/{work_id}/content")
def certificate_content(work_id: str, svc: Services = Depends(services)) -> Response:
    """The exact bytes a certificate names, for a public work registered here with them.
    Always a download, never rendered here: the bytes are whatever was registered."""
    kept = svc.works.kept_content(work_id)
    base = kept.media_type.split(";")[0].strip().lower()
    shown = kept.media_type if base in SERVED_AS_IS else "application/octet-stream"
    return Response(
        kept.data,
        media_type=shown,
        headers={
            "Content-Disposition": f'attachment; filename="{download_name(kept.work_id, base)}"',
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


@pages.get("/certificates/{work_id}.pdf")
def certificate_pdf(work_id: str, request: Request, svc: Services = Depends(services)) -> Response:
    view = svc.works.view(work_id)
    base = base_url(request, svc)
    work_id = view.certificate.work_id
    data = render_certificate_pdf(
        view,
        verify_url=f"{base}/verify/{work_id}",
        json_url=f"{base}/certificates/{work_id}.json",
        generated_at=datetime.now(UTC),
        trust_root=(svc.own_trust_root.root_id, f"{base}{WELL_KNOWN_PATH}"),
        anchoring=bool(svc.own_trust_root.chains),
    )
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{work_id}.certificate.pdf"'},
    )


@pages.get("/certificates/{work_id}", response_class=HTMLResponse)
def certificate_page(
    work_id: str, request: Request, new: int = 0, svc: Services = Depends(services)
) -> HTMLResponse:
    view = svc.works.view(work_id)
    caller: Caller = resolve_caller(request)
    mine = caller.account is not None and view.work["owner"] in svc.accounts.dids(caller.account)
    media = str((view.work["content"] or {}).get("media_type", ""))
    return render(
        request,
        "certificate.html",
        {
            "view": view,
            "work": view.work,
            "cert": view.certificate,
            "new": new,
            "mine": mine,
            # Anchors are spoken of only where the log anchors: else "not yet" misleads.
            "anchoring": bool(svc.own_trust_root.chains),
            "content_name": download_name(view.certificate.work_id, media) if view.kept else None,
        },
    )


@pages.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, svc: Services = Depends(services)) -> HTMLResponse:
    return render(request, "verify.html", {"nav": "verify", "trust": trust_body(svc)})


@pages.get("/verify/{work_id}", response_class=HTMLResponse)
def verify_work(work_id: str, request: Request, svc: Services = Depends(services)) -> HTMLResponse:
    """The page a certificate's QR code opens: the log's own certificate for the work, checked."""
    view = svc.works.view(work_id)
    report = verify_trusted(view.certificate, svc.trust_root)  # as /verify would check it
    context = {"report": report.to_dict(), "work": view.work, "from_log": True}
    return render(request, "verify.html", {"nav": "verify", "trust": trust_body(svc), **context})


@forms.post("/verify", response_class=HTMLResponse, openapi_extra=body_limit(64 << 20))
async def verify_form(
    request: Request,
    certificate: UploadFile | None = File(None),
    certificate_text: str = Form("", max_length=1 << 20),
    content: UploadFile | None = File(None),
    svc: Services = Depends(services),
) -> HTMLResponse:
    """No CSRF token: verifying changes nothing, and anyone may do it."""
    context: dict[str, Any] = {"nav": "verify", "trust": trust_body(svc)}
    try:
        if certificate is not None and certificate.filename:
            cert = await read_upload(certificate, MAX_CERTIFICATE_BYTES, "certificate") or b""
        elif certificate_text.strip():
            cert = certificate_text.strip().encode() + b"\n"
        else:
            raise InvalidInput("drop a certificate file or paste its JSON")
        has_content = content is not None and content.filename
        limit = svc.submissions.max_content_bytes
        data = await read_upload(content, limit, "content") if has_content else None
        context["report"] = await run_in_threadpool(verify_bytes, svc, cert, data)
    except CopysealError as exc:
        context["failure"] = exc.to_dict()
    template = "partials/verdict.html" if request.headers.get("hx-request") else "verify.html"
    return render(request, template, context)
