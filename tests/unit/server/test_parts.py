"""Small parts of the server: rate buckets, highlight segments, sealing, QR codes, the
registration batcher."""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path

import pytest

from copyseal.adapters.sealing import AesGcmSealer
from copyseal.errors import CopysealError, RateLimited, VerificationError
from copyseal.server.app import claim_background
from copyseal.server.batching import RegistrationBatcher
from copyseal.server.qr import qr_matrix, qr_svg
from copyseal.server.ratelimit import Rate, RateLimiter, shares
from copyseal.server.web_search import segments


def test_token_bucket_refills_and_says_when() -> None:
    now = [0.0]
    limiter = RateLimiter({"write": Rate(per_second=2.0, burst=2)}, clock=lambda: now[0])
    limiter.take("a", "write")
    limiter.take("a", "write")
    with pytest.raises(RateLimited) as refused:
        limiter.take("a", "write")
    assert refused.value.retry_after == 1
    limiter.take("b", "write")  # another client has its own bucket
    now[0] = 0.5
    limiter.take("a", "write")
    limiter.take("a", "unknown-kind")  # kinds without a rate are not limited


def test_each_worker_process_enforces_its_share() -> None:
    rates = {"write": Rate(per_second=20.0, burst=100), "auth": Rate(per_second=0.2, burst=1)}
    assert shares(rates, 1) == rates
    assert shares(rates, 4) == {
        "write": Rate(per_second=5.0, burst=25),
        "auth": Rate(per_second=0.05, burst=1),  # never a bucket that admits nothing
    }


def test_one_worker_process_runs_the_background_loops(tmp_path: Path) -> None:
    first = claim_background(tmp_path)
    assert first is not None
    # Another worker (flock locks belong to open file descriptions, so this stands for one).
    assert claim_background(tmp_path) is None
    os.close(first)  # the first worker ends: a replacement takes the turn over
    second = claim_background(tmp_path)
    assert second is not None
    os.close(second)


def test_limiter_forgets_the_least_recent_clients() -> None:
    limiter = RateLimiter({"read": Rate(1.0, 1)}, clock=lambda: 0.0, max_clients=2)
    for client in ("a", "b", "c"):
        limiter.take(client, "read")
    limiter.take("a", "read")  # "a" was forgotten, so it has a full bucket again


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([], [("abcdef", False)]),
        ([(1, 3)], [("a", False), ("bc", True), ("def", False)]),
        ([(4, 9), (0, 1), (1, 2)], [("ab", True), ("cd", False), ("ef", True)]),
        ([(3, 2), (-5, 0)], [("abcdef", False)]),
    ],
)
def test_highlight_segments(spans: list[tuple[int, int]], expected: list[tuple[str, bool]]) -> None:
    assert segments("abcdef", spans) == expected


def test_sealed_keys_open_only_in_their_context() -> None:
    counter = itertools.count()
    sealer = AesGcmSealer(b"\x01" * 32, lambda n: next(counter).to_bytes(n, "big"))
    sealed = sealer.seal(b"seed" * 8, b"account 1")
    assert sealer.unseal(sealed, b"account 1") == b"seed" * 8
    with pytest.raises(VerificationError):
        sealer.unseal(sealed, b"account 2")
    with pytest.raises(VerificationError):
        AesGcmSealer(b"\x02" * 32).unseal(sealed, b"account 1")


def test_qr_svg_is_labelled_and_square() -> None:
    svg = qr_svg("https://example.test/verify/000001-ABCD", label='Verify "1" <x>')
    assert 'aria-label="Verify &quot;1&quot; &lt;x>"' in svg
    size = len(qr_matrix("https://example.test/verify/000001-ABCD"))
    assert size >= 21 and f'viewBox="0 0 {size + 8} {size + 8}"' in svg


class SubmissionsWithAFault:
    """Fails any call whose group holds the item "poison", as a bug met by one item would."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def submit_mixed(self, requests: list[tuple[str, None]]) -> list[str]:
        self.calls.append(len(requests))
        if any(item == "poison" for item, _ in requests):
            raise RuntimeError("a bug met by one item")
        return [f"registered {item}" for item, _ in requests]


def test_a_fault_escaping_a_group_reaches_only_the_caller_whose_item_causes_it() -> None:
    submissions = SubmissionsWithAFault()
    batcher = RegistrationBatcher(submissions)  # type: ignore[arg-type]

    async def at_once() -> list[object]:
        items = ["a", "b", "poison", "c"]
        return await asyncio.gather(*(batcher.submit(i, None) for i in items))

    outcomes = asyncio.run(at_once())
    assert outcomes[:2] == ["registered a", "registered b"]
    assert outcomes[3] == "registered c"
    assert isinstance(outcomes[2], CopysealError) and outcomes[2].http_status == 500
    assert submissions.calls == [1, 3, 1, 1, 1]  # "a" alone, then the group, then one by one
