"""``/docs``: the API reference, rendered on the server from the OpenAPI document.

Served from this app alone (no script or stylesheet from elsewhere), so the reference works
offline and under the same Content-Security-Policy as every other page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from copyseal.server.ratelimit import limited_route
from copyseal.server.rendering import render

pages = APIRouter(include_in_schema=False, route_class=limited_route("read"))

METHODS = ("get", "post", "put", "patch", "delete")


def operations(spec: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The API's operations grouped by tag, in the order the tags first appear."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            tag = (op.get("tags") or ["other"])[0]
            groups.setdefault(tag, []).append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": op.get("parameters", []),
                    "body": "requestBody" in op,
                    "anchor": op.get("operationId", f"{method}-{path}"),
                }
            )
    return list(groups.items())


@pages.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    spec = request.app.openapi()
    return render(
        request, "docs.html", {"nav": "docs", "groups": operations(spec), "info": spec["info"]}
    )
