"""Witness records, the witness's storage port, and the C2SP tlog-witness wire format.

A witness keeps one record per log it follows: the latest checkpoint it cosigned
(:class:`WitnessedCheckpoint`). The port (:class:`WitnessStore`) is a read and a
compare-and-swap, because the protocol requires that checking the submitted old size against
the record and storing the new checkpoint happen atomically: otherwise two concurrent
submissions could roll the record back. Every adapter must pass
``tests/contract/test_witness_store.py``.

The request body of ``POST <prefix>/add-checkpoint`` and the ``text/x.tlog.size`` body of a
409 are encoded and decoded here, once, for both the witness's server and the log's client.
Decoders are strict: canonical decimals, canonical base64 of exactly 32 bytes, at most 63
proof lines. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from copyseal.core.encoding import b64decode, b64encode
from copyseal.core.merkle import HASH_SIZE
from copyseal.core.note import MAX_TREE_SIZE
from copyseal.errors import MalformedDocument

MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_DECIMAL = re.compile(rb"(0|[1-9][0-9]{0,19})")


@dataclass(frozen=True)
class WitnessedCheckpoint:
    """The latest checkpoint a witness cosigned for one log.

    ``note`` is the signed checkpoint exactly as the log submitted it, its signatures
    included, so that it can be shown to anyone as evidence of what the log signed.
    """

    origin: str
    size: int
    root_hash: bytes
    note: str


class WitnessStore(Protocol):
    def latest(self, origin: str) -> WitnessedCheckpoint | None:
        """The record for ``origin``, or None if this witness never cosigned for it."""
        ...

    def compare_and_swap(
        self, expected: WitnessedCheckpoint | None, new: WitnessedCheckpoint
    ) -> bool:
        """Atomically replace the record of ``new.origin`` if it still matches ``expected``.

        Matching means the same size and root hash, or no record at all when ``expected``
        is None. Returns False, changing nothing, if another writer got there first; on
        True the new record is durable before this returns.
        """
        ...

    def close(self) -> None: ...


# -- the wire format --------------------------------------------------------------------------


def _decimal(raw: bytes, what: str) -> int:
    if not _DECIMAL.fullmatch(raw) or int(raw) > MAX_TREE_SIZE:
        raise MalformedDocument(f"{what} is not a canonical uint64 decimal")
    return int(raw)


@dataclass(frozen=True)
class AddCheckpointRequest:
    """The body of ``POST add-checkpoint``: old size, consistency proof, signed checkpoint.

    On the wire: ``old <size>\\n``, one standard base64 hash per line (at most 63), an empty
    line, then the signed checkpoint as a C2SP signed note.
    """

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.old_size <= MAX_TREE_SIZE:
            raise MalformedDocument("old size is not a uint64")
        if len(self.proof) > MAX_PROOF_LINES:
            raise MalformedDocument(f"a consistency proof has at most {MAX_PROOF_LINES} hashes")
        if any(len(h) != HASH_SIZE for h in self.proof):
            raise MalformedDocument("a consistency proof hash is not 32 bytes")

    @classmethod
    def from_body(cls, body: bytes) -> AddCheckpointRequest:
        head, sep, rest = body.partition(b"\n")
        if not sep or not head.startswith(b"old "):
            raise MalformedDocument("add-checkpoint body must start with 'old <size>'")
        old_size = _decimal(head[4:], "old size")
        proof: list[bytes] = []
        while True:
            line, sep, rest = rest.partition(b"\n")
            if not sep:
                raise MalformedDocument("add-checkpoint body has no empty line before the note")
            if not line:
                break
            if len(proof) == MAX_PROOF_LINES:
                raise MalformedDocument(f"more than {MAX_PROOF_LINES} consistency proof lines")
            proof.append(_proof_hash(line))
        if not rest:
            raise MalformedDocument("add-checkpoint body has no checkpoint")
        return cls(old_size, tuple(proof), rest)

    def to_body(self) -> bytes:
        lines = [f"old {self.old_size}\n"] + [b64encode(h) + "\n" for h in self.proof]
        return "".join(lines).encode() + b"\n" + self.checkpoint


def _proof_hash(line: bytes) -> bytes:
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MalformedDocument("a consistency proof line is not base64") from exc
    raw = b64decode(text, "consistency proof line")
    if len(raw) != HASH_SIZE:
        raise MalformedDocument("a consistency proof hash is not 32 bytes")
    return raw


def build_add_checkpoint_body(
    old_size: int, proof: Sequence[bytes], signed_checkpoint: bytes | str
) -> bytes:
    """The request body for a log's ``add-checkpoint`` call."""
    note = signed_checkpoint.encode() if isinstance(signed_checkpoint, str) else signed_checkpoint
    return AddCheckpointRequest(old_size, tuple(proof), note).to_body()


def encode_size_body(size: int) -> bytes:
    """A 409's ``text/x.tlog.size`` body: the witness's latest size and a newline."""
    return f"{size}\n".encode()


def decode_size_body(body: bytes) -> int:
    if not body.endswith(b"\n"):
        raise MalformedDocument("a text/x.tlog.size body ends with a newline")
    return _decimal(body[:-1], "witness tree size")
