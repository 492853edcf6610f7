"""Claim kinds: the bodies this copyseal understands, one module each, listed in one table.

The envelope (``core/claims.py``) is the same for every kind and verifies for any of them;
a kind gives a body its meaning. :data:`KINDS` is the one table of kinds: adding a kind is
its module, its line here, and the interface that submits it (``docs/architecture.md``).

Reading and admitting differ on purpose:

- :func:`read` is for claims already logged, here or in another log: an entry whose kind or
  body version this copyseal does not know, or whose body its kind's validator refuses, is
  still a valid entry. Its envelope verified, its bytes are carried as they are, and the
  :class:`Reading` says what was not understood, so mirrors, audits and verifiers carry what
  a newer writer added (as OpenTimestamps' ``UnknownAttestation`` does).
- :func:`admit` is for claims submitted to a registry: the kind must be one the registry
  accepts, the body version known, the body valid, and the kind's admission checks met.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from copyseal.core.claims import Claim, sign_envelope
from copyseal.core.keys import Signer
from copyseal.core.kinds import dispute, register
from copyseal.core.kinds.kind import ClaimKind, Link
from copyseal.errors import CopysealError, MalformedDocument, NotAccepted, UnsupportedVersion

__all__ = [
    "KINDS",
    "ClaimKind",
    "Link",
    "Reading",
    "admit",
    "content_of",
    "known",
    "read",
    "read_body",
    "sign_claim",
]

KINDS: Mapping[str, ClaimKind] = {kind.name: kind for kind in (register.KIND, dispute.KIND)}


@dataclass(frozen=True)
class Reading:
    """What this copyseal makes of a claim's body: its kind when understood, else why not."""

    kind: ClaimKind | None
    problem: str | None = None
    error: CopysealError | None = None

    @property
    def understood(self) -> bool:
        return self.kind is not None

    @property
    def work(self) -> bool:
        return self.kind is not None and self.kind.work


def known(
    claim_type: str, version: int, kinds: Mapping[str, ClaimKind] = KINDS
) -> ClaimKind | None:
    """The kind of claims of this type and body version, if this copyseal reads them, without
    looking at a body: for entries of this log, whose bodies were validated at admission."""
    kind = kinds.get(claim_type)
    return kind if kind is not None and version in kind.validators else None


def read_body(claim: Claim, kinds: Mapping[str, ClaimKind] = KINDS) -> ClaimKind:
    """The kind of ``claim`` after validating its body; raises if it is not understood:
    :class:`UnsupportedVersion` for an unknown kind or body version, else
    :class:`MalformedDocument`."""
    kind = kinds.get(claim.type)
    if kind is None:
        raise UnsupportedVersion(f"claim type {claim.type!r} is unknown to this copyseal")
    validator = kind.validators.get(claim.version)
    if validator is None:
        raise UnsupportedVersion(
            f"{claim.type} body version {claim.version} is unknown to this copyseal"
        )
    validator(claim.body)
    return kind


def read(claim: Claim, kinds: Mapping[str, ClaimKind] = KINDS) -> Reading:
    """:func:`read_body` that reports instead of raising: for logged claims.

    A claim is immutable once signed (its signature covers the body), so what this
    copyseal's own table makes of it is kept on it: the admission rules, the sequencer and
    the folds each ask, and the body is validated once."""
    cached: Reading | None = claim.__dict__.get(_READING) if kinds is KINDS else None
    if cached is not None:
        return cached
    try:
        reading = Reading(read_body(claim, kinds))
    except (UnsupportedVersion, MalformedDocument) as exc:
        reading = Reading(None, exc.message, exc)
    if kinds is KINDS:
        object.__setattr__(claim, _READING, reading)  # not a field: equality ignores it
    return reading


_READING = "_reading"


def content_of(claim: Claim, kinds: Mapping[str, ClaimKind] = KINDS) -> str | None:
    """The hash a logged claim is looked up by, if its kind has one and it is understood."""
    kind = read(claim, kinds).kind
    return None if kind is None else kind.content(claim.body)


def admit(
    claim: Claim, accepted: Collection[str], kinds: Mapping[str, ClaimKind] = KINDS
) -> ClaimKind:
    """The kind of a claim submitted to a registry that accepts the kinds ``accepted``;
    raises :class:`NotAccepted`, :class:`UnsupportedVersion` or :class:`MalformedDocument`."""
    if claim.type not in accepted:
        raise NotAccepted(
            f"claim type {claim.type!r} is not accepted by this log",
            accepted=sorted(accepted),
        )
    reading = read(claim, kinds)
    if reading.kind is None:
        assert reading.error is not None
        raise reading.error
    kind = reading.kind
    if claim.version != kind.version:
        raise UnsupportedVersion(
            f"this log accepts {claim.type} body version {kind.version}, not {claim.version}"
        )
    kind.admit(claim.body)
    return kind


def sign_claim(
    signer: Signer,
    claim_type: str,
    body: Mapping[str, Any],
    *,
    nonce: bytes,
    created: str,
    kinds: Mapping[str, ClaimKind] = KINDS,
) -> Claim:
    """Build and sign a claim of a known kind, in the body version this copyseal writes.
    ``nonce`` (16 random bytes) and ``created`` are arguments."""
    kind = kinds.get(claim_type)
    if kind is None:
        raise UnsupportedVersion(f"claim type {claim_type!r} is unknown to this copyseal")
    kind.validators[kind.version](body)
    return sign_envelope(
        signer, claim_type, body, version=kind.version, nonce=nonce, created=created
    )
