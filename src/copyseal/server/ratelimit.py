"""Route policy: per-client rate limits and request body limits.

Rate limits: one token bucket per (client, class of request), in process.

A bucket holds up to ``burst`` tokens and refills at ``per_second``; a request takes one
token or is refused with :class:`RateLimited`, whose ``retry_after`` is the time until a token
is back. Classes keep cheap reads from starving behind costly writes and keep password
guessing slow. Buckets live in this process only: ``copyseal serve --workers N`` gives each
worker process a ``1/N`` share of every rate (:func:`shares`), as a client's connections are
spread over them.

The check runs in the route (``limited_route``), before the request body is read, so a
refused client costs a header parse, and its error goes through the one problem handler.
The same route class bounds the request body (declared and actually sent), so an oversized
body is refused as the error tree's ContentTooLarge, a problem like any other.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive

from copyseal.errors import ContentTooLarge, RateLimited


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


DEFAULT_RATES = {
    "read": Rate(per_second=50.0, burst=200),
    "write": Rate(per_second=20.0, burst=100),
    "auth": Rate(per_second=0.2, burst=10),
}


class RateLimiter:
    def __init__(
        self,
        rates: dict[str, Rate] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
        enabled: bool = True,
    ) -> None:
        self.rates = dict(DEFAULT_RATES if rates is None else rates)
        self.clock = clock
        self.max_clients = max_clients
        self.enabled = enabled
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str, kind: str) -> None:
        """Take one token from the client's bucket of this kind, or raise RateLimited."""
        rate = self.rates.get(kind)
        if not self.enabled or rate is None:
            return
        key = (client, kind)
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(rate.burst), now))
            tokens = min(float(rate.burst), tokens + (now - last) * rate.per_second)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / rate.per_second)
                raise RateLimited(
                    f"too many {kind} requests from this client", retry_after=max(1, wait)
                )
            self._buckets[key] = (tokens - 1.0, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)  # the least recently seen client


def shares(rates: dict[str, Rate], processes: int) -> dict[str, Rate]:
    """One of ``processes`` workers' share of ``rates``."""
    return {
        kind: Rate(rate.per_second / processes, max(1, rate.burst // processes))
        for kind, rate in rates.items()
    }


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


BODY_LIMIT_KEY = "x-max-body-bytes"
DEFAULT_BODY_LIMIT = 64 << 10


def body_limit(limit: int) -> dict[str, Any]:
    """``openapi_extra`` for a route that accepts bodies up to ``limit`` bytes (documented
    in the OpenAPI document as ``x-max-body-bytes``)."""
    return {BODY_LIMIT_KEY: limit}


def _limited_receive(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def read() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            # An HTTPException passes FastAPI's body parsing unchanged; the route turns it
            # into the error tree's ContentTooLarge below.
            raise HTTPException(413)
        return message

    return read


def limited_route(kind: str) -> type[APIRoute]:
    """A route class whose requests take a rate token of ``kind`` before anything else, and
    whose body may not exceed the route's ``x-max-body-bytes`` (64 KiB by default)."""

    class LimitedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()
            limit = int((self.openapi_extra or {}).get(BODY_LIMIT_KEY, DEFAULT_BODY_LIMIT))

            async def limited(request: Request) -> Response:
                limiter: RateLimiter = request.app.state.limiter
                limiter.take(client_key(request), kind)
                too_large = ContentTooLarge(
                    f"the request body is over this endpoint's limit of {limit} bytes",
                    limit=limit,
                )
                declared = request.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise too_large
                try:
                    return await handler(
                        Request(request.scope, _limited_receive(request.receive, limit))
                    )
                except HTTPException as exc:
                    if exc.status_code == 413:
                        raise too_large from exc
                    raise

            return limited

    LimitedRoute.__name__ = f"LimitedRoute_{kind}"
    return LimitedRoute
