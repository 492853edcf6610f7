"""The witness's HTTP face: C2SP tlog-witness ``POST /add-checkpoint``.

One endpoint, the protocol's wire format exactly:

* request: ``old <size>\\n``, up to 63 base64 proof lines, an empty line, the signed
  checkpoint; bodies over :data:`MAX_BODY_BYTES` are refused with 413 before they are read;
* 200: the cosignature lines (``— <name> <base64>\\n``), ``text/plain``;
* 409 for a stale old size: the witness's latest size and a newline, with the
  ``Content-Type`` exactly ``text/x.tlog.size`` (no charset: clients compare it verbatim);
* every other failure, the fork's 409 included, is an RFC 9457 problem document whose
  members come from the error tree; a fork's carries both signed checkpoints.

The adapters are chosen here (``create_app_from_env``), for ``copyseal witness serve``.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from copyseal.adapters.storage.witness_sqlite import HOME_ENV, WitnessHome
from copyseal.domain.witness import SIZE_CONTENT_TYPE, AddCheckpointRequest, encode_size_body
from copyseal.errors import ConflictError, ContentTooLarge, CopysealError, InvalidInput
from copyseal.services.witness import Witness

MAX_BODY_BYTES = 64 << 10  # 63 proof lines are 2.8 kB; the rest is room for the note's lines


def unix_now() -> int:
    return int(time.time())


def create_witness_app(
    witness: Witness,
    *,
    clock: Callable[[], int] = unix_now,
    max_body_bytes: int = MAX_BODY_BYTES,
    on_shutdown: Callable[[], None] | None = None,
) -> FastAPI:
    """The app for ``witness``; ``clock`` gives the cosignatures' time in Unix seconds."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            on_shutdown()

    app = FastAPI(
        title="copyseal witness",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(StarletteHTTPException)
    async def framework_error(_: Request, exc: StarletteHTTPException) -> Response:
        # Unknown routes and wrong methods get the same problem documents as the rest.
        return _problem(exc.status_code, {"title": str(exc.detail), "detail": str(exc.detail)})

    @app.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        try:
            body = await _read_body(request, max_body_bytes)
            req = AddCheckpointRequest.from_body(body)
            lines = await run_in_threadpool(
                witness.add_checkpoint, req.old_size, req.proof, req.checkpoint, now=clock()
            )
        except CopysealError as exc:
            return error_response(exc)
        return Response(
            "".join(line.to_line() for line in lines).encode(),
            media_type="text/plain; charset=utf-8",
        )

    return app


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidInput("Content-Length is not a decimal")
        if int(declared) > limit:
            raise ContentTooLarge(f"add-checkpoint bodies are at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ContentTooLarge(f"add-checkpoint bodies are at most {limit} bytes")
    return bytes(body)


def error_response(exc: CopysealError) -> Response:
    """The protocol's response for a failure from the witness's error tree."""
    size = exc.details.get("latest_size")
    if type(exc) is ConflictError and isinstance(size, int):
        return Response(
            encode_size_body(size),
            status_code=exc.http_status,
            headers={"Content-Type": SIZE_CONTENT_TYPE},
        )
    return _problem(exc.http_status, exc.to_dict())


def _problem(status: int, members: dict[str, Any]) -> Response:
    body = {"status": status, **members}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def create_app_from_env() -> FastAPI:
    """The app for the witness home named by ``$COPYSEAL_WITNESS_HOME`` (a uvicorn factory).

    Trusted logs are read once, here: a log added with ``copyseal witness add-log`` is
    followed after the next start.
    """
    home = WitnessHome.open(Path(os.environ[HOME_ENV]))
    store = home.open_store()
    witness = Witness(store=store, signer=home.signer, logs=store.trusted_logs())
    return create_witness_app(witness, on_shutdown=store.close)
