"""Anchor receipts: where and when a log's checkpoint was recorded on an EVM chain.

A certificate's ``anchors`` list holds receipts. Each names the anchoring transaction and
carries an RFC 9162 consistency proof from the certificate's own checkpoint to the anchored
one, so that the certificate's tree is shown to be a prefix of a tree whose root the chain
holds. Schema (one JSON object, inside the certificate's canonical JSON)::

    {"type": "evm-checkpoint-anchor/v1",
     "chain": "eip155:1",                        CAIP-2, the decimal EIP-155 chain ID
     "contract": "0x5aAe…",                      CheckpointAnchor, EIP-55 checksummed
     "tx_hash": "0x…",                           0x + 64 lowercase hex digits
     "block_number": 19000000, "block_timestamp": 1717000000,
     "origin": "example.com/log", "size": 1000,  the anchored checkpoint
     "root": "<64 hex>",
     "consistency": ["<64 hex>", …]}             from the certificate's size to ``size``

Pure: no I/O. What a verifier can check without a chain is here
(:func:`verify_anchor_offline`); that the chain really holds the root is checked by
``copyseal.services.chain_verification``. The decoder accepts one spelling only, and its
output is pinned by tests: changing it changes what issued certificates say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from copyseal.core import merkle
from copyseal.core.encoding import hex32
from copyseal.core.note import Checkpoint
from copyseal.errors import MalformedDocument, UnsupportedVersion, VerificationError

RECEIPT_TYPE = "evm-checkpoint-anchor/v1"
MAX_SAFE_INTEGER = 2**53 - 1  # RFC 8785 numbers are exact up to here
MAX_CONSISTENCY_PROOF = 64
_FIELDS = frozenset(
    {
        "type",
        "chain",
        "contract",
        "tx_hash",
        "block_number",
        "block_timestamp",
        "origin",
        "size",
        "root",
        "consistency",
    }
)
_CAIP2_EIP155 = re.compile(r"eip155:[1-9][0-9]{0,31}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_TX_HASH = re.compile(r"0x[0-9a-f]{64}")


@dataclass(frozen=True)
class Anchor:
    """A checkpoint (origin, size, root) recorded by one transaction on one chain."""

    chain: str
    contract: str
    tx_hash: str
    block_number: int
    block_timestamp: int
    origin: str
    size: int
    root: bytes

    @property
    def chain_id(self) -> int:
        """The EIP-155 chain ID named by ``chain``."""
        return int(self.chain.removeprefix("eip155:"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "contract": self.contract,
            "tx_hash": self.tx_hash,
            "block_number": self.block_number,
            "block_timestamp": self.block_timestamp,
            "origin": self.origin,
            "size": self.size,
            "root": self.root.hex(),
        }


@dataclass(frozen=True)
class AnchorReceipt:
    """An anchor, as a certificate cites it: plus the proof linking its checkpoint to it."""

    anchor: Anchor
    consistency: tuple[bytes, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": RECEIPT_TYPE,
            **self.anchor.to_dict(),
            "consistency": [p.hex() for p in self.consistency],
        }

    @classmethod
    def from_dict(cls, obj: Any) -> AnchorReceipt:
        if not isinstance(obj, dict):
            raise MalformedDocument("an anchor receipt is a JSON object")
        if obj.get("type") != RECEIPT_TYPE:
            raise UnsupportedVersion(f"anchor receipt type {obj.get('type')!r} is not supported")
        if set(obj) != _FIELDS:
            raise MalformedDocument(f"an anchor receipt holds exactly {', '.join(sorted(_FIELDS))}")
        proof = obj["consistency"]
        if not isinstance(proof, list) or len(proof) > MAX_CONSISTENCY_PROOF:
            raise MalformedDocument("anchor consistency must be a list of at most 64 hashes")
        anchor = Anchor(
            chain=_chain(obj["chain"]),
            contract=_contract(obj["contract"]),
            tx_hash=_tx_hash(obj["tx_hash"]),
            block_number=_int(obj["block_number"], "anchor block_number", minimum=1),
            block_timestamp=_int(obj["block_timestamp"], "anchor block_timestamp", minimum=0),
            origin=_origin(obj["origin"]),
            size=_int(obj["size"], "anchor size", minimum=1),
            root=hex32(obj["root"], "anchor root"),
        )
        return cls(anchor, tuple(hex32(p, "anchor consistency") for p in proof))


def verify_anchor_offline(receipt: AnchorReceipt, cert_checkpoint: Checkpoint) -> str:
    """Check that ``receipt``'s proof links ``cert_checkpoint`` to the anchored (size, root).

    ``cert_checkpoint`` must already be verified (signed by the trusted log). Returns what was
    shown; raises :class:`VerificationError` (check ``anchor``) otherwise. Whether the chain
    really holds the anchored root is not known offline.
    """
    a = receipt.anchor
    if a.origin != cert_checkpoint.origin:
        raise VerificationError(
            f"anchor is for log {a.origin!r}, not {cert_checkpoint.origin!r}", check="anchor"
        )
    if a.size < cert_checkpoint.size:
        raise VerificationError(
            f"anchored size {a.size} is older than the certificate's {cert_checkpoint.size}",
            check="anchor",
        )
    try:
        merkle.verify_consistency(
            cert_checkpoint.size, a.size, cert_checkpoint.root_hash, a.root, receipt.consistency
        )
    except VerificationError as exc:
        raise VerificationError(f"anchor: {exc.message}", check="anchor") from exc
    return f"tree {cert_checkpoint.size} is a prefix of tree {a.size} anchored on {a.chain}"


# -- the on-chain names ------------------------------------------------------------------------


def compute_origin_hash(origin: str) -> bytes:
    """The on-chain name of a log: Keccak-256 of its checkpoint origin line (UTF-8)."""
    return keccak256(origin.encode("utf-8"))


def checksum_address(address: str) -> str:
    """The EIP-55 spelling of a 20-byte address given in any case."""
    if not _ADDRESS.fullmatch(address):
        raise MalformedDocument("an EVM address is 0x and 40 hex digits")
    lower = address[2:].lower()
    digest = keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(lower)
    )


def _chain(value: Any) -> str:
    if not isinstance(value, str) or not _CAIP2_EIP155.fullmatch(value):
        raise MalformedDocument("anchor chain must be CAIP-2 'eip155:<decimal chain ID>'")
    return value


def _contract(value: Any) -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise MalformedDocument("anchor contract must be an EVM address")
    if checksum_address(value) != value:
        raise MalformedDocument("anchor contract must be spelled with its EIP-55 checksum")
    return value


def _tx_hash(value: Any) -> str:
    if not isinstance(value, str) or not _TX_HASH.fullmatch(value):
        raise MalformedDocument("anchor tx_hash must be 0x and 64 lowercase hex digits")
    return value


def _origin(value: Any) -> str:
    if not isinstance(value, str) or not value or "\n" in value:
        raise MalformedDocument("anchor origin must be one non-empty line")
    return value


def _int(value: Any, what: str, *, minimum: int) -> int:
    if type(value) is not int or not minimum <= value <= MAX_SAFE_INTEGER:
        raise MalformedDocument(f"{what} must be an integer from {minimum} to 2**53 - 1")
    return value


# -- Keccak-256 (the pre-standard SHA-3 that Ethereum uses; hashlib has only FIPS 202) -------

_ROUND_CONSTANTS = (
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
)  # fmt: skip
# Rotation offsets r[x][y] of the rho step.
_ROTATIONS = (
    (0, 36, 3, 41, 18),
    (1, 44, 10, 45, 2),
    (62, 6, 43, 15, 61),
    (28, 55, 25, 21, 56),
    (27, 20, 39, 8, 14),
)
_MASK = (1 << 64) - 1
_RATE = 136  # bytes: 1600 - 2 * 256 bits


def _rotl(lane: int, n: int) -> int:
    return ((lane << n) | (lane >> (64 - n))) & _MASK if n else lane


def _keccak_f(a: list[list[int]]) -> None:
    """Keccak-f[1600] in place on lanes a[x][y]."""
    for rc in _ROUND_CONSTANTS:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rotl(c[(x + 1) % 5], 1) for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rotl(a[x][y] ^ d[x], _ROTATIONS[x][y])
        for x in range(5):
            for y in range(5):
                a[x][y] = b[x][y] ^ (~b[(x + 1) % 5][y] & b[(x + 2) % 5][y])
        a[0][0] ^= rc


def keccak256(data: bytes) -> bytes:
    """Keccak-256 with the original padding (0x01), as in Ethereum; not FIPS 202 SHA3-256."""
    padded = bytearray(data) + b"\x01" + bytes(-(len(data) + 1) % _RATE)
    padded[-1] |= 0x80
    state = [[0] * 5 for _ in range(5)]
    for start in range(0, len(padded), _RATE):
        block = padded[start : start + _RATE]
        for i in range(_RATE // 8):
            state[i % 5][i // 5] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
        _keccak_f(state)
    return b"".join(state[i % 5][i // 5].to_bytes(8, "little") for i in range(4))
