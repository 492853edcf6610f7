"""The tlog-witness wire format: the spec's own examples, strict decoding, round trips."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copyseal.core.note import MAX_TREE_SIZE, Checkpoint, Note
from copyseal.domain.witness import (
    MAX_PROOF_LINES,
    AddCheckpointRequest,
    build_add_checkpoint_body,
    decode_size_body,
    encode_size_body,
)
from copyseal.errors import MalformedDocument
from tests.unit.core.helpers import PROPERTY

# The example request and response bodies of C2SP tlog-witness ("add-checkpoint"), and the
# example cosigned checkpoint of C2SP tlog-cosignature.
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49"
    "/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
)
SPEC_PROOF = [
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=",
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=",
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=",
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=",
]
SPEC_REQUEST = ("old 20852014\n" + "".join(p + "\n" for p in SPEC_PROOF) + "\n").encode() + (
    SPEC_CHECKPOINT.encode()
)
SPEC_RESPONSE = (
    "— witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjy"
    "QLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n"
    "— witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlbQNt64vWh"
    "O+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==\n"
    "— witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbYKA"
    "7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==\n"
)
SPEC_COSIGNED = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2"
    "oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)
HASH = b"\xab" * 32


def test_the_spec_example_request() -> None:
    req = AddCheckpointRequest.from_body(SPEC_REQUEST)
    assert req.old_size == 20852014
    assert req.proof == tuple(base64.b64decode(p) for p in SPEC_PROOF)
    assert req.checkpoint == SPEC_CHECKPOINT.encode()
    note = Note.from_text(req.checkpoint)
    assert Checkpoint.from_text(note.text).size == 20852163
    assert len(note.signatures) == 2
    assert req.to_body() == SPEC_REQUEST
    assert build_add_checkpoint_body(20852014, req.proof, SPEC_CHECKPOINT) == SPEC_REQUEST


def test_the_spec_example_response_appends_to_the_checkpoint() -> None:
    text = Note.from_text(SPEC_CHECKPOINT).text
    cosigned = Note.from_text(text + "\n" + SPEC_RESPONSE)
    assert [s.name for s in cosigned.signatures] == ["witness.example/w1"] * 2 + [
        "witness.example/w2"
    ]
    assert all(len(s.signature) == 72 for s in cosigned.signatures)


def test_the_spec_example_cosignature_timestamp() -> None:
    witness_line = Note.from_text(SPEC_COSIGNED).signatures[1]
    assert witness_line.timestamp == 1679315147  # the spec's "time 1679315147"


def test_a_first_request_has_no_proof_lines() -> None:
    body = b"old 0\n\n" + SPEC_CHECKPOINT.encode()
    req = AddCheckpointRequest.from_body(body)
    assert (req.old_size, req.proof) == (0, ())
    assert req.to_body() == body


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 1",
        b"old 01\n\nx",
        b"old -1\n\nx",
        b"old +1\n\nx",
        b"old  1\n\nx",
        b"old 1 \n\nx",
        b"Old 1\n\nx",
        b"old 1\r\n\r\nx",
        b"old\n\nx",
        b"old 18446744073709551616\n\nx",
        b"old 1\n",
        b"old 1\n\n",
        b"old 1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
        b"old 1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s\n\nx",
        b"old 1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6t=\n\nx",
        b"old 1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urqw==\n\nx",
        b"old 1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\r\n\nx",
        b"old 1\n\xff\n\nx",
        b"old 1\n" + b"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n" * 64 + b"\nx",
    ],
)
def test_malformed_requests(body: bytes) -> None:
    with pytest.raises(MalformedDocument):
        AddCheckpointRequest.from_body(body)


def test_the_largest_request_is_accepted() -> None:
    line = base64.b64encode(HASH) + b"\n"
    body = f"old {MAX_TREE_SIZE}\n".encode() + line * MAX_PROOF_LINES + b"\nx"
    req = AddCheckpointRequest.from_body(body)
    assert req.old_size == MAX_TREE_SIZE and len(req.proof) == 63


@pytest.mark.parametrize(
    ("old", "proof"), [(-1, ()), (MAX_TREE_SIZE + 1, ()), (0, (b"short",)), (0, (HASH,) * 64)]
)
def test_unencodable_requests(old: int, proof: tuple[bytes, ...]) -> None:
    with pytest.raises(MalformedDocument):
        AddCheckpointRequest(old, proof, b"x").to_body()


@pytest.mark.parametrize("size", [0, 1, 50, MAX_TREE_SIZE])
def test_size_bodies(size: int) -> None:
    assert decode_size_body(encode_size_body(size)) == size
    assert encode_size_body(50) == b"50\n"


@pytest.mark.parametrize("body", [b"", b"50", b"050\n", b"50\n\n", b" 50\n", b"-1\n", b"5 0\n"])
def test_malformed_size_bodies(body: bytes) -> None:
    with pytest.raises(MalformedDocument):
        decode_size_body(body)


@PROPERTY
@given(
    old=st.integers(0, MAX_TREE_SIZE),
    proof=st.lists(st.binary(min_size=32, max_size=32), max_size=MAX_PROOF_LINES),
    checkpoint=st.binary(min_size=1),
)
def test_round_trip(old: int, proof: list[bytes], checkpoint: bytes) -> None:
    req = AddCheckpointRequest(old, tuple(proof), checkpoint)
    assert AddCheckpointRequest.from_body(req.to_body()) == req


@PROPERTY
@given(st.binary() | st.builds(lambda b: b"old " + b, st.binary()))
def test_random_bytes_raise_only_the_decoders_error(body: bytes) -> None:
    with contextlib.suppress(MalformedDocument):
        AddCheckpointRequest.from_body(body)
