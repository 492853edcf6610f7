"""Signed claim envelopes and log leaves: the same for every kind of claim.

A claim is "signer K says <body> about a work", in a typed, versioned envelope::

    {"type": "register", "v": 1, "signer": "did:key:z6Mk…", "nonce": "<16 random bytes>",
     "created": "2026-11-23T21:00:00Z", "body": {…}, "sig": "<base64url Ed25519>"}

The signature covers ``copyseal/<type>/v1\\n`` ‖ JCS(envelope without ``sig``), so a claim of
one type cannot be replayed as another, and the nonce makes every claim unique so the log can
refuse a replay. The ``v1`` of that prefix names this envelope's signing scheme; ``v`` is the
version of the body, which belongs to the claim's kind.

The envelope is decoded and verified here for any ``type`` and ``v``: this module does not
know what bodies mean. ``core/kinds`` does, and a body it does not understand is carried as
it is (see ``copyseal.core.kinds.read``). The envelope's own fields never change: a new
field goes into a kind's body, in a new body version.

A log leaf is JCS({"claim": …, "logged_at": …}); ``logged_at`` is the log's integration
time, the time that proves priority.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from copyseal.core.encoding import b64url_decode, b64url_encode, jcs
from copyseal.core.keys import Signer, public_key_from_did, verify_signature
from copyseal.core.schema import check_fields, check_time
from copyseal.errors import MalformedDocument

NONCE_BYTES = 16
MAX_TYPE = 64
MAX_BODY_VERSION = 2**31 - 1
_TYPE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
ENVELOPE = ("type", "v", "signer", "nonce", "created", "body", "sig")


def check_type(value: Any) -> str:
    """A claim type: lowercase words joined by hyphens (``register``, ``key-rotate``)."""
    if not isinstance(value, str) or len(value) > MAX_TYPE or not _TYPE.fullmatch(value):
        raise MalformedDocument(
            f"claim type {value!r:.80} is not lowercase words joined by hyphens"
        )
    return value


@dataclass(frozen=True)
class Claim:
    type: str
    signer: str
    nonce: str
    created: str
    body: Mapping[str, Any]
    sig: str = ""
    version: int = 1

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
        """Decode a claim's envelope (not its signature, and not its body's meaning)."""
        check_fields(obj, "claim", ENVELOPE)
        version = obj["v"]
        if type(version) is not int or not 1 <= version <= MAX_BODY_VERSION:
            raise MalformedDocument(f"claim body version {version!r:.40} is not an integer ≥ 1")
        public_key_from_did(obj["signer"])
        if len(b64url_decode(obj["nonce"], "nonce")) != NONCE_BYTES:
            raise MalformedDocument(f"nonce must be {NONCE_BYTES} bytes")
        check_time(obj["created"], "created")
        if not isinstance(obj["body"], dict):
            raise MalformedDocument("claim body must be a JSON object")
        if len(b64url_decode(obj["sig"], "sig")) != 64:
            raise MalformedDocument("sig must be a 64-byte Ed25519 signature")
        return cls(
            type=check_type(obj["type"]),
            signer=obj["signer"],
            nonce=obj["nonce"],
            created=obj["created"],
            body=obj["body"],
            sig=obj["sig"],
            version=version,
        )

    def verify(self) -> None:
        """Raise :class:`VerificationError` unless the signer's key made ``sig``."""
        verify_signature(
            public_key_from_did(self.signer),
            self.type,
            self.signing_bytes(),
            b64url_decode(self.sig, "sig"),
        )


def sign_envelope(
    signer: Signer,
    claim_type: str,
    body: Mapping[str, Any],
    *,
    version: int,
    nonce: bytes,
    created: str,
) -> Claim:
    """Sign a claim of any type and body version, without looking at the body.

    The low-level form: ``copyseal.core.kinds.sign_claim`` checks the body against its kind
    first, and is what copyseal's own claims are made with."""
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"nonce must be {NONCE_BYTES} bytes")
    if type(version) is not int or not 1 <= version <= MAX_BODY_VERSION:
        raise ValueError("a body version is an integer ≥ 1")
    unsigned = Claim(
        type=check_type(claim_type),
        signer=signer.did,
        nonce=b64url_encode(nonce),
        created=check_time(created, "created"),
        body=body,
        version=version,
    )
    sig = signer.sign(claim_type, unsigned.signing_bytes())
    return Claim(**{**unsigned.__dict__, "sig": b64url_encode(sig)})


# -- leaves -----------------------------------------------------------------------------------


def leaf_object(claim: Claim, logged_at: str) -> dict[str, Any]:
    return {"claim": claim.to_dict(), "logged_at": check_time(logged_at, "logged_at")}


def leaf_bytes(claim: Claim, logged_at: str) -> bytes:
    return jcs(leaf_object(claim, logged_at))


def parse_leaf(obj: Any) -> tuple[Claim, str]:
    check_fields(obj, "leaf", {"claim", "logged_at"})
    return Claim.from_dict(obj["claim"]), check_time(obj["logged_at"], "logged_at")
