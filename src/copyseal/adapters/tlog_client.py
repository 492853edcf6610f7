"""Reading a remote log's C2SP tlog-tiles over HTTP.

``fetch(path, max_bytes)`` reads one resource and refuses it, while it streams, once it
passes ``max_bytes`` as sent or as decoded: the caller knows how large a checkpoint, a tile
or an entry bundle can be, and a remote log must not make a mirror hold more.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from copyseal.adapters.http_body import ACCEPT_ENCODING, read_bounded
from copyseal.errors import CopysealError, NotFound, Unavailable

Fetch = Callable[[str, int], bytes]


def http_fetcher(
    base_url: str, *, client: httpx.Client | None = None, timeout: float = 30.0
) -> Fetch:
    """A ``fetch(path, max_bytes)`` for ``base_url`` (the log's tiles prefix)."""
    base = base_url.rstrip("/") + "/"
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    headers = {"Accept-Encoding": ACCEPT_ENCODING}

    def fetch(path: str, max_bytes: int) -> bytes:
        url = base + path
        try:
            with http.stream("GET", url, headers=headers) as response:
                _check_status(response, url)
                return read_bounded(response, url, max_bytes)
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot reach {url}: {exc}", retry_after=5.0) from exc

    return fetch


def _check_status(response: httpx.Response, url: str) -> None:
    if response.status_code == 404:
        raise NotFound(f"{url} does not exist")
    if response.status_code in (429, 502, 503, 504):
        retry = response.headers.get("retry-after", "5").strip()
        raise Unavailable(
            f"{url} answered {response.status_code}",
            retry_after=float(retry) if retry.isascii() and retry.isdigit() else 5.0,
        )
    if response.status_code != 200:
        raise CopysealError(f"{url} answered {response.status_code}")
