"""Creator keys on disk: one JSON file per named identity, mode 0600.

A key file holds the identity's ``did:key`` in clear (so keys can be listed without a
passphrase) and the Ed25519 private key as PKCS#8 PEM, encrypted with the passphrase when
one is given. Files are written atomically and never overwritten.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from copyseal.core.keys import Signer
from copyseal.errors import ConflictError, InvalidInput, MalformedDocument, UnknownKey

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class KeyInfo:
    name: str
    did: str
    encrypted: bool


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 atomically; refuse to replace an existing file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError as exc:
        raise ConflictError(f"{path} already exists") from exc
    finally:
        tmp.unlink()


class KeyStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        if not _NAME.fullmatch(name):
            raise InvalidInput(f"key name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
        return self.directory / f"{name}.json"

    def create(self, name: str, *, seed: bytes, passphrase: str | None = None) -> KeyInfo:
        path = self._path(name)
        if path.exists():
            raise ConflictError(f"a key named {name!r} already exists")
        signer = Signer.from_seed(seed)
        encryption = BestAvailableEncryption(passphrase.encode()) if passphrase else NoEncryption()
        pem = signer.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption)
        record = {"name": name, "did": signer.did, "encrypted": bool(passphrase)}
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private_file(path, json.dumps({**record, "pem": pem.decode()}, indent=2).encode())
        return KeyInfo(name, signer.did, bool(passphrase))

    def info(self, name: str) -> KeyInfo:
        record = self._read(name)
        return KeyInfo(name, record["did"], bool(record["encrypted"]))

    def list(self) -> list[KeyInfo]:
        if not self.directory.is_dir():
            return []
        return [self.info(p.stem) for p in sorted(self.directory.glob("*.json"))]

    def load(self, name: str, passphrase: str | None = None) -> Signer:
        record = self._read(name)
        if record["encrypted"] and not passphrase:
            raise InvalidInput(
                f"key {name!r} is encrypted; give its passphrase (COPYSEAL_PASSPHRASE)"
            )
        try:
            key = load_pem_private_key(
                record["pem"].encode(),
                passphrase.encode() if record["encrypted"] and passphrase else None,
            )
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"key {name!r} cannot be opened: wrong passphrase?") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise MalformedDocument(f"key {name!r} is not an Ed25519 key")
        signer = Signer(key)
        if signer.did != record["did"]:
            raise MalformedDocument(f"key file {name!r} names another did than its key")
        return signer

    def export_pem(self, name: str) -> str:
        return str(self._read(name)["pem"])

    def _read(self, name: str) -> dict[str, Any]:
        path = self._path(name)
        try:
            record = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise UnknownKey(f"no key named {name!r}") from exc
        except (OSError, ValueError) as exc:
            raise MalformedDocument(f"key file {path} cannot be read: {exc}") from exc
        if not isinstance(record, dict) or {"did", "encrypted", "pem"} - set(record):
            raise MalformedDocument(f"key file {path} is not a copyseal key")
        return record
