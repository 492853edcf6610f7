"""Work IDs: Crockford base32 of the log index plus four check digits of the leaf hash."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copyseal.core.workid import compute_work_id, normalise_work_id, parse_work_id
from copyseal.errors import MalformedDocument
from tests.unit.core.helpers import PROPERTY, any_text

LARGEST = 32**13 - 1


def test_copyseal_work_id_vector(copyseal_vectors: Any, rebuilt_vectors: Any) -> None:
    leaf_hash = bytes.fromhex(copyseal_vectors["leaf"]["hash"])
    index = copyseal_vectors["inputs"]["index"]
    assert compute_work_id(index, leaf_hash) == copyseal_vectors["work_id"]
    assert rebuilt_vectors["work_id"] == copyseal_vectors["work_id"]


@pytest.mark.parametrize(
    ("index", "leaf_hash", "work_id"),
    [
        (0, bytes(32), "000000-0000"),
        (42, b"\xff" * 32, "00001A-ZZZZ"),
        (31, bytes([0x12, 0x34, 0x56]) + bytes(29), "00000Z-28T5"),
        (32**6, bytes(32), "1000000-0000"),
        (LARGEST, bytes(32), "ZZZZZZZZZZZZZ-0000"),
    ],
)
def test_known_work_ids(index: int, leaf_hash: bytes, work_id: str) -> None:
    assert compute_work_id(index, leaf_hash) == work_id
    assert parse_work_id(work_id) == index
    assert normalise_work_id(work_id) == work_id


@pytest.mark.parametrize("index", [-1, LARGEST + 1])
def test_indexes_a_work_id_cannot_hold(index: int) -> None:
    with pytest.raises(ValueError):
        compute_work_id(index, bytes(32))


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("00001a-zzzz", "00001A-ZZZZ"),
        (" 00001A-ZZZZ\n", "00001A-ZZZZ"),
        ("OOOO1A-ZZZZ", "00001A-ZZZZ"),
        ("0000IA-ZZZZ", "00001A-ZZZZ"),
        ("0000lA-ZZZZ", "00001A-ZZZZ"),
        ("000000001A-ZZZZ", "00001A-ZZZZ"),
    ],
)
def test_normalisation(typed: str, canonical: str) -> None:
    assert normalise_work_id(typed) == canonical
    assert parse_work_id(typed) == 42


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "00001A",
        "00001AZZZZ",
        "0001A-ZZZZ",
        "00001A-ZZZ",
        "00001A-ZZZZZ",
        "00001U-ZZZZ",
        "00001A_ZZZZ",
        "ZZZZZZZZZZZZZZ-0000",
        "00001A-ZZZZ-0000",
        "٠٠٠٠1A-ZZZZ",
    ],
)
def test_malformed_work_ids(bad: str) -> None:
    with pytest.raises(MalformedDocument):
        parse_work_id(bad)
    with pytest.raises(MalformedDocument):
        normalise_work_id(bad)


# -- properties --------------------------------------------------------------------------------


@PROPERTY
@given(st.integers(0, LARGEST), st.binary(min_size=32, max_size=32))
def test_work_id_round_trip(index: int, leaf_hash: bytes) -> None:
    work_id = compute_work_id(index, leaf_hash)
    assert parse_work_id(work_id) == index
    assert normalise_work_id(work_id) == work_id
    assert normalise_work_id(work_id.lower()) == work_id
    if len(work_id.split("-")[0]) < 13:
        assert normalise_work_id("0" + work_id) == work_id


@PROPERTY
@given(
    st.integers(0, 10**6), st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32)
)
def test_check_digits_follow_the_leaf_hash(index: int, h1: bytes, h2: bytes) -> None:
    same = (int.from_bytes(h1[:3], "big") >> 4) == (int.from_bytes(h2[:3], "big") >> 4)
    assert (compute_work_id(index, h1) == compute_work_id(index, h2)) == same


@PROPERTY
@given(any_text)
def test_random_text_gives_only_malformed_document(text: str) -> None:
    with contextlib.suppress(MalformedDocument):
        normalise_work_id(text)
