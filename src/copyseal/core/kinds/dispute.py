"""``dispute``: "this earlier work is mine". The earlier work is untouched; its record shows
the dispute, and the dispute carries its signer's copy of the content.

Body version 1::

    {"work_id": "000042-7KQ2", "reason": "…" (1–2,000 characters),
     "content": {"sha256": "<hex>", "size": 123, "media_type": "…"},
     "fingerprints": {…}}                                            optional
"""

from __future__ import annotations

from typing import Any

from copyseal.core.kinds.kind import Body, ClaimKind, Link
from copyseal.core.kinds.register import (
    validate_fingerprints,
    validate_public_content,
    validate_work_ids,
)
from copyseal.core.schema import check_fields, check_str

MAX_REASON = 2000


def validate_v1(body: Any) -> None:
    check_fields(body, "dispute body", {"work_id", "reason", "content"}, {"fingerprints"})
    validate_work_ids([body["work_id"]], "work_id")
    check_str(body["reason"], "reason", MAX_REASON)
    validate_public_content(body["content"])
    if "fingerprints" in body:
        validate_fingerprints(body["fingerprints"])


def dispute_body(*, work_id: str, reason: str, content: dict[str, Any]) -> dict[str, Any]:
    body = {"work_id": work_id, "reason": reason, "content": content}
    validate_v1(body)
    return body


def _describe(body: Body) -> dict[str, Any]:
    return {"disputes": body["work_id"], "reason": body["reason"], "content": body["content"]}


KIND = ClaimKind(
    name="dispute",
    version=1,
    validators={1: validate_v1},
    content=lambda body: str(body["content"]["sha256"]),
    links=lambda body: (Link(body["work_id"], "dispute"),),
    describe=_describe,
)
