"""How ``copyseal serve`` runs uvicorn: a deadline for each request's headers, and a
supervisor that says how a worker process ended when it has to replace one.

uvicorn (0.54) closes idle keep-alive connections but sets no deadline on a request being
read: a client that sends its headers a byte at a time, or stops halfway, holds its
connection, and a place under ``limit_concurrency``, for as long as it likes. The protocol
here gives each request's headers ``COPYSEAL_HEADER_TIMEOUT_S`` seconds, counted from the
connection's opening or from the first byte after the previous response. The body's
deadline is the app's (``server/timeouts.py``), since only the app knows when it reads one.

uvicorn's supervisor restarts a worker that died with a line at INFO level that gives no
cause; the one here also logs, as an error, the worker's PID and its exit code or signal.

This module imports uvicorn; the CLI imports it only when it serves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors.multiprocess import Multiprocess, Process

log = logging.getLogger("uvicorn.error")

HEADER_TIMEOUT_ENV = "COPYSEAL_HEADER_TIMEOUT_S"
DEFAULT_HEADER_TIMEOUT_S = 10.0


def _request_timeout() -> bytes:
    body = json.dumps(
        {
            "type": "urn:copyseal:problem:request-timeout",
            "title": "Request timeout",
            "status": 408,
            "detail": "the request's headers did not arrive in time",
        }
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


REQUEST_TIMEOUT = _request_timeout()


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's headers. When it
    passes, a request begun gets 408; either way the connection is closed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timeout_s = float(os.environ.get(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT_S))
        self._deadline: asyncio.TimerHandle | None = None
        self._begun = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        # Bytes that arrive while no request is being served belong to the next request's
        # headers (or to the rest of a body the app did not read): the clock starts now.
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._begun = True

    def on_headers_complete(self) -> None:
        self._disarm()
        self._begun = False
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self._timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._begun:
            self.transport.write(REQUEST_TIMEOUT)
        self.transport.close()


def _ending(exitcode: int | None) -> str:
    if exitcode is None:
        return "ended"
    if exitcode < 0:
        try:
            return f"was killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


class Supervisor(Multiprocess):
    """uvicorn's supervisor, which also logs how each worker it replaces ended."""

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        dead = [p for p in self.processes if not p.process.is_alive()]
        for process in dead:
            log.error(
                "Worker process [%s] %s; starting another", process.pid, _ending(process.exitcode)
            )
        before = list(self.processes)
        super().keep_subprocess_alive()
        for old, new in zip(before, self.processes, strict=True):
            if old is not new and old not in dead:
                self._report_hung(old, new)

    def _report_hung(self, old: Process, new: Process) -> None:
        log.error(
            "Worker process [%s] did not answer its health check within %s s and was stopped"
            " (it %s); started [%s]",
            old.pid,
            self.config.timeout_worker_healthcheck,
            _ending(old.exitcode),
            new.pid,
        )


def run(config: uvicorn.Config) -> None:
    """``uvicorn.run`` for a config made by ``copyseal serve``, with the supervisor above
    when there are several workers."""
    try:
        if config.workers > 1:
            Supervisor(config, sockets=[config.bind_socket()]).run()
            return
        server = uvicorn.Server(config)
        server.run()
    except KeyboardInterrupt:
        return
    if not server.started:
        sys.exit(STARTUP_FAILURE)
