"""Ed25519 keys, did:key names and domain-separated signatures."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copyseal.core.encoding import b58encode
from copyseal.core.keys import (
    Signer,
    did_from_public_key,
    domain_message,
    public_key_from_did,
    verify_signature,
)
from copyseal.errors import MalformedDocument, VerificationError
from tests.unit.core.helpers import PROPERTY, any_text, load_vector

DID_KEYS = load_vector("w3c-ccg-did-method-key-ed25519.json")
SIGNER = Signer.from_seed(bytes(range(32)))


@pytest.mark.parametrize("case", DID_KEYS["cases"], ids=lambda c: c["did"][-6:])
def test_published_did_keys(case: dict[str, str]) -> None:
    signer = Signer.from_seed(bytes.fromhex(case["seed"]))
    assert signer.did == case["did"]
    assert b58encode(signer.public_key) == case["publicKeyBase58"]
    assert public_key_from_did(case["did"]) == signer.public_key
    assert did_from_public_key(signer.public_key) == case["did"]


@pytest.mark.parametrize("key_id", DID_KEYS["x25519_key_ids"])
def test_x25519_did_keys_are_not_signers(key_id: str) -> None:
    with pytest.raises(MalformedDocument):
        public_key_from_did("did:key:" + key_id)


@pytest.mark.parametrize(
    "did",
    [
        "did:key:z",
        "did:web:example.com",
        "did:key:6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWpp",
        "did:key:z16MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWO",
        "DID:KEY:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "did:key:z" + "2" * 100_000,
        None,
        42,
    ],
)
def test_bad_did_keys(did: Any) -> None:
    with pytest.raises(MalformedDocument):
        public_key_from_did(did)


def test_did_from_public_key_needs_32_bytes() -> None:
    with pytest.raises(MalformedDocument):
        did_from_public_key(bytes(31))


def test_copyseal_domain_message(copyseal_vectors: Any) -> None:
    inputs, vec = copyseal_vectors["inputs"], copyseal_vectors["domain"]
    purpose, message = inputs["domain_purpose"], inputs["domain_message"].encode()
    assert domain_message(purpose, message) == b"copyseal/register/v1\nhello"
    assert domain_message(purpose, message).hex() == vec["signed_bytes"]
    creator = Signer.from_seed(bytes.fromhex(inputs["creator_seed"]))
    assert creator.did == copyseal_vectors["keys"]["creator_did"]
    assert creator.sign(purpose, message).hex() == vec["signature"]
    verify_signature(creator.public_key, purpose, message, bytes.fromhex(vec["signature"]))


def test_copyseal_domain_section_is_unchanged(copyseal_vectors: Any, rebuilt_vectors: Any) -> None:
    assert rebuilt_vectors["domain"] == copyseal_vectors["domain"]


@pytest.mark.parametrize("purpose", ["", "a/b", "a\nb", "licence\n"])
def test_bad_purposes(purpose: str) -> None:
    with pytest.raises(ValueError):
        domain_message(purpose, b"")


def test_signature_is_bound_to_its_purpose() -> None:
    sig = SIGNER.sign("register", b"message")
    verify_signature(SIGNER.public_key, "register", b"message", sig)
    with pytest.raises(VerificationError):
        verify_signature(SIGNER.public_key, "licence", b"message", sig)
    # "register" + "/v1\n" cannot be spliced into the message of another purpose.
    with pytest.raises(VerificationError):
        verify_signature(SIGNER.public_key, "registe", b"r/v1\nmessage", sig)


@pytest.mark.parametrize(
    ("key", "sig"),
    [
        (bytes(32), bytes(64)),
        (SIGNER.public_key[:31], SIGNER.sign("p", b"m")),
        (SIGNER.public_key, SIGNER.sign("p", b"m")[:63]),
        (SIGNER.public_key, SIGNER.sign("p", b"m")[::-1]),
    ],
)
def test_invalid_signatures(key: bytes, sig: bytes) -> None:
    with pytest.raises(VerificationError):
        verify_signature(key, "p", b"m", sig)


def test_non_canonical_s_is_rejected() -> None:
    # Adding the group order L to S gives the same point equation but a second encoding of
    # the signature; RFC 8032 verifiers must refuse it, so a signature has one spelling.
    order = 2**252 + 27742317777372353535851937790883648493
    sig = SIGNER.sign("p", b"m")
    s = int.from_bytes(sig[32:], "little") + order
    malleated = sig[:32] + s.to_bytes(32, "little")
    with pytest.raises(VerificationError):
        verify_signature(SIGNER.public_key, "p", b"m", malleated)


# -- properties --------------------------------------------------------------------------------


@PROPERTY
@given(st.binary(min_size=32, max_size=32))
def test_did_round_trip(public_key: bytes) -> None:
    did = did_from_public_key(public_key)
    assert did.startswith("did:key:z6Mk")
    assert public_key_from_did(did) == public_key


@PROPERTY
@given(
    st.binary(min_size=32, max_size=32),
    st.binary(max_size=64),
    st.text(min_size=1).filter(lambda p: "/" not in p and "\n" not in p and p.isascii()),
)
def test_sign_then_verify(seed: bytes, message: bytes, purpose: str) -> None:
    signer = Signer.from_seed(seed)
    sig = signer.sign(purpose, message)
    verify_signature(signer.public_key, purpose, message, sig)
    with pytest.raises(VerificationError):
        verify_signature(signer.public_key, purpose, message + b"x", sig)


@PROPERTY
@given(any_text)
def test_random_text_gives_only_malformed_document(text: str) -> None:
    for candidate in (text, "did:key:z" + text, "did:key:z6Mk" + text):
        with contextlib.suppress(MalformedDocument):
            public_key_from_did(candidate)
