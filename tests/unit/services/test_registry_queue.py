"""The sequencer's queue is bounded: past it a registration is refused at once as
unavailable, with a time to retry, instead of waiting in a queue without end."""

from __future__ import annotations

import queue
import threading

from copyseal.core.claims import Claim
from copyseal.core.keys import Signer
from copyseal.core.note import NoteSigner
from copyseal.errors import Unavailable
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from copyseal.services.registry import Registration, Registry
from tests.fakes import MemoryLogStore
from tests.support import FakeClock, seeded_bytes

PATIENCE_S = 30.0  # a deadline for the test to give up, never an expected duration


def _claims(creator: Signer, clock: FakeClock, n: int) -> list[Claim]:
    works = [WorkInput(f"queued work {i}".encode(), TEXT_MEDIA_TYPE, "t") for i in range(n)]
    return prepare_register_claims(
        works, creator, clock=clock, random_bytes=seeded_bytes(5), max_bytes=1 << 20
    )


def test_registrations_past_the_queue_bound_are_refused_with_a_retry_after(
    log_signer: NoteSigner, creator: Signer, clock: FakeClock
) -> None:
    committing, release = threading.Event(), threading.Event()

    def slow_disk(point: str) -> None:  # the first batch's commit takes until released
        if point == "begin" and not release.is_set():
            committing.set()
            release.wait(PATIENCE_S)

    store = MemoryLogStore(fault=slow_disk)
    registry = Registry(store=store, log_signer=log_signer, clock=clock, max_queue=3)
    claims = _claims(creator, clock, 5)
    done: queue.Queue[tuple[str, list[Registration] | Unavailable]] = queue.Queue()

    def register(name: str, batch: list[Claim]) -> None:
        try:
            outcomes = registry.register(batch)
            done.put((name, [o for o in outcomes if isinstance(o, Registration)]))
        except Unavailable as exc:
            done.put((name, exc))

    threading.Thread(target=register, args=("first", claims[:1]), daemon=True).start()
    assert committing.wait(PATIENCE_S)  # taken from the queue: the queue is empty again
    # Three claims fill the queue, one more overflows it: whichever comes second is refused.
    for name, batch in (("three", claims[1:4]), ("one", claims[4:])):
        threading.Thread(target=register, args=(name, batch), daemon=True).start()
    refused_name, refused = done.get(timeout=PATIENCE_S)
    release.set()
    finished = dict(done.get(timeout=PATIENCE_S) for _ in range(2))
    registry.close()

    assert isinstance(refused, Unavailable), refused
    assert refused.retry_after is not None and refused.retry_after > 0
    assert refused_name in ("three", "one")
    assert all(isinstance(got, list) for got in finished.values()), finished
    logged = 1 + (1 if refused_name == "three" else 3)
    assert sum(len(got) for got in finished.values() if isinstance(got, list)) == logged
    assert store.tree_size() == logged
