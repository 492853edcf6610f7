"""Which language a request is answered in, and the switch every page offers.

The choice, best first: the language switch (the ``cs_lang`` cookie, set by
``GET /lang/{locale}``), the account's setting, then ``Accept-Language``; English when none
names a language copyseal speaks. The middleware sets it for the whole request
(``copyseal.i18n``), so pages, problem documents and the PDF are all in that language, and
answers say ``Content-Language`` and ``Vary: Accept-Language, Cookie``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copyseal import i18n
from copyseal.errors import NotFound

LANG_COOKIE = "cs_lang"
LANG_COOKIE_AGE = 400 * 24 * 3600
TAGS = {"en": "en", "zh_CN": "zh-CN"}
"""Each locale's BCP 47 tag, for ``lang`` attributes and ``Content-Language``."""


def request_locale(cookie: str | None, account_locale: str | None, accept: str | None) -> str:
    chosen = i18n.parse_locale(cookie) or i18n.parse_locale(account_locale)
    return chosen or i18n.from_accept_language(accept) or i18n.DEFAULT


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    for part in (_header(scope, b"cookie") or "").split(";"):
        key, _sep, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class LocaleMiddleware:
    """Sets the request's language before anything runs (the account's setting is read by
    the routes that know the caller: ``copyseal.server.rendering.render``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        locale = request_locale(
            _cookie(scope, LANG_COOKIE), None, _header(scope, b"accept-language")
        )
        scope.setdefault("state", {})["locale_chosen"] = _cookie(scope, LANG_COOKIE) is not None

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-language", TAGS[i18n.current()].encode()))
                headers.append((b"vary", b"Accept-Language, Cookie"))
                message["headers"] = headers
            await send(message)

        with i18n.use_locale(locale):
            await self.app(scope, receive, tagged)


switch = APIRouter(include_in_schema=False)


@switch.get("/lang/{locale}")
def choose_language(locale: str, request: Request, next: str = "/") -> RedirectResponse:
    """Remember the language chosen on the page's switch, and go back to the page."""
    if locale not in i18n.LOCALES:
        raise NotFound(i18n._("copyseal does not speak that language"))
    # Only a path on this site: never an address elsewhere.
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LANG_COOKIE, locale, max_age=LANG_COOKIE_AGE, path="/", samesite="lax")
    return response
