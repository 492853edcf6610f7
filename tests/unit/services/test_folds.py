"""The follower keeps the folds in step when several threads of one process follow at once
(the sequencer folding the batch it just logged, a reader catching its fold up first), and a
fold that fails after a commit fails no registration."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

from copyseal.core.claims import Claim
from copyseal.core.keys import Signer
from copyseal.core.note import NoteSigner
from copyseal.domain.folds import FoldStore
from copyseal.errors import Unavailable
from copyseal.services.assembly import Assembly
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from copyseal.services.fingerprints import keys_from_fields
from copyseal.services.folds import Follower, Logged, SimilarityFold
from copyseal.services.registry import Registration, Registry
from tests.fakes import MemoryLogStore, MemorySimilarityIndex
from tests.support import FakeClock, seeded_bytes

PATIENCE_S = 30.0  # far beyond what either thread needs: only a deadlock runs out of it


def _claims(creator: Signer, clock: FakeClock, n: int) -> list[Claim]:
    works = [
        WorkInput(f"a poem about lanterns, {i}".encode(), TEXT_MEDIA_TYPE, "t") for i in range(n)
    ]
    return prepare_register_claims(
        works, creator, clock=clock, random_bytes=seeded_bytes(3), max_bytes=1 << 20
    )


class _Watched:
    """A fold store that says when a batch scope (its writer, in SQLite) has been entered."""

    def __init__(self, store: FoldStore, batched: threading.Event) -> None:
        self._store = store
        self._batched = batched

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @contextmanager
    def batch(self) -> Iterator[object]:
        with self._store.batch() as scope:
            self._batched.set()
            yield scope


class _Paused:
    """A fold that, in the thread named ``reader``, waits for ``go`` before it writes (under
    the follower's lock of the fold, where a reader's catch-up applies it)."""

    def __init__(
        self, fold: SimilarityFold, store: _Watched, reached: threading.Event, go: threading.Event
    ) -> None:
        self.name = fold.name
        self._fold = fold
        self._store = store
        self._reached = reached
        self._go = go

    @property
    def store(self) -> Any:
        return self._store

    def apply(self, logged: Sequence[Logged], start: int, stop: int) -> bool:
        if threading.current_thread().name == "reader":
            self._reached.set()
            self._go.wait(PATIENCE_S)
        return self._fold.apply(logged, start, stop)


def test_a_reader_and_the_sequencer_fold_at_once(
    assembly: Assembly, creator: Signer, clock: FakeClock
) -> None:
    """The sequencer holding the folds' writer must not then wait for a fold's lock that a
    reader holds while it waits for that writer: both finish, and the fold is complete."""
    works = [
        WorkInput(f"a poem about lanterns, {i}".encode(), TEXT_MEDIA_TYPE, "t") for i in range(4)
    ]
    claims = prepare_register_claims(
        works, creator, clock=clock, random_bytes=seeded_bytes(3), max_bytes=1 << 20
    )
    assembly.registry.register(claims)
    stores = assembly.stores
    size = stores.log.tree_size()
    stores.similarity.clear()  # behind the log: both threads below will fold it
    logged = [Logged.read(e) for e in stores.log.entries(0, size)]

    reached, batched, go = threading.Event(), threading.Event(), threading.Event()
    store = _Watched(stores.similarity, batched)
    fold = _Paused(SimilarityFold(stores.similarity), store, reached, go)
    follower = Follower(stores.log, [fold])
    reader = threading.Thread(target=follower.catch_up, name="reader", daemon=True)
    sequencer = threading.Thread(
        target=lambda: follower.catch_up(recent=logged), name="sequencer", daemon=True
    )
    reader.start()
    assert reached.wait(PATIENCE_S)  # the reader holds the fold's lock
    sequencer.start()
    batched.wait(1.0)  # a sequencer that takes the writer before the fold's lock has it now
    go.set()
    reader.join(PATIENCE_S)
    sequencer.join(PATIENCE_S)
    assert not reader.is_alive() and not sequencer.is_alive(), "the two followers deadlocked"
    assert stores.similarity.through() == size
    for item in logged:  # every work is found by its own keys
        assert item.kind is not None
        keys = keys_from_fields(item.kind.fingerprints(item.claim.body))
        assert item.entry.index in stores.similarity.similar(keys)


class _Flaky(SimilarityFold):
    """A similarity fold whose first ``apply`` raises ``fault``."""

    def __init__(self, fault: Exception) -> None:
        super().__init__(MemorySimilarityIndex())
        self.fault: Exception | None = fault

    def apply(self, logged: Sequence[Logged], start: int, stop: int) -> bool:
        if self.fault is not None:
            fault, self.fault = self.fault, None
            raise fault
        return super().apply(logged, start, stop)


@pytest.mark.parametrize(
    "fault",
    [Unavailable("the folds are busy"), RuntimeError("a fault of the fold's own")],
    ids=["store-error", "unexpected"],
)
def test_a_fold_that_fails_after_the_commit_fails_no_registration(
    log_signer: NoteSigner, creator: Signer, clock: FakeClock, fault: Exception
) -> None:
    """The batch is logged: its callers get their certificates, the sequencer goes on with
    the next batch, and the next catch-up folds what the failed one could not."""
    store = MemoryLogStore()
    fold = _Flaky(fault)
    follower = Follower(store, [fold])
    registry = Registry(store=store, log_signer=log_signer, clock=clock, follower=follower)
    claims = _claims(creator, clock, 3)
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.extend(registry.register(claims[:2])))
    worker.daemon = True
    worker.start()
    worker.join(PATIENCE_S)
    try:
        assert not worker.is_alive(), "the registration was never answered"
        assert all(isinstance(o, Registration) for o in done) and len(done) == 2
        assert isinstance(registry.register(claims[2:])[0], Registration)  # the next batch
    finally:
        registry.close()
    assert store.tree_size() == 3
    assert follower.catch_up() == 3 and fold.store.through() == 3
