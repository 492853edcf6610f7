"""Reading a remote log's C2SP tlog-tiles over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from copyseal.errors import ContentTooLarge, CopysealError, NotFound, Unavailable

MAX_RESPONSE_BYTES = 32 << 20


def http_fetcher(
    base_url: str, *, client: httpx.Client | None = None, timeout: float = 30.0
) -> Callable[[str], bytes]:
    """A ``fetch(path)`` for ``base_url`` (the log's tiles prefix)."""
    base = base_url.rstrip("/") + "/"
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def fetch(path: str) -> bytes:
        url = base + path
        try:
            response = http.get(url)
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot reach {url}: {exc}", retry_after=5.0) from exc
        if response.status_code == 404:
            raise NotFound(f"{url} does not exist")
        if response.status_code in (429, 502, 503, 504):
            retry = float(response.headers.get("retry-after", "5") or 5)
            raise Unavailable(f"{url} answered {response.status_code}", retry_after=retry)
        if response.status_code != 200:
            raise CopysealError(f"{url} answered {response.status_code}")
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise ContentTooLarge(f"{url} sent more than {MAX_RESPONSE_BYTES} bytes")
        return response.content

    return fetch
