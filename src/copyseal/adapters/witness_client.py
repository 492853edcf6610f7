"""Ask a C2SP tlog-witness to cosign a checkpoint, over HTTP with httpx.

``request_cosignature(url, old_size, proof, signed_checkpoint)`` posts to
``<url>/add-checkpoint`` and returns the cosignature lines. Every failure is translated
into the error tree here, so a log collecting cosignatures handles one set of errors:

====================================  ===============================================
transport error, timeout              Unavailable (``retry_after``)
429 / 5xx                             RateLimited / Unavailable, from ``Retry-After``
409 ``text/x.tlog.size``              ConflictError, ``details["latest_size"]``: retry
                                      with a proof from that size
409 otherwise                         InconsistencyError: the witness saw another tree
                                      of this size; its evidence is in ``details``
400 / 403 / 404 / 413 / 422           InvalidInput / Forbidden / NotFound /
                                      ContentTooLarge / VerificationError
====================================  ===============================================

Responses are read up to a bound (64 KiB, as sent and as decoded: ``http_body``). With
``witness=`` the lines are filtered to that key and verified against the checkpoint;
without it the caller must verify them (the protocol's rule: ignore lines from unknown
keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from copyseal.adapters.http_body import ACCEPT_ENCODING, read_bounded
from copyseal.core.encoding import parse_json
from copyseal.core.note import ALG_COSIGNATURE_V1, Note, NoteSignature, NoteVerifier, verify_note
from copyseal.domain.witness import SIZE_CONTENT_TYPE, build_add_checkpoint_body, decode_size_body
from copyseal.errors import (
    ConflictError,
    ContentTooLarge,
    CopysealError,
    Forbidden,
    InconsistencyError,
    InvalidInput,
    MalformedDocument,
    NotFound,
    RateLimited,
    Unavailable,
    VerificationError,
)

MAX_RESPONSE_BYTES = 64 << 10
DEFAULT_RETRY_AFTER = 5.0
_BY_STATUS: dict[int, type[CopysealError]] = {
    400: InvalidInput,
    403: Forbidden,
    404: NotFound,
    413: ContentTooLarge,
}


def request_cosignature(
    url: str,
    old_size: int,
    proof: Sequence[bytes],
    signed_checkpoint: bytes | str,
    *,
    witness: NoteVerifier | None = None,
    client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> list[NoteSignature]:
    """Cosignature lines from the witness at ``url`` (its submission prefix).

    ``old_size`` is the size the witness last cosigned (0 if unknown: a 409 then tells it),
    ``proof`` the RFC 9162 consistency proof from ``old_size`` to the checkpoint's size.
    Pass ``client`` to reuse connections across calls, as the protocol recommends.
    """
    note = Note.from_text(signed_checkpoint)
    body = build_add_checkpoint_body(old_size, proof, signed_checkpoint)
    endpoint = url.rstrip("/") + "/add-checkpoint"
    http = client if client is not None else httpx.Client(timeout=timeout)
    try:
        status, content_type, retry_after, data = _post(http, endpoint, body, timeout)
    finally:
        if client is None:
            http.close()
    if status != 200:
        raise _failure(endpoint, status, content_type, retry_after, data)
    lines = _parse_lines(note, data, endpoint)
    if witness is None:
        return lines
    return _verified(note, lines, witness, endpoint)


def _post(
    http: httpx.Client, endpoint: str, body: bytes, timeout: float
) -> tuple[int, str, str | None, bytes]:
    headers = {"Content-Type": "text/plain; charset=utf-8", "Accept-Encoding": ACCEPT_ENCODING}
    try:
        with http.stream("POST", endpoint, content=body, headers=headers, timeout=timeout) as rsp:
            try:
                data = read_bounded(rsp, endpoint, MAX_RESPONSE_BYTES)
            except ContentTooLarge as exc:
                raise MalformedDocument(
                    f"the witness at {endpoint} sent an oversized reply"
                ) from exc
            content_type = rsp.headers.get("content-type", "")
            return rsp.status_code, content_type, rsp.headers.get("retry-after"), data
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise InvalidInput(f"{endpoint} is not a witness URL: {exc}") from exc
    except httpx.TransportError as exc:
        raise Unavailable(
            f"cannot reach the witness at {endpoint}: {exc}",
            retry_after=DEFAULT_RETRY_AFTER,
            witness=endpoint,
        ) from exc


def _failure(
    endpoint: str, status: int, content_type: str, retry_after: str | None, data: bytes
) -> CopysealError:
    media_type = content_type.split(";")[0].strip().lower()
    if status == 409 and media_type == SIZE_CONTENT_TYPE:
        size = decode_size_body(data)
        return ConflictError(
            f"the witness at {endpoint} last cosigned size {size}",
            hint=f"Retry with old size {size} and a consistency proof from it.",
            witness=endpoint,
            latest_size=size,
        )
    problem = _problem(media_type, data)
    said = str(problem.get("detail") or data[:500].decode("utf-8", "replace")).strip()
    message = f"the witness at {endpoint} answered {status}: {said}"
    if status == 409:
        evidence = {
            k: problem[k]
            for k in ("origin", "size", "witnessed_checkpoint", "submitted_checkpoint", "proof")
            if k in problem
        }
        return InconsistencyError(message, witness=endpoint, status=status, **evidence)
    if status == 429 or status >= 500:
        kind = RateLimited if status == 429 else Unavailable
        return kind(message, retry_after=_retry_after(retry_after), witness=endpoint)
    if status == 422:
        return VerificationError(message, check="consistency", witness=endpoint, status=status)
    error = _BY_STATUS.get(status, CopysealError)
    return error(message, witness=endpoint, status=status)


def _problem(media_type: str, data: bytes) -> dict[str, Any]:
    if media_type not in ("application/problem+json", "application/json"):
        return {}
    try:  # bounded in depth: a witness's reply is parsed in the log's own process
        parsed = parse_json(data)
    except MalformedDocument:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _retry_after(value: str | None) -> float:
    # Delta-seconds only: an HTTP-date would need a clock, and witnesses send seconds.
    if value is not None and value.strip().isdigit():
        return float(value.strip())
    return DEFAULT_RETRY_AFTER


def _parse_lines(note: Note, data: bytes, endpoint: str) -> list[NoteSignature]:
    if not data:
        raise MalformedDocument(f"the witness at {endpoint} sent no cosignature")
    try:
        # The protocol's own recipe: the reply appended to the checkpoint is a signed note.
        cosigned = Note.from_text(note.text.encode() + b"\n" + data)
    except MalformedDocument as exc:
        raise MalformedDocument(
            f"the witness at {endpoint} sent malformed cosignature lines: {exc.message}"
        ) from exc
    return list(cosigned.signatures)


def _verified(
    note: Note, lines: list[NoteSignature], witness: NoteVerifier, endpoint: str
) -> list[NoteSignature]:
    if witness.alg != ALG_COSIGNATURE_V1:
        raise InvalidInput("a witness key is a cosignature (type 0x04) key")
    mine = [s for s in lines if (s.name, s.key_id) == (witness.name, witness.key_id)]
    try:
        verify_note(Note(note.text, tuple(mine)), [witness])
    except VerificationError as exc:
        raise VerificationError(
            f"the witness at {endpoint} returned no valid cosignature by {witness.name}: "
            f"{exc.message}",
            check="cosignature",
            witness=endpoint,
        ) from exc
    return mine
