"""A deadline for each request's body, so that a client that stalls or trickles cannot hold
a connection, and the route reading from it, for as long as it likes.

The body must keep coming: each read waits at most ``timeout_s`` for the next chunk, and
the whole body must be in within ``timeout_s`` plus one second per ``min_rate`` bytes
received, so a large upload over a slow but steady link has the time it needs while a
byte a second does not. A request that misses either deadline gets 408, and its
connection is closed (the rest of its body will never be read).

The request's headers have their own deadline, which only the HTTP server can keep
(``cli/serving.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIN_BYTES_PER_S = 4096.0
CLOSE = (b"connection", b"close")


class BodyDeadline:
    """ASGI middleware: the request body's deadline (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        timeout_s: float,
        min_rate: float = MIN_BYTES_PER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.min_rate = min_rate
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = self.clock()
        received = 0
        complete = timed_out = False

        async def read() -> Message:
            nonlocal received, complete, timed_out
            if complete:  # after the body only a disconnect comes, whenever it comes
                return await receive()
            allowed = start + self.timeout_s + received / self.min_rate - self.clock()
            try:
                with anyio.fail_after(max(0.0, min(self.timeout_s, allowed))):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                # Raised inside the route's body parsing, an HTTPException reaches the one
                # problem handler unchanged.
                raise HTTPException(408, "the request body did not arrive in time") from None
            received += len(message.get("body", b""))
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def closing(message: Message) -> None:
            if timed_out and message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), CLOSE]}
            await send(message)

        await self.app(scope, read, closing)
