"""C2SP signed notes, tlog checkpoints and tlog cosignatures.

These are the formats of Go's checksum database, Sigstore's Rekor v2 and the witness network,
so existing verifiers and witnesses read our checkpoints, and we read theirs:

* signed-note: ``text`` ending in ``\\n``, a blank line, then ``— <name> <base64(keyID ‖ sig)>``
  lines. keyID = SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]. Type 0x01 is Ed25519 over the
  text; type 0x04 is a tlog-cosignature/v1 (timestamped, over a checkpoint body).
* verifier key: ``name+hex8(keyID)+base64(type ‖ public key)``.
* tlog-checkpoint: ``origin\\n<size>\\n<base64 root>\\n`` then optional extension lines.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from copyseal.core.encoding import b64decode, b64encode
from copyseal.core.keys import public_bytes
from copyseal.errors import MalformedDocument, VerificationError

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
EM_DASH = "\u2014"
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 1 << 20
COSIGNATURE_BYTES = 72  # timestamp (8) ‖ Ed25519 signature (64)
MAX_TREE_SIZE = (1 << 64) - 1  # tree sizes are uint64, as in every tlog implementation


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise MalformedDocument(f"key name {name!r} is empty or holds '+' or whitespace")
    _check_utf8(name, "key name")


def _check_utf8(text: str, what: str) -> None:
    # A str can hold lone surrogates, which have no UTF-8 encoding and so no key ID or
    # signature; refuse them here rather than fail later with a UnicodeEncodeError.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedDocument(f"{what} is not valid Unicode") from exc


def cosignature_message(timestamp: int, checkpoint_body: str) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + checkpoint_body.encode()


# -- keys -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteVerifier:
    """A public key that checks one signer's lines in signed notes."""

    name: str
    alg: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.alg, self.public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise MalformedDocument("a verifier key is name+keyid+base64")
        name, hex_id, b64 = parts
        _check_name(name)
        raw = b64decode(b64, "verifier key")
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise MalformedDocument("verifier key is not an Ed25519 or cosignature key")
        verifier = cls(name=name, alg=raw[0], public_key=raw[1:])
        if hex_id != verifier.key_id.hex():
            raise MalformedDocument("verifier key's key ID does not match its key")
        return verifier

    def to_vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{b64encode(bytes([self.alg]) + self.public_key)}"

    def verify_raw(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class NoteSigner:
    """An Ed25519 private key that signs notes under ``name``."""

    name: str
    seed: bytes
    alg: int = ALG_ED25519

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.seed) != 32:
            raise MalformedDocument("an Ed25519 seed is 32 bytes")

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.alg, public_bytes(self._private.public_key()))

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse Go's ``PRIVATE+KEY+name+hex8+base64(type ‖ seed)``."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise MalformedDocument("a signer key is PRIVATE+KEY+name+keyid+base64")
        raw = b64decode(parts[4], "signer key")
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise MalformedDocument("signer key is not an Ed25519 key")
        signer = cls(name=parts[2], seed=raw[1:], alg=raw[0])
        if parts[3] != signer.verifier.key_id.hex():
            raise MalformedDocument("signer key's key ID does not match its key")
        return signer

    def to_skey(self) -> str:
        kid = self.verifier.key_id.hex()
        return f"PRIVATE+KEY+{self.name}+{kid}+{b64encode(bytes([self.alg]) + self.seed)}"

    def sign_line(self, text: str) -> NoteSignature:
        """A signature line over the note ``text`` (type 0x01)."""
        if self.alg != ALG_ED25519:
            raise ValueError("plain note signatures need an Ed25519 (0x01) key")
        sig = self._private.sign(text.encode())
        return NoteSignature(self.name, self.verifier.key_id, sig)

    def cosign_line(self, checkpoint_body: str, timestamp: int) -> NoteSignature:
        """A tlog-cosignature/v1 line (type 0x04) over a checkpoint body."""
        if self.alg != ALG_COSIGNATURE_V1:
            raise ValueError("cosignatures need a cosignature (0x04) key")
        sig = self._private.sign(cosignature_message(timestamp, checkpoint_body))
        return NoteSignature(self.name, self.verifier.key_id, struct.pack(">Q", timestamp) + sig)


# -- notes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes  # for cosignatures: timestamp (8 bytes BE) ‖ Ed25519 signature

    def to_line(self) -> str:
        return f"{EM_DASH} {self.name} {b64encode(self.key_id + self.signature)}\n"

    @property
    def timestamp(self) -> int:
        """A cosignature's time, seconds since the epoch."""
        if len(self.signature) != COSIGNATURE_BYTES:
            raise MalformedDocument("signature is not a tlog-cosignature/v1")
        return int(struct.unpack(">Q", self.signature[:8])[0])


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[NoteSignature, ...] = field(default=())

    @classmethod
    def from_text(cls, data: str | bytes) -> Note:
        if isinstance(data, bytes):
            if len(data) > MAX_NOTE_BYTES:
                raise MalformedDocument("signed note is too large")
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MalformedDocument("signed note is not UTF-8") from exc
        if len(data) > MAX_NOTE_BYTES:
            raise MalformedDocument("signed note is too large")
        _check_utf8(data, "signed note")
        if any(ord(c) < 0x20 and c != "\n" for c in data) or "\x7f" in data:
            raise MalformedDocument("signed note holds control characters")
        split = data.rfind("\n\n")
        if split < 0:
            raise MalformedDocument("signed note has no blank line before its signatures")
        text, block = data[: split + 1], data[split + 2 :]
        if not block.endswith("\n"):
            raise MalformedDocument("signed note's last line is not terminated")
        lines = block[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise MalformedDocument("signed note has too many signatures")
        return cls(text=text, signatures=tuple(_parse_signature_line(line) for line in lines))

    def to_text(self) -> str:
        return self.text + "\n" + "".join(s.to_line() for s in self.signatures)

    def with_signatures(self, extra: Iterable[NoteSignature]) -> Note:
        return Note(self.text, self.signatures + tuple(extra))


def _parse_signature_line(line: str) -> NoteSignature:
    prefix = EM_DASH + " "
    if not line.startswith(prefix):
        raise MalformedDocument("signature line does not start with an em dash")
    fields = line[len(prefix) :].split(" ")
    if len(fields) != 2:
        raise MalformedDocument("signature line is not '— name signature'")
    name, b64 = fields
    _check_name(name)
    raw = b64decode(b64, "note signature")
    if len(raw) < 5:
        raise MalformedDocument("note signature is too short")
    return NoteSignature(name, raw[:4], raw[4:])


def sign_note(text: str, signers: Sequence[NoteSigner]) -> Note:
    if not text.endswith("\n"):
        raise MalformedDocument("note text must end with a newline")
    return Note(text, tuple(s.sign_line(text) for s in signers))


def verify_note(note: Note, verifiers: Sequence[NoteVerifier]) -> list[NoteVerifier]:
    """Verify the lines made by known keys; raise unless at least one verifies.

    Lines by unknown keys are ignored (the spec's rule); a line by a known key that does not
    verify is an error, never a skip. Each key appears once in the result, however many
    lines it signed.
    """
    verified = signers_of(note, verifiers)
    if not verified:
        raise VerificationError("no signature by a trusted key", check="checkpoint")
    return verified


def signers_of(
    note: Note, verifiers: Sequence[NoteVerifier], *, check: str = "checkpoint"
) -> list[NoteVerifier]:
    """The known keys whose lines verify, each once; raise if a known key's line is bad.

    Unlike :func:`verify_note` an empty result is not an error, so a caller can count
    witnesses against a quorum.
    """
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[NoteVerifier] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if verifier.alg == ALG_COSIGNATURE_V1:
            ok = len(sig.signature) == COSIGNATURE_BYTES and verifier.verify_raw(
                cosignature_message(sig.timestamp, note.text), sig.signature[8:]
            )
        else:
            ok = verifier.verify_raw(note.text.encode(), sig.signature)
        if not ok:
            raise VerificationError(f"signature by {sig.name} does not verify", check=check)
        # A key that signs twice still counts once, or a quorum could be met by repeats.
        if verifier not in verified:
            verified.append(verifier)
    return verified


# -- checkpoints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise MalformedDocument("checkpoint body must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedDocument("checkpoint needs origin, size and root lines")
        origin, size_text, root_text, *ext = lines
        if not origin:
            raise MalformedDocument("checkpoint origin is empty")
        if (
            not 0 < len(size_text) <= 20
            or not size_text.isascii()
            or not size_text.isdigit()
            or str(int(size_text)) != size_text
            or int(size_text) > MAX_TREE_SIZE
        ):
            raise MalformedDocument("checkpoint size is not a canonical uint64 decimal")
        root_hash = b64decode(root_text, "checkpoint root")
        if len(root_hash) != 32:
            raise MalformedDocument("checkpoint root is not 32 bytes")
        if any(not line for line in ext):
            raise MalformedDocument("checkpoint extension lines must not be empty")
        return cls(origin, int(size_text), root_hash, tuple(ext))

    def to_text(self) -> str:
        ext = "".join(line + "\n" for line in self.extensions)
        return f"{self.origin}\n{self.size}\n{b64encode(self.root_hash)}\n{ext}"


def open_checkpoint(signed: str | bytes, log: NoteVerifier) -> tuple[Checkpoint, Note]:
    """Parse a signed checkpoint and verify the log's own signature on it."""
    note = Note.from_text(signed)
    checkpoint = Checkpoint.from_text(note.text)
    if checkpoint.origin != log.name:
        raise VerificationError(
            f"checkpoint is from {checkpoint.origin!r}, not {log.name!r}", check="checkpoint"
        )
    verify_note(note, [log])
    return checkpoint, note
