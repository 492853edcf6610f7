"""A large registration batch spread over processes: fingerprints and the anti-squatting check.

Most of a text registration's time is spent where no lock is needed: fingerprinting is pure,
and the check reads the log like any reader (it runs before sequencing on every path; see
``docs/similarity.md``). Python runs one thread of such work at a time, so a
:class:`WorkerPool` runs them in worker processes, each with its own connection to the
store, and a batch uses every core. Signing, verifying and sequencing stay in the caller's
process: the creator's key never leaves it, and the log still has one writer at a time.

The pool is the registry's policy (``Registry(policy=pool)``): each claim gets the verdict
:meth:`SimilaritySearch.assess_many` gives it, whichever worker checks it.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from copyseal.core.claims import Claim
from copyseal.domain.log import LogStore
from copyseal.services.search import Assessment, SimilaritySearch, fingerprint_fields

T = TypeVar("T")
R = TypeVar("R")

_search: SimilaritySearch | None = None  # a worker process's own


def _start_worker(open_store: Callable[[], LogStore]) -> None:
    global _search
    _search = SimilaritySearch(store=open_store())


def _fingerprint(works: Sequence[tuple[bytes, str]]) -> list[dict[str, Any]]:
    return [fingerprint_fields(content, media_type) for content, media_type in works]


def _assess(items: Sequence[tuple[Claim, bytes | None]]) -> list[Assessment]:
    assert _search is not None, "the worker was started without its store"
    return _search.assess_many([c for c, _ in items], [b for _, b in items])


class WorkerPool:
    """``workers`` processes, each opening the store with ``open_store``, which must pickle
    (e.g. ``functools.partial(SqliteLogStore, path)``).

    They are forked from a fresh server process that has imported this module, not from the
    caller, so no lock, thread or connection of the caller's is copied into them."""

    def __init__(self, open_store: Callable[[], LogStore], workers: int) -> None:
        if workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.workers = workers
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        self._executor = ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(open_store,),
        )

    def fingerprints(self, works: Sequence[tuple[bytes, str]]) -> list[dict[str, Any]]:
        """:func:`fingerprint_fields` of each (content, media type); raises the first error."""
        return self._spread(_fingerprint, works)

    def assess_many(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None]
    ) -> list[Assessment]:
        """:meth:`SimilaritySearch.assess_many`, the batch split between the workers."""
        return self._spread(_assess, list(zip(claims, contents, strict=True)))

    def _spread(self, task: Callable[[Sequence[T]], list[R]], items: Sequence[T]) -> list[R]:
        # Dealt round-robin: neighbouring works are often alike in cost (one language, one
        # source), and each part should take as long as the others.
        n = self.workers
        parts = [items[i::n] for i in range(min(n, len(items)))]
        results = list(self._executor.map(task, parts))
        return [results[i % n][i // n] for i in range(len(items))]

    def close(self) -> None:
        self._executor.shutdown(cancel_futures=True)
