"""The web service's secret and what is derived from it: sealing custodial keys, MAC keys.

``server.key`` in the home holds 32 random bytes (hex, mode 0600), created on first use. From
it HKDF-SHA256 derives one key per purpose, so the key that seals custodial keys is never the
one that makes CSRF tokens. Losing ``server.key`` makes every custodial key unrecoverable:
back it up with the home, and keep it apart from copies of the database.

A sealed key is ``0x01 ‖ nonce (12) ‖ AES-256-GCM(seed) ‖ tag``, with the account and did as
associated data, so a sealed key copied onto another account's row does not open.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from copyseal.adapters.keystore import write_private_file
from copyseal.errors import ConflictError, MalformedDocument, VerificationError

SECRET_FILE = "server.key"
_SEAL_VERSION = b"\x01"
_NONCE = 12


def load_or_create_secret(home: Path, random_bytes: Callable[[int], bytes] = os.urandom) -> bytes:
    path = home / SECRET_FILE
    if not path.exists():
        # Another process may create it first: then read theirs.
        with contextlib.suppress(ConflictError):
            write_private_file(path, random_bytes(32).hex().encode() + b"\n")
    try:
        secret = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise MalformedDocument(f"{path} cannot be read: {exc}") from exc
    if len(secret) != 32:
        raise MalformedDocument(f"{path} must hold 32 bytes in hex")
    return secret


def derive_key(secret: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"copyseal/{purpose}/v1".encode()
    ).derive(secret)


class AesGcmSealer:
    """A :class:`copyseal.domain.accounts.KeySealer` with AES-256-GCM."""

    def __init__(self, secret: bytes, random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        self._aead = AESGCM(derive_key(secret, "seal-custodial-key"))
        self._random = random_bytes

    def seal(self, secret: bytes, context: bytes) -> bytes:
        nonce = self._random(_NONCE)
        return _SEAL_VERSION + nonce + self._aead.encrypt(nonce, secret, context)

    def unseal(self, sealed: bytes, context: bytes) -> bytes:
        if sealed[:1] != _SEAL_VERSION or len(sealed) < 1 + _NONCE + 16:
            raise MalformedDocument("sealed key has an unknown format")
        nonce, body = sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :]
        try:
            return self._aead.decrypt(nonce, body, context)
        except InvalidTag as exc:
            raise VerificationError(
                "sealed key does not open: wrong server.key, or the row was tampered with",
                check="sealed_key",
            ) from exc
