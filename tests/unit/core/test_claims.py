"""Signed claim envelopes and log leaves."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copyseal.core.claims import Claim, leaf_bytes, parse_leaf, sign_envelope
from copyseal.core.encoding import jcs, parse_canonical_json
from copyseal.core.keys import Signer
from copyseal.core.kinds import read, read_body, sign_claim
from copyseal.core.kinds.register import register_body
from copyseal.core.schema import check_time
from copyseal.errors import (
    CopysealError,
    InvalidInput,
    MalformedDocument,
    UnsupportedVersion,
    VerificationError,
)
from tests.unit.core.helpers import CREATOR, PROPERTY, make_claim

CLAIM = make_claim(title="Trees")


def _claim_dict() -> dict[str, Any]:
    return copy.deepcopy(CLAIM.to_dict())


# -- copyseal's own claim and leaf (tests/vectors/copyseal.json) -------------------------------


def test_copyseal_claim_vector(copyseal_vectors: Any) -> None:
    inputs, vec = copyseal_vectors["inputs"], copyseal_vectors["claim"]
    creator = Signer.from_seed(bytes.fromhex(inputs["creator_seed"]))
    content = inputs["content"].encode()
    body = register_body(
        sha256=hashlib.sha256(content).digest(),
        size=len(content),
        media_type=inputs["media_type"],
        title=inputs["title"],
    )
    claim = sign_claim(
        creator, "register", body, nonce=bytes.fromhex(inputs["nonce"]), created=inputs["created"]
    )
    assert jcs(claim.to_dict()).decode() == vec["json"]
    assert claim.signing_bytes().decode() == vec["signing_bytes"]
    decoded = Claim.from_dict(parse_canonical_json(vec["json"].encode()))
    assert decoded == claim
    decoded.verify()


def test_copyseal_leaf_vector(copyseal_vectors: Any) -> None:
    vec = copyseal_vectors["leaf"]
    claim = Claim.from_dict(parse_canonical_json(copyseal_vectors["claim"]["json"].encode()))
    leaf = leaf_bytes(claim, copyseal_vectors["inputs"]["logged_at"])
    assert leaf.decode() == vec["bytes"]
    assert parse_leaf(json.loads(leaf)) == (claim, copyseal_vectors["inputs"]["logged_at"])


def test_copyseal_claim_sections_are_unchanged(copyseal_vectors: Any, rebuilt_vectors: Any) -> None:
    for section in ("claim", "leaf"):
        assert rebuilt_vectors[section] == copyseal_vectors[section]


# -- the envelope ------------------------------------------------------------------------------


def test_signature_covers_the_envelope() -> None:
    CLAIM.verify()
    for field, value in [
        ("created", "2026-11-23T12:00:01Z"),
        ("nonce", "AAAAAAAAAAAAAAAAAAAAAQ"),
        ("body", {**CLAIM.body, "title": "Other"}),
        ("signer", Signer.from_seed(bytes(32)).did),
    ]:
        changed = Claim.from_dict({**_claim_dict(), field: value})
        with pytest.raises(VerificationError):
            changed.verify()


def _set(path: str, value: Any) -> dict[str, Any]:
    obj = _claim_dict()
    *parents, last = path.split(".")
    target = obj
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return obj


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("v", 0),
        ("v", True),
        ("v", 1.0),
        ("v", "1"),
        ("v", 2**31),
        ("type", ["register"]),
        ("type", {"register": 1}),
        ("type", "Register"),
        ("type", "register\n"),
        ("type", "-register"),
        ("type", "key--rotate"),
        ("type", "x" * 65),
        ("signer", "did:web:example.com"),
        ("nonce", "AAAA"),
        ("nonce", "AAAAAAAAAAAAAAAAAAAAAB"),
        ("nonce", 7),
        ("created", "2026-11-23 12:00:00Z"),
        ("created", "2026-13-01T00:00:00Z"),
        ("created", "2026-02-30T00:00:00Z"),
        ("created", "2026-11-23T24:00:00Z"),
        ("created", "2026-11-23T12:00:00.1234567Z"),
        ("created", "2026-11-23T12:00:00+00:00"),
        ("created", "٢٠٢٦-11-23T12:00:00Z"),
        ("created", "２０２６-11-23T12:00:00Z"),
        ("sig", "AAAA"),
        ("sig", None),
        ("body", []),
        ("body", "register"),
        ("extra", 1),
        ("sig", _DELETE),
        ("body", _DELETE),
    ],
)
def test_malformed_envelopes(path: str, value: Any) -> None:
    with pytest.raises(MalformedDocument):
        Claim.from_dict(_set(path, value))


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        ("v", 2, UnsupportedVersion),
        ("type", "licence", UnsupportedVersion),
        ("body.content.size", 0, MalformedDocument),
        ("body.content.size", -1, MalformedDocument),
        ("body.content.size", True, MalformedDocument),
        ("body.content.size", 1.5, MalformedDocument),
        ("body.content.sha256", "AB" * 32, MalformedDocument),
        ("body.content.media_type", "Text/Plain", MalformedDocument),
        ("body.content.media_type", "text", MalformedDocument),
        ("body.content.extra", 1, MalformedDocument),
        ("body.title", "", MalformedDocument),
        ("body.title", "x" * 301, MalformedDocument),
        ("body.fingerprints", [], MalformedDocument),
        ("body.colour", "red", MalformedDocument),
        ("body.content", _DELETE, MalformedDocument),
    ],
)
def test_bodies_not_understood(path: str, value: Any, error: type[Exception]) -> None:
    """The envelope still decodes (a log carries it); reading its body says why not."""
    claim = Claim.from_dict(_set(path, value))
    with pytest.raises(error):
        read_body(claim)
    reading = read(claim)
    assert reading.kind is None and reading.problem


@pytest.mark.parametrize("obj", [None, [], "claim", 1, {"claim": 1}])
def test_non_objects(obj: Any) -> None:
    with pytest.raises(MalformedDocument):
        Claim.from_dict(obj)


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-31T12:00:00Z",
        "2024-02-29T23:59:59Z",
        "2026-11-23T12:00:00.5Z",
        "2026-11-23T12:00:00.123456Z",
    ],
)
def test_valid_times(value: str) -> None:
    assert check_time(value, "t") == value


def test_sign_claim_checks_its_arguments() -> None:
    body = dict(CLAIM.body)
    with pytest.raises(ValueError):
        sign_claim(CREATOR, "register", body, nonce=bytes(15), created="2026-01-01T00:00:00Z")
    with pytest.raises(UnsupportedVersion):
        sign_claim(CREATOR, "licence", body, nonce=bytes(16), created="2026-01-01T00:00:00Z")
    with pytest.raises(MalformedDocument):
        sign_envelope(
            CREATOR, "No Type", body, version=1, nonce=bytes(16), created="2026-01-01T00:00:00Z"
        )
    with pytest.raises(MalformedDocument):
        sign_claim(CREATOR, "register", body, nonce=bytes(16), created="yesterday")
    with pytest.raises(MalformedDocument):
        sign_claim(
            CREATOR, "register", {"content": {}}, nonce=bytes(16), created="2026-01-01T00:00:00Z"
        )


def test_leaf_needs_a_valid_time() -> None:
    with pytest.raises(MalformedDocument):
        leaf_bytes(CLAIM, "2026-11-31T00:00:00Z")
    with pytest.raises(MalformedDocument):
        parse_leaf({"claim": _claim_dict(), "logged_at": "now"})
    with pytest.raises(MalformedDocument):
        parse_leaf({"claim": _claim_dict(), "logged_at": "2026-11-23T12:00:01Z", "x": 1})


# -- properties --------------------------------------------------------------------------------

media_types = st.sampled_from(
    ["text/plain", "image/png", "application/octet-stream", "text/plain; charset=utf-8"]
)
titles = st.none() | st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=300)
times = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda d: (
        d.strftime("%Y-%m-%dT%H:%M:%S") + (f".{d.microsecond:06d}Z" if d.microsecond % 2 else "Z")
    )
)


@PROPERTY
@given(
    st.binary(min_size=32, max_size=32),
    st.integers(1, 2**53 - 1),
    media_types,
    titles,
    st.binary(min_size=16, max_size=16),
    times,
)
def test_claim_round_trip(
    digest: bytes, size: int, media_type: str, title: str | None, nonce: bytes, created: str
) -> None:
    body = register_body(sha256=digest, size=size, media_type=media_type, title=title)
    claim = sign_claim(CREATOR, "register", body, nonce=nonce, created=created)
    decoded = Claim.from_dict(parse_canonical_json(jcs(claim.to_dict())))
    assert decoded == claim
    decoded.verify()
    leaf = leaf_bytes(claim, created)
    assert parse_leaf(parse_canonical_json(leaf)) == (claim, created)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@PROPERTY
@given(json_values)
def test_random_json_gives_only_invalid_input(value: Any) -> None:
    for candidate in (value, {**_claim_dict(), "body": value}, {**_claim_dict(), "type": value}):
        with contextlib.suppress(InvalidInput):
            Claim.from_dict(candidate)
        with contextlib.suppress(InvalidInput):
            parse_leaf({"claim": candidate, "logged_at": value})


@PROPERTY
@given(st.sampled_from(sorted(CLAIM.to_dict())), json_values)
def test_replacing_any_field_breaks_the_claim(field: str, value: Any) -> None:
    obj = {**_claim_dict(), field: value}
    if obj == CLAIM.to_dict():
        return
    with pytest.raises(CopysealError):
        Claim.from_dict(obj).verify()
