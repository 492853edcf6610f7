"""The creator's side of registration: turn content into signed register claims.

Runs where the creator's key is (the CLI, or the server for a custodial account). Every
input is checked before any claim is made, so a batch with one bad work registers nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from copyseal.core.claims import Claim
from copyseal.core.keys import Signer
from copyseal.core.kinds import sign_claim
from copyseal.core.kinds.dispute import dispute_body
from copyseal.core.kinds.register import SALT_BYTES, commitment, private_body, register_body
from copyseal.core.workid import normalise_work_id
from copyseal.domain.titles import check_title
from copyseal.errors import ContentTooLarge, EmptyContent
from copyseal.services.fingerprints import fingerprint_fields
from copyseal.services.registry import Clock, format_time

TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"

Fingerprinter = Callable[[Sequence[tuple[bytes, str]]], list[dict[str, Any]]]
"""Fingerprint fields of many (content, media type) pairs."""


@dataclass(frozen=True)
class WorkInput:
    content: bytes
    media_type: str
    label: str
    title: str | None = None


def check_work(work: WorkInput, max_bytes: int) -> None:
    if work.title:
        check_title(work.title, label=work.label)
    if not work.content:
        raise EmptyContent(f"{work.label} is empty", label=work.label)
    if len(work.content) > max_bytes:
        raise ContentTooLarge(
            f"{work.label} is {len(work.content)} bytes, over the limit of {max_bytes}",
            label=work.label,
            limit=max_bytes,
        )


def prepare_register_claims(
    works: Sequence[WorkInput],
    signer: Signer,
    *,
    clock: Clock,
    random_bytes: Callable[[int], bytes],
    max_bytes: int,
    derivative_of: Sequence[str] = (),
    fingerprints: Fingerprinter | None = None,
) -> list[Claim]:
    """Public registrations: the content's hash and its similarity fingerprints, computed by
    ``fingerprints`` if given (e.g. :meth:`WorkerPool.fingerprints`), else here."""
    for work in works:
        check_work(work, max_bytes)
    pairs = [(work.content, work.media_type) for work in works]
    fields = fingerprints(pairs) if fingerprints else [fingerprint_fields(*p) for p in pairs]
    bodies = [
        register_body(
            sha256=hashlib.sha256(work.content).digest(),
            size=len(work.content),
            media_type=work.media_type,
            title=work.title,
            fingerprints=found,
            derivative_of=derivative_of,
        )
        for work, found in zip(works, fields, strict=True)
    ]
    created = format_time(clock())
    return [
        sign_claim(signer, "register", body, nonce=random_bytes(16), created=created)
        for body in bodies
    ]


def prepare_private_claims(
    works: Sequence[WorkInput],
    signer: Signer,
    *,
    clock: Clock,
    random_bytes: Callable[[int], bytes],
    max_bytes: int,
) -> list[tuple[Claim, bytes]]:
    """Private registrations: only SHA-256(salt ‖ content) is published, no fingerprint, so
    the work stays out of search. Returns each claim with the salt the creator must keep."""
    for work in works:
        check_work(work, max_bytes)
    created = format_time(clock())
    out = []
    for work in works:
        salt = random_bytes(SALT_BYTES)
        body = private_body(commitment_hash=commitment(salt, work.content), title=work.title)
        claim = sign_claim(signer, "register", body, nonce=random_bytes(16), created=created)
        out.append((claim, salt))
    return out


def prepare_dispute_claim(
    work: WorkInput,
    signer: Signer,
    *,
    disputed: str,
    reason: str,
    clock: Clock,
    random_bytes: Callable[[int], bytes],
    max_bytes: int,
) -> Claim:
    """A claim that an earlier registered work is the signer's; the earlier work is untouched."""
    check_work(work, max_bytes)
    body = dispute_body(
        work_id=normalise_work_id(disputed),
        reason=reason,
        content={
            "sha256": hashlib.sha256(work.content).hexdigest(),
            "size": len(work.content),
            "media_type": work.media_type,
        },
    )
    fields = fingerprint_fields(work.content, work.media_type)
    if fields:
        body["fingerprints"] = fields
    return sign_claim(signer, "dispute", body, nonce=random_bytes(16), created=format_time(clock()))
