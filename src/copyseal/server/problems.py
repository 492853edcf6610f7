"""The one exception handler: every error becomes an RFC 9457 problem.

copyseal errors carry their own status and title (``errors.py``); the framework's own
errors (unknown route, wrong method, an unparsable body, a body over its size limit) are
mapped onto the same tree first, and anything else is an internal error whose details stay
in the server log. API clients get ``application/problem+json``; a browser navigating the
web pages gets the same problem as an HTML page.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from copyseal.errors import (
    ContentTooLarge,
    CopysealError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from copyseal.server.bodies import BodyRefused
from copyseal.server.rendering import render_error

log = logging.getLogger("copyseal.server")

PROBLEM_JSON = "application/problem+json"


class MethodNotAllowed(InvalidInput):
    http_status = 405
    title = "Method not allowed"


class RequestTimeout(InvalidInput):
    http_status = 408
    title = "Request timeout"
    hint = "Send the whole request without pausing; a slow link needs at least 4 KiB/s."


_BY_STATUS: dict[int, type[CopysealError]] = {
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    408: RequestTimeout,
    413: ContentTooLarge,
    429: RateLimited,
    503: Unavailable,
}


def as_copyseal_error(exc: Exception) -> CopysealError:
    if isinstance(exc, CopysealError):
        return exc
    if isinstance(exc, BodyRefused):
        return exc.error
    if isinstance(exc, RequestValidationError):
        errors = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()[:20]
        ]
        return InvalidInput("the request does not match the API's schema", errors=errors)
    if isinstance(exc, HTTPException):
        cls = _BY_STATUS.get(exc.status_code, InvalidInput if exc.status_code < 500 else None)
        if cls is not None:
            message = str(exc.detail) if exc.detail else cls.title
            if cls is ContentTooLarge:
                message = "the request body is over this endpoint's size limit"
            return cls(message)
    log.error("internal error", exc_info=exc)
    return CopysealError("the server met an unexpected error", hint="It has been logged.")


HINTS = {
    "derivative-or-dispute": (
        "If your work builds on it, declare {earlier} as its parent (derivative_of); if you "
        "claim it is yours, submit a dispute of {earlier} with your reason."
    ),
    "smaller-content": "This service's operator sets the size limit; send a smaller file.",
    "known-key": "Use a key this account controls: link it on the dashboard first.",
    "trust-log-key": (
        "This service vouches only for the logs its trust root lists "
        "(/.well-known/copyseal/trust.json). Get that log's key from its operator, check its "
        "key ID, and verify the certificate with a verifier that trusts it."
    ),
    "other-log-key": "Verify it against its own log, with a verifier that trusts that log.",
}
"""The service's wording of each error ``remedy`` (``errors.py``): never a command-line flag."""


def problem(exc: CopysealError, instance: str) -> dict[str, Any]:
    """The problem document of ``exc`` (RFC 9457 members, then copyseal's own)."""
    body = exc.to_dict()
    if hint := exc.hint_in(HINTS):
        body["hint"] = hint
    name = re.sub(r"(?<!^)(?=[A-Z])", "-", body.pop("error")).lower()
    return {
        "type": f"urn:copyseal:problem:{name}",
        "title": body.pop("title"),
        "status": exc.http_status,
        "detail": body.pop("detail"),
        "instance": instance,
        **body,
    }


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path.startswith("/tile/") or path == "/checkpoint":
        return False
    if request.headers.get("hx-request"):
        return True
    return "text/html" in request.headers.get("accept", "")


async def handle_error(request: Request, exc: Exception) -> Response:
    """The app's one exception handler."""
    error = as_copyseal_error(exc)
    doc = problem(error, request.url.path)
    headers: dict[str, str] = {}
    if isinstance(error, Unavailable):
        headers["Retry-After"] = str(max(1, round(error.retry_after)))
    if isinstance(error, Unauthenticated) and request.url.path.startswith("/api/"):
        headers["WWW-Authenticate"] = 'Bearer realm="copyseal"'
    if _wants_html(request):
        return render_error(request, doc, headers)
    return JSONResponse(
        doc, status_code=error.http_status, headers=headers, media_type=PROBLEM_JSON
    )
