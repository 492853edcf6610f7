"""Registration certificates: copyseal's vectors, tampering, and properties."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copyseal.core.certificate import Certificate, verify_certificate
from copyseal.core.note import Checkpoint, NoteSigner, NoteVerifier
from copyseal.errors import (
    CopysealError,
    ForeignLog,
    MalformedDocument,
    UnsupportedVersion,
    UntrustedLog,
)
from tests.unit.core.helpers import (
    CONTENT,
    LOG,
    OTHER_LOG,
    PROPERTY,
    Issued,
    issue,
    load_vector,
)


def _rejected(data: bytes, trusted: NoteVerifier | None, original: bytes | None = None) -> bool:
    """True when a certificate's bytes fail to parse or fail any check (with no trusted
    key, against the certificate's own); with ``original``, also when they are another
    layout of exactly that document (a final newline turned into a space), which reads as
    the original and is reported as reformatted."""
    try:
        cert = Certificate.from_json(data)
        report = verify_certificate(
            cert, trusted_log=trusted, content=CONTENT, unsafe_trust_certificate_key=not trusted
        )
    except CopysealError:
        return True
    if original is not None and cert.to_json() == original:
        return cert.reformatted and report.notes != []
    return not report.ok


# -- copyseal's own certificate (tests/vectors/copyseal.json) ----------------------------------


def test_copyseal_vectors_are_unchanged(copyseal_vectors: Any, rebuilt_vectors: Any) -> None:
    """Any change to a byte copyseal signs, hashes or prints must regenerate the vectors."""
    assert rebuilt_vectors == copyseal_vectors


def test_copyseal_certificate_vector(copyseal_vectors: Any) -> None:
    vec = copyseal_vectors["certificate"]
    data = vec["json"].encode()
    cert = Certificate.from_json(data)
    assert cert.to_json() == data
    assert cert.work_id == copyseal_vectors["work_id"]
    assert cert.leaf_hash.hex() == copyseal_vectors["leaf"]["hash"]
    log = NoteVerifier.from_vkey(copyseal_vectors["keys"]["log_vkey"])
    content = copyseal_vectors["inputs"]["content"].encode()
    report = verify_certificate(cert, trusted_log=log, content=content)
    assert report.to_dict() == vec["report"]
    assert report.ok


def test_copyseal_certificate_is_canonical_json(copyseal_vectors: Any) -> None:
    data = copyseal_vectors["certificate"]["json"].encode()
    assert data.endswith(b"}\n")
    assert not Certificate.from_json(data).reformatted
    # Read from another layout, it is the same document, and says it was reformatted.
    pretty = Certificate.from_json(json.dumps(json.loads(data), indent=1).encode())
    assert pretty.reformatted and pretty.to_json() == data


# -- verification ------------------------------------------------------------------------------


def test_issued_certificate_verifies(issued: Issued) -> None:
    report = verify_certificate(issued.cert, trusted_log=LOG.verifier, content=CONTENT)
    assert report.ok
    assert [c.status for c in report.checks] == ["ok"] * 8
    assert Certificate.from_json(issued.cert.to_json()) == issued.cert


def test_without_a_trusted_log_key_nothing_verifies(issued: Issued) -> None:
    """The certificate's own log key is trusted by nothing: anyone can make one."""
    with pytest.raises(UntrustedLog, match="log key not trusted") as raised:
        verify_certificate(issued.cert, content=CONTENT)
    assert raised.value.details["key_id"] == LOG.verifier.key_id.hex()
    assert LOG.verifier.key_id.hex() in raised.value.message
    assert raised.value.exit_code == 11 and raised.value.http_status == 422


def test_unsafe_trust_of_the_certificates_own_key_says_so(issued: Issued) -> None:
    report = verify_certificate(issued.cert, unsafe_trust_certificate_key=True)
    assert report.ok
    log = next(c for c in report.checks if c.name == "log")
    assert log.status == "skipped" and log.detail.startswith("untrusted")
    assert LOG.verifier.key_id.hex() in log.detail


def test_certificate_from_another_log(issued: Issued) -> None:
    with pytest.raises(ForeignLog, match="another log"):
        verify_certificate(issued.cert, trusted_log=OTHER_LOG.verifier)


def test_a_look_alike_log_is_named_by_both_key_ids(issued: Issued) -> None:
    """Another log under the trusted origin, with another key."""
    genuine = NoteSigner(LOG.name, b"\x07" * 32).verifier
    with pytest.raises(ForeignLog, match="same name") as raised:
        verify_certificate(issued.cert, trusted_log=genuine, unsafe_trust_certificate_key=True)
    message = raised.value.message
    assert LOG.verifier.key_id.hex() in message and genuine.key_id.hex() in message
    assert "--log-key" not in raised.value.hint  # never suggest trusting the look-alike


def test_wrong_content_fails_only_the_content_check(issued: Issued) -> None:
    report = verify_certificate(issued.cert, trusted_log=LOG.verifier, content=b"other")
    failure = report.first_failure()
    assert failure is not None and failure.name == "content"
    assert [c.name for c in report.checks if c.status == "failed"] == ["content"]


def test_checkpoint_cache(issued: Issued) -> None:
    cache: dict[tuple[str, str], Checkpoint] = {}
    assert verify_certificate(issued.cert, trusted_log=LOG.verifier, verified_notes=cache).ok
    assert len(cache) == 1
    assert verify_certificate(issued.cert, trusted_log=LOG.verifier, verified_notes=cache).ok


def test_checkpoint_signed_by_another_key(issued: Issued) -> None:
    other = issue(13, 5, log=OTHER_LOG).cert
    forged = dataclasses.replace(issued.cert, checkpoint=other.checkpoint)
    report = verify_certificate(forged, trusted_log=LOG.verifier)
    assert not report.ok
    statuses = {c.name: c.status for c in report.checks}
    assert statuses["checkpoint"] == "failed"
    assert statuses["inclusion"] == "skipped"


def _edit(cert: Certificate, path: str, value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(cert.to_dict())
    *parents, last = path.split(".")
    target = obj
    for key in parents:
        target = target[key]
    target[last] = value
    return obj


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        ("format", "copyseal/other", MalformedDocument),
        ("version", 2, UnsupportedVersion),
        ("version", True, UnsupportedVersion),
        ("anchors", [{"type": "bitcoin"}], UnsupportedVersion),
        ("extra", 1, MalformedDocument),
        ("log.origin", "other", MalformedDocument),
        ("log.extra", 1, MalformedDocument),
        ("entry.index", -1, MalformedDocument),
        ("entry.index", 1.0, MalformedDocument),
        ("entry.leaf_hash", "00", MalformedDocument),
        ("entry.leaf", {}, MalformedDocument),
        ("inclusion.proof", "x", MalformedDocument),
        ("inclusion.proof", ["00" * 32] * 65, MalformedDocument),
        ("inclusion.tree_size", "13", MalformedDocument),
        ("checkpoint", "", MalformedDocument),
        ("work_id", 7, MalformedDocument),
    ],
)
def test_malformed_certificates(issued: Issued, path: str, value: Any, error: type) -> None:
    with pytest.raises(error):
        Certificate.from_dict(_edit(issued.cert, path, value))


@pytest.mark.parametrize("spelling", ["{} ", " {}", "{}\n"])
def test_log_key_must_be_spelled_canonically(issued: Issued, spelling: str) -> None:
    vkey = spelling.replace("{}", issued.cert.log_vkey)
    with pytest.raises(MalformedDocument):
        Certificate.from_dict(_edit(issued.cert, "log.vkey", vkey))


@pytest.mark.parametrize(
    ("path", "value", "failed"),
    [
        ("entry.index", 4, {"work_id", "inclusion"}),
        ("entry.leaf_hash", "00" * 32, {"leaf", "work_id", "inclusion"}),
        ("inclusion.tree_size", 12, {"inclusion"}),
        ("inclusion.proof", [], {"inclusion"}),
        ("work_id", "000005-0000", {"work_id"}),
        ("entry.leaf.logged_at", "2026-11-23T12:00:02Z", {"leaf"}),
    ],
)
def test_tampered_fields_fail_their_checks(
    issued: Issued, path: str, value: Any, failed: set[str]
) -> None:
    cert = Certificate.from_dict(_edit(issued.cert, path, value))
    report = verify_certificate(cert, trusted_log=LOG.verifier, content=CONTENT)
    assert {c.name for c in report.checks if c.status == "failed"} == failed


def test_every_single_byte_change_is_caught(issued: Issued) -> None:
    """Exhaustive sweep: each byte XORed with a (seeded) random nonzero value."""
    data = issued.cert.to_json()
    rng = random.Random(1)
    for position in range(len(data)):
        mask = rng.randrange(1, 256)
        mutated = data[:position] + bytes([data[position] ^ mask]) + data[position + 1 :]
        assert _rejected(mutated, LOG.verifier, data), (position, mask)


# -- properties --------------------------------------------------------------------------------


@PROPERTY
@given(st.integers(1, 64).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_certificates_round_trip_and_verify(size_index: tuple[int, int]) -> None:
    size, index = size_index
    cert = issue(size, index).cert
    data = cert.to_json()
    decoded = Certificate.from_json(data)
    assert decoded == cert
    assert decoded.to_json() == data
    assert verify_certificate(decoded, trusted_log=LOG.verifier, content=CONTENT).ok


@pytest.mark.parametrize("trusted", [LOG.verifier, None], ids=["pinned-log", "own-key"])
@PROPERTY
@given(st.data())
def test_flipping_any_byte_is_caught(
    issued: Issued, trusted: NoteVerifier | None, data: st.DataObject
) -> None:
    original = issued.cert.to_json()
    position = data.draw(st.integers(0, len(original) - 1))
    mask = data.draw(st.integers(1, 255))
    mutated = original[:position] + bytes([original[position] ^ mask]) + original[position + 1 :]
    assert _rejected(mutated, trusted, original)


@PROPERTY
@given(st.binary(max_size=400))
def test_random_bytes_give_only_copyseal_errors(data: bytes) -> None:
    with contextlib.suppress(CopysealError):
        Certificate.from_json(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@PROPERTY
@given(
    st.sampled_from(
        [
            "work_id",
            "log",
            "log.vkey",
            "entry",
            "entry.index",
            "entry.leaf",
            "entry.leaf.claim",
            "inclusion",
            "inclusion.proof",
            "checkpoint",
            "anchors",
            "version",
        ]
    ),
    json_values,
)
def test_random_field_values_give_only_copyseal_errors(path: str, value: Any) -> None:
    cert = load_issued_cert()
    try:
        decoded = Certificate.from_dict(_edit(cert, path, value))
        verify_certificate(decoded, trusted_log=LOG.verifier)
    except CopysealError:
        pass


_ISSUED: list[Certificate] = []


def load_issued_cert() -> Certificate:
    if not _ISSUED:
        _ISSUED.append(issue(6, 2).cert)
    return _ISSUED[0]


def test_vector_file_records_its_source() -> None:
    assert load_vector("copyseal.json")["source"].startswith("copyseal tests/vectors/build.py")
