"""The witness's HTTP app in-process, byte for byte on the wire, and the client against it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from copyseal.adapters.storage.witness_sqlite import SqliteWitnessStore
from copyseal.adapters.witness_client import request_cosignature
from copyseal.core.encoding import b64encode
from copyseal.core.note import EM_DASH, Note, NoteSigner, sign_note, verify_note
from copyseal.domain.witness import build_add_checkpoint_body
from copyseal.errors import (
    ConflictError,
    ContentTooLarge,
    Forbidden,
    InconsistencyError,
    InvalidInput,
    MalformedDocument,
    NotFound,
    RateLimited,
    Unavailable,
    VerificationError,
)
from copyseal.server.witness_app import create_witness_app
from copyseal.services.witness import Witness
from tests.witness_support import LOG_ORIGIN, NOW, FakeLog, witness_signer

WITNESS_KEY = witness_signer().verifier


@pytest.fixture
def log() -> FakeLog:
    return FakeLog().grow(5)


@pytest.fixture
def http(tmp_path: Path, log: FakeLog) -> Iterator[TestClient]:
    store = SqliteWitnessStore(tmp_path / "witness.db")
    witness = Witness(
        store=store, signer=witness_signer(), logs={LOG_ORIGIN: [log.signer.verifier]}
    )
    app = create_witness_app(witness, clock=lambda: NOW, on_shutdown=store.close)
    with TestClient(app) as client:
        yield client


def post(http: TestClient, old: int, proof: list[bytes], signed: str) -> httpx.Response:
    rsp: httpx.Response = http.post(
        "/add-checkpoint", content=build_add_checkpoint_body(old, proof, signed)
    )
    return rsp


def test_200_is_cosignature_lines(http: TestClient, log: FakeLog) -> None:
    rsp = post(http, 0, [], log.checkpoint())
    assert rsp.status_code == 200
    assert rsp.headers["content-type"].startswith("text/plain")
    lines = rsp.text.splitlines(keepends=True)
    assert len(lines) == 1
    assert lines[0].startswith(f"{EM_DASH} test.copyseal/witness ") and lines[0].endswith("\n")
    expected = witness_signer().cosign_line(Note.from_text(log.checkpoint()).text, NOW)
    assert rsp.content == expected.to_line().encode()


def test_the_response_appended_to_the_checkpoint_verifies(http: TestClient, log: FakeLog) -> None:
    rsp = post(http, 0, [], log.checkpoint())
    note = Note.from_text(log.checkpoint().encode() + rsp.content)
    assert verify_note(note, [log.signer.verifier, WITNESS_KEY]) == [
        log.signer.verifier,
        WITNESS_KEY,
    ]


def test_409_size_is_the_exact_wire_format(http: TestClient, log: FakeLog) -> None:
    post(http, 0, [], log.checkpoint())
    log.grow(8)
    rsp = post(http, 0, [], log.checkpoint())
    assert rsp.status_code == 409
    assert rsp.headers["content-type"] == "text/x.tlog.size"
    assert rsp.content == b"5\n"
    assert post(http, 5, log.proof(5), log.checkpoint()).status_code == 200


def test_409_fork_is_a_problem_document_with_both_checkpoints(
    http: TestClient, log: FakeLog
) -> None:
    post(http, 0, [], log.checkpoint())
    fork = FakeLog().grow(3).grow(5, branch="fork")
    rsp = post(http, 5, [], fork.checkpoint())
    assert rsp.status_code == 409
    assert rsp.headers["content-type"] == "application/problem+json"
    problem = rsp.json()
    assert problem["status"] == 409 and problem["error"] == "InconsistencyError"
    assert problem["witnessed_checkpoint"] == log.checkpoint()
    assert problem["submitted_checkpoint"] == fork.checkpoint()
    assert problem["origin"] == LOG_ORIGIN and problem["size"] == 5


@pytest.mark.parametrize(
    ("status", "make"),
    [
        (400, lambda log: build_add_checkpoint_body(6, [], log.checkpoint())),
        (400, lambda log: b"old 01\n\n" + log.checkpoint().encode()),
        (400, lambda log: b"old 0\n" + log.checkpoint().encode()),
        (400, lambda log: b"old 0\n\nnot a note"),
        (400, lambda log: b"old 0\n" + b"AAAA\n" + b"\n" + log.checkpoint().encode()),
        (
            403,
            lambda log: build_add_checkpoint_body(
                0, [], sign_note(log.body(), [NoteSigner(LOG_ORIGIN, bytes(32))]).to_text()
            ),
        ),
        (
            404,
            lambda log: build_add_checkpoint_body(
                0, [], FakeLog(origin="other.example/log").grow(1).checkpoint()
            ),
        ),
        (422, lambda log: build_add_checkpoint_body(0, [b"\x00" * 32], log.checkpoint())),
    ],
)
def test_error_statuses(http: TestClient, log: FakeLog, status: int, make: object) -> None:
    body = make(log)  # type: ignore[operator]
    rsp = http.post("/add-checkpoint", content=body)
    assert rsp.status_code == status, rsp.text
    assert rsp.headers["content-type"] == "application/problem+json"
    assert rsp.json()["status"] == status


def test_a_bad_proof_is_422_and_the_record_stays(http: TestClient, log: FakeLog) -> None:
    post(http, 0, [], log.checkpoint())
    log.grow(9)
    proof = log.proof(5)
    proof[-1] = hashlib.sha256(b"wrong").digest()
    assert post(http, 5, proof, log.checkpoint()).status_code == 422
    assert post(http, 5, log.proof(5), log.checkpoint()).status_code == 200


def test_oversized_bodies_are_413(http: TestClient, log: FakeLog) -> None:
    body = build_add_checkpoint_body(0, [], log.checkpoint()) + b"x" * (64 << 10)
    assert http.post("/add-checkpoint", content=body).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield body

    assert http.post("/add-checkpoint", content=chunks()).status_code == 413


def test_the_spec_example_body_is_read(http: TestClient) -> None:
    example = (
        b"old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\n"
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
        + "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
        "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n".encode()
    )
    assert http.post("/add-checkpoint", content=example).status_code == 404  # parsed: unknown log


def test_only_post(http: TestClient) -> None:
    rsp = http.get("/add-checkpoint")
    assert rsp.status_code == 405
    assert rsp.headers["content-type"] == "application/problem+json"
    assert http.post("/elsewhere").status_code == 404


# -- the client, against the app in-process ----------------------------------------------------


def test_client_returns_verified_cosignatures(http: TestClient, log: FakeLog) -> None:
    lines = request_cosignature(
        "http://testserver", 0, [], log.checkpoint(), witness=WITNESS_KEY, client=http
    )
    assert lines == [witness_signer().cosign_line(Note.from_text(log.checkpoint()).text, NOW)]
    log.grow(12)
    lines = request_cosignature(
        "http://testserver/", 5, log.proof(5), log.checkpoint().encode(), client=http
    )
    verify_note(Note.from_text(log.checkpoint()).with_signatures(lines), [WITNESS_KEY])


def test_client_conflict_carries_the_witness_size(http: TestClient, log: FakeLog) -> None:
    request_cosignature("http://testserver", 0, [], log.checkpoint(), client=http)
    log.grow(7)
    with pytest.raises(ConflictError) as caught:
        request_cosignature("http://testserver", 0, [], log.checkpoint(), client=http)
    size = caught.value.details["latest_size"]
    assert size == 5
    request_cosignature("http://testserver", size, log.proof(size), log.checkpoint(), client=http)


def test_client_fork_is_an_inconsistency_with_evidence(http: TestClient, log: FakeLog) -> None:
    request_cosignature("http://testserver", 0, [], log.checkpoint(), client=http)
    fork = FakeLog().grow(2).grow(5, branch="fork")
    with pytest.raises(InconsistencyError) as caught:
        request_cosignature("http://testserver", 5, [], fork.checkpoint(), client=http)
    assert caught.value.details["witnessed_checkpoint"] == log.checkpoint()
    assert caught.value.details["submitted_checkpoint"] == fork.checkpoint()


@pytest.mark.parametrize(
    ("old", "signed", "error"),
    [
        (0, lambda log: FakeLog(origin="x.example/log").grow(1).checkpoint(), NotFound),
        (
            0,
            lambda log: sign_note(log.body(), [NoteSigner(LOG_ORIGIN, bytes(32))]).to_text(),
            Forbidden,
        ),
        (9, lambda log: log.checkpoint(), InvalidInput),
    ],
)
def test_client_error_translation(
    http: TestClient, log: FakeLog, old: int, signed: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        request_cosignature("http://testserver", old, [], signed(log), client=http)  # type: ignore[operator]


def test_client_bad_proof_is_a_verification_error(http: TestClient, log: FakeLog) -> None:
    with pytest.raises(VerificationError) as caught:
        request_cosignature("http://testserver", 0, [b"\x00" * 32], log.checkpoint(), client=http)
    assert caught.value.check == "consistency"


def test_client_rejects_a_cosignature_by_another_key(http: TestClient, log: FakeLog) -> None:
    other = NoteSigner("test.copyseal/witness", hashlib.sha256(b"other").digest(), 0x04)
    with pytest.raises(VerificationError):
        request_cosignature(
            "http://testserver", 0, [], log.checkpoint(), witness=other.verifier, client=http
        )


# -- the client against misbehaving transports -------------------------------------------------


def fake(handler: object) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_client_transport_errors_are_unavailable(log: FakeLog) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(Unavailable) as caught:
        request_cosignature("http://w.test", 0, [], log.checkpoint(), client=fake(refuse))
    assert caught.value.retry_after > 0


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (503, {"Retry-After": "7"}, Unavailable, 7.0),
        (500, {}, Unavailable, 5.0),
        (429, {"Retry-After": "2"}, RateLimited, 2.0),
        (413, {}, ContentTooLarge, None),
    ],
)
def test_client_status_translation(
    log: FakeLog,
    status: int,
    headers: dict[str, str],
    error: type[Exception],
    retry_after: float | None,
) -> None:
    client = fake(lambda request: httpx.Response(status, headers=headers, text="busy\n"))
    with pytest.raises(error) as caught:
        request_cosignature("http://w.test", 0, [], log.checkpoint(), client=client)
    if retry_after is not None:
        assert caught.value.retry_after == retry_after  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("headers", "body", "error"),
    [
        ({"Content-Type": "text/x.tlog.size"}, b"050\n", MalformedDocument),
        ({"Content-Type": "text/plain"}, b"root mismatch\n", InconsistencyError),
    ],
)
def test_client_409_bodies(
    log: FakeLog, headers: dict[str, str], body: bytes, error: type[Exception]
) -> None:
    client = fake(lambda request: httpx.Response(409, headers=headers, content=body))
    with pytest.raises(error):
        request_cosignature("http://w.test", 0, [], log.checkpoint(), client=client)


@pytest.mark.parametrize(
    "body",
    [b"", b"not a signature line\n", "— w AAAA".encode(), b"x" * (65 << 10)],
)
def test_client_rejects_malformed_replies(log: FakeLog, body: bytes) -> None:
    client = fake(lambda request: httpx.Response(200, content=body))
    with pytest.raises(MalformedDocument):
        request_cosignature("http://w.test", 0, [], log.checkpoint(), client=client)


def test_client_sends_the_exact_body(log: FakeLog) -> None:
    seen: list[bytes] = []
    raw = b"k" * 4 + bytes(72)
    line = f"{EM_DASH} w.test {b64encode(raw)}\n".encode()

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        assert request.url.path == "/prefix/add-checkpoint" and request.method == "POST"
        return httpx.Response(200, content=line)

    proof = log.proof(2)
    lines = request_cosignature(
        "http://w.test/prefix", 2, proof, log.checkpoint(), client=fake(record)
    )
    assert seen == [build_add_checkpoint_body(2, proof, log.checkpoint())]
    assert [s.name for s in lines] == ["w.test"]


def test_client_refuses_a_non_http_url(log: FakeLog) -> None:
    with pytest.raises(InvalidInput):
        request_cosignature("ftp://w.test", 0, [], log.checkpoint())
