"""Ed25519 keys, ``did:key`` names and domain-separated signatures.

A signature is made over ``copyseal/<purpose>/v1\\n`` followed by the message bytes, so a
signature made for one purpose (a register claim, say) can never be replayed as another.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from copyseal.core.encoding import b58decode, b58encode
from copyseal.errors import MalformedDocument, VerificationError

ED25519_MULTICODEC = b"\xed\x01"
DID_KEY_PREFIX = "did:key:z"
_MAX_DID_LENGTH = 64  # an Ed25519 did:key is 56 characters; base58 decoding is quadratic


def domain_message(purpose: str, message: bytes) -> bytes:
    """The bytes actually signed for ``purpose``."""
    if not purpose or "\n" in purpose or "/" in purpose:
        raise ValueError(f"bad signature purpose {purpose!r}")
    return b"copyseal/" + purpose.encode("ascii") + b"/v1\n" + message


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Signer:
    """A private key and its public name."""

    private_key: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, seed: bytes) -> Signer:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @functools.cached_property
    def public_key(self) -> bytes:
        return public_bytes(self.private_key.public_key())

    @functools.cached_property
    def did(self) -> str:
        return did_from_public_key(self.public_key)

    def sign(self, purpose: str, message: bytes) -> bytes:
        return self.private_key.sign(domain_message(purpose, message))


def did_from_public_key(public_key: bytes) -> str:
    if len(public_key) != 32:
        raise MalformedDocument("an Ed25519 public key is 32 bytes")
    return DID_KEY_PREFIX + b58encode(ED25519_MULTICODEC + public_key)


def public_key_from_did(did: Any) -> bytes:
    """The Ed25519 public key named by a ``did:key``; raises on any other kind of did."""
    if not isinstance(did, str) or not did.startswith(DID_KEY_PREFIX) or len(did) > _MAX_DID_LENGTH:
        raise MalformedDocument(f"{did!r:.80} is not an Ed25519 did:key")
    return _decode_did_key(did)


@functools.lru_cache(maxsize=4096)
def _decode_did_key(did: str) -> bytes:
    # Cached: a registry sees the same few signers over and over, and base58 is slow.
    raw = b58decode(did[len(DID_KEY_PREFIX) :])
    if len(raw) != 34 or raw[:2] != ED25519_MULTICODEC:
        raise MalformedDocument(f"{did!r} is not an Ed25519 did:key")
    if did_from_public_key(raw[2:]) != did:
        raise MalformedDocument(f"{did!r} is not canonical")
    return raw[2:]


def verify_signature(public_key: bytes, purpose: str, message: bytes, signature: bytes) -> None:
    """Raise :class:`VerificationError` unless ``signature`` is valid for ``purpose``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            signature, domain_message(purpose, message)
        )
    except (InvalidSignature, ValueError) as exc:
        raise VerificationError("signature is not valid", check="signature") from exc
