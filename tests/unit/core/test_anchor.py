"""Anchor receipts: the strict decoder, Keccak-256 and EIP-55, the offline check."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copyseal.core import merkle
from copyseal.core.anchor import (
    Anchor,
    AnchorReceipt,
    checksum_address,
    compute_origin_hash,
    keccak256,
    verify_anchor_offline,
)
from copyseal.core.encoding import jcs
from copyseal.core.note import Checkpoint
from copyseal.errors import MalformedDocument, UnsupportedVersion, VerificationError
from tests.unit.core.helpers import PROPERTY, Tree, filler_hash

ORIGIN = "test.copyseal.example/log"

# Keccak-256 as Ethereum uses it (original padding), not FIPS 202 SHA3-256.
KECCAK_VECTORS = [
    (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
    (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
]
# The examples of EIP-55 itself.
EIP55_VECTORS = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


def tree(size: int) -> Tree:
    return Tree.of([filler_hash(i) for i in range(size)])


def receipt_for(t: Tree, old: int, new: int, **changes: Any) -> AnchorReceipt:
    values: dict[str, Any] = {
        "chain": "eip155:424242",
        "contract": EIP55_VECTORS[0],
        "tx_hash": "0x" + "ab" * 32,
        "block_number": 17,
        "block_timestamp": 1_800_000_000,
        "origin": ORIGIN,
        "size": new,
        "root": t.root(new),
    }
    values.update(changes)
    return AnchorReceipt(Anchor(**values), tuple(merkle.consistency_proof(old, new, t.read)))


def checkpoint(t: Tree, size: int) -> Checkpoint:
    return Checkpoint(ORIGIN, size, t.root(size))


@pytest.mark.parametrize(("data", "digest"), KECCAK_VECTORS)
def test_keccak256_vectors(data: bytes, digest: str) -> None:
    assert keccak256(data).hex() == digest


def test_keccak256_across_block_boundaries_matches_web3() -> None:
    from web3 import Web3

    for n in (1, 135, 136, 137, 271, 272, 273, 1000):
        data = bytes(range(256)) * 4
        assert keccak256(data[:n]) == bytes(Web3.keccak(data[:n])), n
    assert compute_origin_hash(ORIGIN) == bytes(Web3.keccak(text=ORIGIN))


@pytest.mark.parametrize("address", EIP55_VECTORS)
def test_eip55_vectors(address: str) -> None:
    assert checksum_address(address.lower()) == address
    assert checksum_address(address.upper().replace("0X", "0x")) == address


def test_a_receipt_round_trips_in_one_spelling() -> None:
    t = tree(20)
    receipt = receipt_for(t, 13, 20)
    doc = receipt.to_dict()
    assert AnchorReceipt.from_dict(doc) == receipt
    assert AnchorReceipt.from_dict(copy.deepcopy(doc)).to_dict() == doc
    assert doc["type"] == "evm-checkpoint-anchor/v1"
    assert doc["root"] == t.root(20).hex()
    assert jcs(doc).startswith(b'{"block_number":17,"block_timestamp":1800000000,"chain":')


BAD_FIELDS: list[tuple[str, Any]] = [
    ("chain", "eip155:0"),
    ("chain", "eip155:01"),
    ("chain", "cosmos:1"),
    ("chain", 1),
    ("contract", EIP55_VECTORS[0].lower()),
    ("contract", "0x1234"),
    ("tx_hash", "0x" + "AB" * 32),
    ("tx_hash", "ab" * 32),
    ("block_number", 0),
    ("block_number", 1.0),
    ("block_number", True),
    ("block_timestamp", -1),
    ("size", 0),
    ("size", 2**53),
    ("origin", ""),
    ("origin", "two\nlines"),
    ("root", "AB" * 32),
    ("root", "ab" * 31),
    ("consistency", "ab" * 32),
    ("consistency", ["ab" * 32] * 65),
    ("consistency", ["xy" * 32]),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_the_decoder_refuses_every_other_spelling(field: str, value: Any) -> None:
    doc = receipt_for(tree(8), 3, 8).to_dict()
    doc[field] = value
    with pytest.raises(MalformedDocument):
        AnchorReceipt.from_dict(doc)


def test_unknown_types_and_extra_or_missing_fields_are_refused() -> None:
    doc = receipt_for(tree(8), 3, 8).to_dict()
    with pytest.raises(UnsupportedVersion):
        AnchorReceipt.from_dict({**doc, "type": "evm-checkpoint-anchor/v2"})
    with pytest.raises(MalformedDocument):
        AnchorReceipt.from_dict({**doc, "note": "x"})
    del doc["block_timestamp"]
    with pytest.raises(MalformedDocument):
        AnchorReceipt.from_dict(doc)
    with pytest.raises(MalformedDocument):
        AnchorReceipt.from_dict([doc])


def test_the_offline_check_links_the_certificate_to_the_anchor() -> None:
    t = tree(21)
    for old, new in [(1, 21), (13, 21), (16, 21), (21, 21)]:
        detail = verify_anchor_offline(receipt_for(t, old, new), checkpoint(t, old))
        assert f"tree {old} is a prefix of tree {new}" in detail


@pytest.mark.parametrize(
    "case", ["older anchor", "other origin", "other root", "other proof", "other checkpoint"]
)
def test_the_offline_check_fails_on_any_mismatch(case: str) -> None:
    t = tree(21)
    cp = checkpoint(t, 13)
    receipt = receipt_for(t, 13, 21)
    if case == "older anchor":
        receipt = receipt_for(t, 8, 8)
    elif case == "other origin":
        receipt = receipt_for(t, 13, 21, origin="other.copyseal.example/log")
    elif case == "other root":
        receipt = receipt_for(t, 13, 21, root=bytes(32))
    elif case == "other proof":
        receipt = AnchorReceipt(receipt.anchor, receipt.consistency[:-1])
    else:
        cp = Checkpoint(ORIGIN, 13, tree(14).root(13)[::-1])
    with pytest.raises(VerificationError) as caught:
        verify_anchor_offline(receipt, cp)
    assert caught.value.check == "anchor"


@PROPERTY
@given(st.integers(1, 70).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_every_receipt_built_from_a_tree_verifies(sizes: tuple[int, int]) -> None:
    old, new = sizes
    t = tree(new)
    receipt = AnchorReceipt.from_dict(receipt_for(t, old, new).to_dict())
    verify_anchor_offline(receipt, checkpoint(t, old))


@PROPERTY
@given(st.dictionaries(st.text(max_size=12), st.integers() | st.text() | st.none(), max_size=12))
def test_random_objects_raise_only_the_decoders_errors(doc: dict[str, Any]) -> None:
    with pytest.raises((MalformedDocument, UnsupportedVersion)):
        AnchorReceipt.from_dict(doc)
