"""HTML rendering: the Jinja2 environment, cookies, CSRF tokens and display helpers.

Templates get the caller, a CSRF token for their forms, and helpers that format keys, times
and sizes; they never reach a use-case themselves.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from copyseal import i18n
from copyseal.core.encoding import jcs
from copyseal.domain.admission import FINGERPRINT_SETS
from copyseal.domain.titles import visible_text
from copyseal.domain.wording import counted, short_did
from copyseal.server.deps import (
    BROWSER_COOKIE,
    SESSION_COOKIE,
    Caller,
    Services,
    csrf_token,
    get_services,
    resolve_caller,
)
from copyseal.server.locale import TAGS
from copyseal.server.qr import qr_svg

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
BROWSER_ID_AGE = 400 * 24 * 3600

CHECK_LABELS = {
    "log": "Log key",
    "signature": "Creator's signature",
    "content": "Content matches the registered hash",
    "leaf": "Log entry hash",
    "work_id": "Work ID",
    "checkpoint": "Log checkpoint signature",
    "inclusion": "Entry included in the signed log",
    "claim": "Claim understood",
    "witnesses": "Witness cosignatures",
    "anchor": "Chain anchor",
}


def human_time(stamp: str | None) -> str:
    if not stamp:
        return ""
    try:
        moment = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return stamp
    return moment.strftime("%-d %B %Y, %H:%M:%S UTC")


def isolated(text: str | None) -> Markup:
    """Text from the log, such as a title, set apart from the page around it: in its own
    ``<bdi>``, so right-to-left text cannot reorder the sentence it sits in, and with any
    character admission now refuses (controls, bidi overrides) spelled out visibly."""
    return Markup("<bdi>%s</bdi>") % visible_text(text or "")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return counted(size, "byte") if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return counted(size, "byte")


FINGERPRINT_PREFIX = 12


def fingerprint_summary(fingerprints: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What a page shows of a work's fingerprints before anyone asks for more: their kind
    (text, image, audio), the ISCC code when there is one, and a short prefix of the SHA-256
    of the set (its canonical JSON), by which two pages' sets are told apart at a glance.
    The values themselves (a MinHash alone is 1,024 characters) go under "details"."""
    if not fingerprints:
        return None
    names = set(fingerprints)
    kind = next((s.kind for s in FINGERPRINT_SETS if names & s.names), "other")
    iscc = next((v for k, v in fingerprints.items() if k.startswith("iscc_")), None)
    fields = []
    for name, value in sorted(fingerprints.items()):
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        fields.append({"name": name, "value": text, "length": len(text)})
    return {
        "kind": kind,
        "iscc": iscc if isinstance(iscc, str) else None,
        "digest": hashlib.sha256(jcs(dict(fingerprints))).hexdigest()[:FINGERPRINT_PREFIX],
        "fields": fields,
    }


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # One environment for every language: the callables read the request's locale.
    env.install_gettext_callables(i18n._, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.policies["ext.i18n.trimmed"] = True  # as babel.cfg extracts them
    env.filters["short_did"] = short_did
    env.filters["when"] = human_time
    env.filters["unixtime"] = lambda t: human_time(
        datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    env.filters["size"] = human_size
    env.filters["isolated"] = isolated
    env.filters["counted"] = counted
    env.globals["fingerprint_summary"] = fingerprint_summary
    env.globals["check_labels"] = CHECK_LABELS
    env.globals["qr_svg"] = lambda data, label: Markup(qr_svg(data, label=label))
    return env


def own_address(request: Request) -> tuple[str, str, int | None]:
    """The scheme, host and port this request reached: the server's own listening address
    (uvicorn's ``scope["server"]``), never the ``Host`` header, which the client writes."""
    scheme = str(request.scope.get("scheme", "http"))
    server = request.scope.get("server")
    if not server:  # a Unix socket: there is no address to name
        return scheme, "localhost", None
    host, port = server
    return scheme, str(host), None if port is None else int(port)


def base_url(request: Request, svc: Services) -> str:
    """The site's address for QR codes, PDFs and links: ``--public-url``, else the address the
    server was reached on. Behind a reverse proxy the latter is the proxy's upstream, so set
    the public URL there."""
    if svc.settings.public_url:
        return svc.settings.public_url.rstrip("/")
    scheme, host, port = own_address(request)
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


def secure_cookies(request: Request, svc: Services) -> bool:
    if svc.settings.secure_cookies is not None:
        return svc.settings.secure_cookies
    if svc.settings.public_url:
        public = urlsplit(svc.settings.public_url)
        scheme, host = public.scheme, public.hostname or ""
    else:
        scheme, host, _ = own_address(request)
    return scheme == "https" or host not in LOOPBACK


def set_cookie(
    response: HTMLResponse | Any, request: Request, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=secure_cookies(request, get_services(request)),
        httponly=True,
        samesite="lax",
    )


def clear_session(response: Any, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=secure_cookies(request, get_services(request)),
        httponly=True,
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    caller: Caller | None = None,
) -> HTMLResponse:
    svc = get_services(request)
    if caller is None:
        try:
            caller = resolve_caller(request)
        except Exception:  # a bad token must not stop an error page from rendering
            caller = Caller()
    browser_id = request.cookies.get(BROWSER_COOKIE)
    new_browser = browser_id is None
    if browser_id is None:
        browser_id = secrets.token_urlsafe(24)
    page = {
        "request": request,
        "account": caller.account,
        "csrf": csrf_token(svc, browser_id, caller.session_token),
        "origin": svc.origin,
        "log_vkey": svc.log_vkey,
        "base_url": base_url(request, svc),
        "htmx": bool(request.headers.get("hx-request")),
        "locale": i18n.current(),
        "lang": TAGS[i18n.current()],
        "locales": [(code, TAGS[code]) for code in i18n.LOCALES],
        **(context or {}),
    }
    html = environment().get_template(template).render(page)
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    if new_browser:
        set_cookie(response, request, BROWSER_COOKIE, browser_id, BROWSER_ID_AGE)
    return response


def render_error(
    request: Request, problem: dict[str, Any], headers: dict[str, str]
) -> HTMLResponse:
    template = "partials/problem.html" if request.headers.get("hx-request") else "error.html"
    return render(
        request, template, {"problem": problem}, status=int(problem["status"]), headers=headers
    )
