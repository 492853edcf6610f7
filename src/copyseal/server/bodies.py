"""JSON request bodies: their nesting depth is bounded on the raw bytes, as they arrive.

FastAPI parses a JSON body (``json.loads``) before the route, or pydantic, sees it, and the
parser recurses once per level of nesting. The chain libraries raise the recursion limit to
100,000, so a body of 99,000 ``[`` took a worker process down with a stack overflow rather
than an error. :class:`JsonDepthLimit` feeds every piece of a body that FastAPI would parse
as JSON through :class:`~copyseal.core.encoding.DepthScanner` on its way in; past
``MAX_DEPTH`` (the one limit, shared with :func:`~copyseal.core.encoding.parse_json`) the
request fails with a ``malformed-document`` problem, before the parser has run.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copyseal.core.encoding import MAX_DEPTH, DepthScanner
from copyseal.errors import CopysealError, MalformedDocument


class BodyRefused(HTTPException):
    """Raised while the body is read; FastAPI's body parsing lets an HTTPException through
    unchanged (any other exception it turns into a bare 400), and the problem handler
    reports the copyseal error it carries."""

    def __init__(self, error: CopysealError) -> None:
        super().__init__(error.http_status, error.message)
        self.error = error


def is_json_body(scope: Scope) -> bool:
    """Would FastAPI parse this request's body as JSON? It does without a Content-Type,
    and for ``…/json`` and ``…/…+json``."""
    name: bytes
    value: bytes
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            subtype = value.split(b";")[0].strip().lower().rpartition(b"/")[2]
            return subtype == b"json" or subtype.endswith(b"+json")
    return True


class JsonDepthLimit:
    def __init__(self, app: ASGIApp, *, max_depth: int = MAX_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_json_body(scope):
            await self.app(scope, receive, send)
            return
        scanner = DepthScanner(self.max_depth)

        async def scanned() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                try:
                    final = not message.get("more_body", False)
                    scanner.feed(message.get("body", b""), final=final)
                except MalformedDocument as exc:
                    raise BodyRefused(exc) from exc
            return message

        await self.app(scope, scanned, send)
