"""The creator's side of registration: turn content into signed register claims.

Runs where the creator's key is (the CLI, or the server for a custodial account). Every
input is checked before any claim is made, so a batch with one bad work registers nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from copyseal.core.claims import Claim, register_body, sign_claim
from copyseal.core.keys import Signer
from copyseal.errors import ContentTooLarge, EmptyContent
from copyseal.services.registry import Clock, format_time

TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class WorkInput:
    content: bytes
    media_type: str
    label: str
    title: str | None = None


def check_work(work: WorkInput, max_bytes: int) -> None:
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
) -> list[Claim]:
    for work in works:
        check_work(work, max_bytes)
    created = format_time(clock())
    return [
        sign_claim(
            signer,
            "register",
            register_body(
                sha256=hashlib.sha256(work.content).digest(),
                size=len(work.content),
                media_type=work.media_type,
                title=work.title,
            ),
            nonce=random_bytes(16),
            created=created,
        )
        for work in works
    ]
