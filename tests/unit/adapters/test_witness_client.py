"""A witness's replies are read as untrusted input by the log's own process."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import httpx
import pytest

from copyseal.adapters.witness_client import request_cosignature
from copyseal.core import merkle
from copyseal.core.note import Checkpoint, NoteSigner, sign_note
from copyseal.errors import InconsistencyError, InvalidInput


@pytest.fixture(params=[1000, 100_000], ids=["service-limit", "web3-limit"])
def recursion_limit(request: pytest.FixtureRequest) -> Iterator[None]:
    """The limit the service runs with, and the one importing web3 leaves."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(request.param)
    yield
    sys.setrecursionlimit(before)


def _ask(status: int, body: bytes) -> None:
    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, content=body, headers={"content-type": "application/problem+json"}
        )

    signer = NoteSigner("test.copyseal/log", bytes(range(32)))
    note = sign_note(Checkpoint(signer.name, 0, merkle.EMPTY_ROOT).to_text(), [signer])
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        request_cosignature("http://witness.test", 0, [], note.to_text(), client=client)


@pytest.mark.usefixtures("recursion_limit")
@pytest.mark.parametrize(("status", "error"), [(400, InvalidInput), (409, InconsistencyError)])
def test_a_deeply_nested_problem_from_a_witness_is_an_error_not_a_crash(
    status: int, error: type[Exception]
) -> None:
    with pytest.raises(error, match=f"answered {status}"):
        _ask(status, b"[" * 32_000 + b"]" * 32_000)  # within the 64 KiB a reply may hold


def test_a_witness_problem_is_quoted_in_the_error() -> None:
    with pytest.raises(InvalidInput, match="answered 400: bad proof"):
        _ask(400, b'{"detail": "bad proof"}')
