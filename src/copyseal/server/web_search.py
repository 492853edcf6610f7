"""The "who owns this?" page: paste text or drop a file, see the ranked matches, and compare
each side by side with the shared passages highlighted.

Matching is the similarity use-case's (``copyseal.services.search``); without it the page
says so and the form answers 503, like the API.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from copyseal.errors import CopysealError, InvalidInput
from copyseal.server.api_works import read_upload, require_search
from copyseal.server.deps import Services, services
from copyseal.server.ratelimit import body_limit, limited_route
from copyseal.server.rendering import render
from copyseal.services.creator import TEXT_MEDIA_TYPE
from copyseal.services.submission import media_type_for

pages = APIRouter(include_in_schema=False, route_class=limited_route("read"))
forms = APIRouter(include_in_schema=False, route_class=limited_route("write"))

MAX_QUERY_TEXT = 100_000


def segments(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, shared) runs from the match's character spans, which may
    overlap, touch or run past the end; they are clamped and merged."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, a), min(len(text), b)) for a, b in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[tuple[str, bool]] = []
    pos = 0
    for start, end in merged:
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def _match_view(svc: Services, match: Any, text: str | None) -> dict[str, Any]:
    try:
        work = svc.works.work(match.work_id)
    except CopysealError:
        work = {"work_id": match.work_id, "title": None, "content": {}}
    spans = [(int(a), int(b)) for a, b in (getattr(match, "shared_passages", None) or [])]
    return {
        "match": match,
        "work": work,
        "percent": round(float(match.score) * 100),
        "segments": segments(text, spans) if text is not None else None,
    }


@pages.get("/search", response_class=HTMLResponse)
def search_page(request: Request, svc: Services = Depends(services)) -> HTMLResponse:
    return render(request, "search.html", {"nav": "search", "installed": svc.search is not None})


def _search(svc: Services, content: bytes, media_type: str, text: str | None) -> list[Any]:
    matches = require_search(svc).check(content, media_type, top_k=10)
    return [_match_view(svc, m, text) for m in matches]


@forms.post("/search", response_class=HTMLResponse, openapi_extra=body_limit(64 << 20))
async def search_form(
    request: Request,
    text: str = Form("", max_length=MAX_QUERY_TEXT),
    file: UploadFile | None = File(None),
    svc: Services = Depends(services),
) -> HTMLResponse:
    """No CSRF token: a search changes nothing."""
    require_search(svc)
    query_text: str | None
    if file is not None and file.filename:
        content = await read_upload(file, svc.submissions.max_content_bytes, "file") or b""
        media_type = media_type_for(file.filename, file.content_type)
        query_text = content.decode("utf-8", "replace") if media_type.startswith("text/") else None
    elif text.strip():
        # The textarea's CRLF line endings, made LF as the register form makes them, so
        # pasted text finds its web-registered self as an exact copy.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        content, media_type, query_text = text.encode("utf-8", "replace"), TEXT_MEDIA_TYPE, text
    else:
        raise InvalidInput("paste some text or choose a file to look up")
    results = await run_in_threadpool(_search, svc, content, media_type, query_text)
    context = {"nav": "search", "installed": True, "results": results, "text": text}
    template = "partials/matches.html" if request.headers.get("hx-request") else "search.html"
    return render(request, template, context)
