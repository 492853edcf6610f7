"""``register``: "the signer created this work". Public or private.

Body version 1::

    {"content": {"sha256": "<hex>", "size": 123, "media_type": "text/plain; charset=utf-8"},
     "title": "…",                                   optional, 1–300 characters
     "fingerprints": {"text_minhash_v1": "…", …},   optional, see copyseal.fingerprint
     "derivative_of": ["000042-7KQ2", …]}            optional, 1–16 earlier works

A private registration publishes only a salted commitment, SHA-256(salt ‖ content), with a
32-byte random salt the creator keeps: ``{"content": {"commitment": "<hex>"}, "title"?}``,
no fingerprints and no lineage, so nothing about the work is published until the creator
shows the content and the salt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from copyseal.core.encoding import hex32
from copyseal.core.kinds.kind import Body, ClaimKind, Link
from copyseal.core.schema import check_fields, check_int, check_media_type, check_str
from copyseal.core.workid import normalise_work_id
from copyseal.errors import MalformedDocument

MAX_TITLE = 300
MAX_PARENTS = 16
SALT_BYTES = 32


def commitment(salt: bytes, content: bytes) -> bytes:
    """A private registration's commitment: SHA-256(salt ‖ content), salt 32 random bytes."""
    if len(salt) != SALT_BYTES:
        raise MalformedDocument(f"a salt is {SALT_BYTES} bytes")
    return hashlib.sha256(salt + content).digest()


def validate_public_content(content: Any) -> None:
    check_fields(content, "content", {"sha256", "size", "media_type"})
    hex32(content["sha256"], "content.sha256")
    check_int(content["size"], "content.size", 1)
    check_media_type(content["media_type"], "content.media_type")


def validate_work_ids(value: Any, what: str) -> None:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_PARENTS:
        raise MalformedDocument(f"{what} must list 1 to {MAX_PARENTS} work IDs")
    for work_id in value:
        if not isinstance(work_id, str) or normalise_work_id(work_id) != work_id:
            raise MalformedDocument(f"{what} holds {work_id!r}, not a canonical work ID")
    if len(set(value)) != len(value):
        raise MalformedDocument(f"{what} names a work twice")


def validate_fingerprints(value: Any) -> None:
    if not isinstance(value, dict):
        raise MalformedDocument("fingerprints must be a JSON object")


def validate_v1(body: Any) -> None:
    check_fields(body, "register body", {"content"}, {"title", "fingerprints", "derivative_of"})
    content = body["content"]
    if isinstance(content, dict) and "commitment" in content:
        check_fields(content, "content", {"commitment"})
        hex32(content["commitment"], "content.commitment")
        if "fingerprints" in body:
            raise MalformedDocument("a private registration publishes no fingerprints")
    else:
        validate_public_content(content)
    if "title" in body:
        check_str(body["title"], "title", MAX_TITLE)
    if "fingerprints" in body:
        validate_fingerprints(body["fingerprints"])
    if "derivative_of" in body:
        validate_work_ids(body["derivative_of"], "derivative_of")


def is_private(body: Body) -> bool:
    return "commitment" in body["content"]


def _content(body: Body) -> str:
    content = body["content"]
    return str(content.get("sha256") or content["commitment"])


def _links(body: Body) -> tuple[Link, ...]:
    return tuple(Link(parent, "derivative") for parent in body.get("derivative_of", ()))


def _fingerprints(body: Body) -> Mapping[str, Any]:
    found: Mapping[str, Any] = body.get("fingerprints") or {}
    return found


def _describe(body: Body) -> dict[str, Any]:
    return {"title": body.get("title"), "content": dict(body["content"])}


def register_body(
    *,
    sha256: bytes,
    size: int,
    media_type: str,
    title: str | None = None,
    fingerprints: Mapping[str, Any] | None = None,
    derivative_of: Sequence[str] = (),
) -> dict[str, Any]:
    """A public registration's body, checked."""
    body: dict[str, Any] = {
        "content": {"sha256": sha256.hex(), "size": size, "media_type": media_type}
    }
    if title:
        body["title"] = title
    if fingerprints:
        body["fingerprints"] = dict(fingerprints)
    if derivative_of:
        body["derivative_of"] = list(derivative_of)
    validate_v1(body)
    return body


def private_body(*, commitment_hash: bytes, title: str | None = None) -> dict[str, Any]:
    """A private registration's body: the commitment (and a title, if the creator wants)."""
    body: dict[str, Any] = {"content": {"commitment": commitment_hash.hex()}}
    if title:
        body["title"] = title
    validate_v1(body)
    return body


KIND = ClaimKind(
    name="register",
    version=1,
    validators={1: validate_v1},
    work=True,
    content=_content,
    links=_links,
    fingerprints=_fingerprints,
    describe=_describe,
)
