"""Signed claim envelopes and log leaves.

A claim is "signer K says <body> about a work", in a typed, versioned envelope::

    {"type": "register", "v": 1, "signer": "did:key:z6Mk…", "nonce": "<16 random bytes>",
     "created": "2026-11-23T21:00:00Z", "body": {…}, "sig": "<base64url Ed25519>"}

The signature covers ``copyseal/<type>/v1\\n`` ‖ JCS(envelope without ``sig``), so a claim of
one type cannot be replayed as another, and the nonce makes every claim unique so the log can
refuse a replay. A new claim type is a new body validator in ``BODY_VALIDATORS``; the
envelope, signing and logging stay as they are.

A log leaf is JCS({"claim": …, "logged_at": …}); ``logged_at`` is the log's integration
time, the time that proves priority.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from copyseal.core.encoding import b64url_decode, b64url_encode, hex32, jcs
from copyseal.core.keys import Signer, public_key_from_did, verify_signature
from copyseal.core.workid import normalise_work_id
from copyseal.errors import MalformedDocument, UnsupportedVersion

CLAIM_VERSION = 1
NONCE_BYTES = 16
MAX_TITLE = 300
MAX_MEDIA_TYPE = 127
MAX_PARENTS = 16
MAX_REASON = 2000
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(; ?[ -~]+)?")


def _fields(obj: Any, what: str, required: set[str], optional: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    if not isinstance(obj, dict):
        raise MalformedDocument(f"{what} must be a JSON object")
    keys = set(obj)
    if missing := required - keys:
        raise MalformedDocument(f"{what} lacks {', '.join(sorted(missing))}")
    if extra := keys - required - optional:
        raise MalformedDocument(f"{what} has unknown fields {', '.join(sorted(extra))}")


def check_time(value: Any, what: str) -> str:
    message = f"{what} must be an RFC 3339 UTC time like 2026-01-31T12:00:00Z"
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise MalformedDocument(message)
    try:
        datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError as exc:  # month 13, February 30, hour 25, ...
        raise MalformedDocument(message) from exc
    return value


def _check_int(value: Any, what: str, low: int = 0) -> int:
    if type(value) is not int or value < low:
        raise MalformedDocument(f"{what} must be an integer ≥ {low}")
    return value


def _check_str(value: Any, what: str, max_len: int) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise MalformedDocument(f"{what} must be a string of 1 to {max_len} characters")
    return value


# -- bodies -----------------------------------------------------------------------------------


def _validate_public_content(content: Any) -> None:
    _fields(content, "content", {"sha256", "size", "media_type"})
    hex32(content["sha256"], "content.sha256")
    _check_int(content["size"], "content.size", 1)
    media_type = _check_str(content["media_type"], "content.media_type", MAX_MEDIA_TYPE)
    if not _MEDIA_TYPE.fullmatch(media_type):
        raise MalformedDocument(f"{media_type!r} is not a media type")


def _validate_work_ids(value: Any, what: str) -> None:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_PARENTS:
        raise MalformedDocument(f"{what} must list 1 to {MAX_PARENTS} work IDs")
    for work_id in value:
        if not isinstance(work_id, str) or normalise_work_id(work_id) != work_id:
            raise MalformedDocument(f"{what} holds {work_id!r}, not a canonical work ID")
    if len(set(value)) != len(value):
        raise MalformedDocument(f"{what} names a work twice")


def validate_register_body(body: Any) -> None:
    """A work: public (content hash, size, media type, fingerprints) or private (only a salted
    commitment, SHA-256(salt ‖ content), so nothing about the work is published)."""
    _fields(body, "register body", {"content"}, {"title", "fingerprints", "derivative_of"})
    content = body["content"]
    if isinstance(content, dict) and "commitment" in content:
        _fields(content, "content", {"commitment"})
        hex32(content["commitment"], "content.commitment")
        if "fingerprints" in body:
            raise MalformedDocument("a private registration publishes no fingerprints")
    else:
        _validate_public_content(content)
    if "title" in body:
        _check_str(body["title"], "title", MAX_TITLE)
    if "fingerprints" in body and not isinstance(body["fingerprints"], dict):
        raise MalformedDocument("fingerprints must be a JSON object")
    if "derivative_of" in body:
        _validate_work_ids(body["derivative_of"], "derivative_of")


def validate_dispute_body(body: Any) -> None:
    """A registrant's claim that an earlier work is theirs: the earlier work is untouched."""
    _fields(body, "dispute body", {"work_id", "reason", "content"}, {"fingerprints"})
    _validate_work_ids([body["work_id"]], "work_id")
    _check_str(body["reason"], "reason", MAX_REASON)
    _validate_public_content(body["content"])
    if "fingerprints" in body and not isinstance(body["fingerprints"], dict):
        raise MalformedDocument("fingerprints must be a JSON object")


BODY_VALIDATORS: dict[str, Callable[[Any], None]] = {
    "register": validate_register_body,
    "dispute": validate_dispute_body,
}


SALT_BYTES = 32


def commitment(salt: bytes, content: bytes) -> bytes:
    """A private registration's commitment: SHA-256(salt ‖ content), salt 32 random bytes."""
    if len(salt) != SALT_BYTES:
        raise MalformedDocument(f"a salt is {SALT_BYTES} bytes")
    return hashlib.sha256(salt + content).digest()


def content_key(claim_type: str, body: Any) -> str | None:
    """The hash a claim is looked up by: the content's SHA-256, or a private commitment."""
    if claim_type not in ("register", "dispute"):
        return None
    content = body["content"]
    return str(content.get("sha256") or content["commitment"])


# -- envelope ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    type: str
    signer: str
    nonce: str
    created: str
    body: Mapping[str, Any]
    sig: str = ""
    version: int = CLAIM_VERSION

    def unsigned_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "v": self.version,
            "signer": self.signer,
            "nonce": self.nonce,
            "created": self.created,
            "body": dict(self.body),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.unsigned_dict(), "sig": self.sig}

    def signing_bytes(self) -> bytes:
        return jcs(self.unsigned_dict())

    @classmethod
    def from_dict(cls, obj: Any) -> Claim:
        """Decode and validate a claim's shape (not its signature)."""
        _fields(obj, "claim", {"type", "v", "signer", "nonce", "created", "body", "sig"})
        if obj["v"] != CLAIM_VERSION or type(obj["v"]) is not int:
            raise UnsupportedVersion(f"claim version {obj['v']!r} is not supported")
        if not isinstance(obj["type"], str):
            raise MalformedDocument("claim type must be a string")
        validator = BODY_VALIDATORS.get(obj["type"])
        if validator is None:
            raise UnsupportedVersion(f"claim type {obj['type']!r} is not supported")
        public_key_from_did(obj["signer"])
        if len(b64url_decode(obj["nonce"], "nonce")) != NONCE_BYTES:
            raise MalformedDocument(f"nonce must be {NONCE_BYTES} bytes")
        check_time(obj["created"], "created")
        validator(obj["body"])
        if len(b64url_decode(obj["sig"], "sig")) != 64:
            raise MalformedDocument("sig must be a 64-byte Ed25519 signature")
        return cls(
            type=obj["type"],
            signer=obj["signer"],
            nonce=obj["nonce"],
            created=obj["created"],
            body=obj["body"],
            sig=obj["sig"],
        )

    def verify(self) -> None:
        """Raise :class:`VerificationError` unless the signer's key made ``sig``."""
        verify_signature(
            public_key_from_did(self.signer),
            self.type,
            self.signing_bytes(),
            b64url_decode(self.sig, "sig"),
        )


def sign_claim(
    signer: Signer, claim_type: str, body: Mapping[str, Any], *, nonce: bytes, created: str
) -> Claim:
    """Build and sign a claim. ``nonce`` (16 random bytes) and ``created`` are arguments."""
    if claim_type not in BODY_VALIDATORS:
        raise UnsupportedVersion(f"claim type {claim_type!r} is not supported")
    BODY_VALIDATORS[claim_type](body)
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"nonce must be {NONCE_BYTES} bytes")
    unsigned = Claim(
        type=claim_type,
        signer=signer.did,
        nonce=b64url_encode(nonce),
        created=check_time(created, "created"),
        body=body,
    )
    sig = signer.sign(claim_type, unsigned.signing_bytes())
    return Claim(**{**unsigned.__dict__, "sig": b64url_encode(sig)})


def register_body(
    *,
    sha256: bytes,
    size: int,
    media_type: str,
    title: str | None = None,
    fingerprints: Mapping[str, Any] | None = None,
    derivative_of: Sequence[str] = (),
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "content": {"sha256": sha256.hex(), "size": size, "media_type": media_type}
    }
    if title:
        body["title"] = title
    if fingerprints:
        body["fingerprints"] = dict(fingerprints)
    if derivative_of:
        body["derivative_of"] = list(derivative_of)
    validate_register_body(body)
    return body


# -- leaves -----------------------------------------------------------------------------------


def leaf_object(claim: Claim, logged_at: str) -> dict[str, Any]:
    return {"claim": claim.to_dict(), "logged_at": check_time(logged_at, "logged_at")}


def leaf_bytes(claim: Claim, logged_at: str) -> bytes:
    return jcs(leaf_object(claim, logged_at))


def parse_leaf(obj: Any) -> tuple[Claim, str]:
    _fields(obj, "leaf", {"claim", "logged_at"})
    return Claim.from_dict(obj["claim"]), check_time(obj["logged_at"], "logged_at")
