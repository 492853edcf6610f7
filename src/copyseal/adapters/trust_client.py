"""Fetching a copyseal service's trust root, ``/.well-known/copyseal/trust.json``.

Foreign errors met here, translated::

    httpx.HTTPError (connect, read, timeout, too many redirects)  Unavailable
    HTTP 404                                                       NotFound
    HTTP 429, 502, 503, 504                                        Unavailable (Retry-After)
    any other status but 200                                       Unavailable
    a body over MAX_TRUST_ROOT_BYTES                               ContentTooLarge
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

import httpx

from copyseal.core.trust import MAX_TRUST_ROOT_BYTES, WELL_KNOWN_PATH, TrustRoot
from copyseal.errors import ContentTooLarge, InvalidInput, NotFound, Unavailable


def trust_root_url(site: str) -> str:
    """The URL of the trust root of the service at ``site``: a site's address gets the
    well-known path; a URL that names a ``.json`` file is taken as it is."""
    parts = urlsplit(site)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"{site!r} is not an http(s) URL")
    if parts.path.endswith(".json"):
        return site
    return site.split("?", 1)[0].split("#", 1)[0].rstrip("/") + WELL_KNOWN_PATH


def fetch_trust_root(
    site: str, *, client: httpx.Client | None = None, timeout: float = 10.0
) -> tuple[TrustRoot, str]:
    """The trust root the service at ``site`` publishes, and the URL it came from (after
    redirects). Nothing in it is trusted yet: the caller shows it to the user to decide."""
    url = trust_root_url(site)
    http = client or httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=5)
    try:
        with http.stream("GET", url, headers={"Accept": "application/json"}) as response:
            _check_status(url, response)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_TRUST_ROOT_BYTES:
                    raise ContentTooLarge(
                        f"{url} sent more than {MAX_TRUST_ROOT_BYTES} bytes: not a trust root"
                    )
            final = str(response.url)
    except httpx.HTTPError as exc:
        raise Unavailable(f"cannot fetch {url}: {exc}", retry_after=5.0) from exc
    finally:
        if client is None:
            http.close()
    return TrustRoot.from_json(bytes(body)), final


def _check_status(url: str, response: httpx.Response) -> None:
    status = response.status_code
    if status == 200:
        return
    if status == 404:
        raise NotFound(
            f"{url} does not exist",
            hint="Is this the address of a copyseal service? Ask its operator for the root.",
        )
    retry = 5.0
    if status in (429, 502, 503, 504):
        with contextlib.suppress(ValueError):
            retry = float(response.headers.get("retry-after", "5"))
    raise Unavailable(f"{url} answered {status}", retry_after=retry)
