"""A large registration batch spread over processes: fingerprints and the anti-squatting check.

Most of a text registration's time is spent where no lock is needed: fingerprinting is pure,
and the check reads the log like any reader (it runs before sequencing on every path; see
``docs/similarity.md``). Python runs one thread of such work at a time, so a
:class:`WorkerPool` runs them in worker processes, each with its own connection to the
store, and a batch uses every core. Signing, verifying and sequencing stay in the caller's
process: the creator's key never leaves it, and the log still has one writer at a time.

The pool is the registry's anti-squatting rule (``assemble(..., squatting=pool)``): each
claim gets the verdict :class:`~copyseal.services.antisquatting.AntiSquatting` gives it,
whichever worker checks it. A text is checked
in the same pass that fingerprints it (:meth:`WorkerPool.fingerprints`, one normalisation
and MinHash for both); the registry's :meth:`WorkerPool.assess_many` then turns the matches
found for that content into the claim's verdict, and sends the workers only the claims whose
content was not checked that way (images, audio, declared derivatives, other contents).
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from copyseal.core.claims import Claim
from copyseal.domain.log import Entry
from copyseal.domain.stores import Stores
from copyseal.errors import CopysealError
from copyseal.services.admission import Assessment
from copyseal.services.antisquatting import (
    AntiSquatting,
    parents_of,
    public_content,
    refused_in_sequence,
    verdict,
)
from copyseal.services.folds import Follower, SimilarityFold
from copyseal.services.search import SimilaritySearch, WorkMatch

T = TypeVar("T")
R = TypeVar("R")

MAX_CHECKED = 100_000
"""Checked contents the pool remembers until their claims are assessed."""

_search: SimilaritySearch | None = None  # a worker process's own


def _start_worker(open_stores: Callable[[], Stores]) -> None:
    global _search
    stores = open_stores()
    follower = Follower(stores.log, [SimilarityFold(stores.similarity)])
    _search = SimilaritySearch(store=stores.log, index=stores.similarity, follower=follower)


def _searcher() -> SimilaritySearch:
    assert _search is not None, "the worker was started without its store"
    return _search


_Fingerprinted = tuple[dict[str, Any], list[WorkMatch] | None]


def _fingerprint(works: Sequence[tuple[bytes, str]]) -> list[_Fingerprinted]:
    return _searcher().fingerprint_and_check(works)


def _assess(items: Sequence[tuple[Claim, bytes | None]]) -> list[Assessment]:
    return AntiSquatting(_searcher()).assess_many([c for c, _ in items], [b for _, b in items])


class WorkerPool:
    """``workers`` processes, each opening the home's stores with ``open_stores``, which must
    pickle (e.g. ``functools.partial(open_stores, url, base=home)``).

    They are forked from a fresh server process that has imported this module, not from the
    caller, so no lock, thread or connection of the caller's is copied into them."""

    def __init__(self, open_stores: Callable[[], Stores], workers: int) -> None:
        if workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.workers = workers
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        self._executor = ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(open_stores,),
        )
        self._checked: dict[tuple[str, str], list[WorkMatch]] = {}

    def fingerprints(self, works: Sequence[tuple[bytes, str]]) -> list[dict[str, Any]]:
        """:func:`fingerprint_fields` of each (content, media type); raises the first error.
        Texts are checked in the same pass, and the matches kept for :meth:`assess_many`."""
        return self._kept(works, self._start(_fingerprint, works))

    def fingerprints_ahead(
        self, batches: Iterable[Sequence[tuple[bytes, str]]]
    ) -> Iterator[list[dict[str, Any]]]:
        """:meth:`fingerprints` of each batch in turn; while the caller handles one batch
        (registers it), the workers already fingerprint and check the next. So each batch's
        texts are checked against the log as it was before the batch ahead of it was logged,
        as the works of one batch are not checked against each other."""
        ahead: tuple[Sequence[tuple[bytes, str]], Callable[[], list[_Fingerprinted]]] | None
        ahead = None
        for batch in batches:
            started = (batch, self._start(_fingerprint, batch))
            if ahead is not None:
                yield self._kept(*ahead)
            ahead = started
        if ahead is not None:
            yield self._kept(*ahead)

    def _kept(
        self,
        works: Sequence[tuple[bytes, str]],
        result: Callable[[], list[_Fingerprinted]],
    ) -> list[dict[str, Any]]:
        results = result()
        if len(self._checked) + len(works) > MAX_CHECKED:
            self._checked.clear()  # checked long ago and never registered: check again
        for (content, media_type), (_, matches) in zip(works, results, strict=True):
            if matches is not None:
                self._checked[(hashlib.sha256(content).hexdigest(), media_type)] = matches
        return [fields for fields, _ in results]

    def assess_many(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None]
    ) -> list[Assessment]:
        """:meth:`AntiSquatting.assess_many`: from the matches :meth:`fingerprints` found for
        a claim's content, else in the workers, the batch split between them."""
        verdicts: list[Assessment | None] = [None] * len(claims)
        rest = []
        for i, (claim, content) in enumerate(zip(claims, contents, strict=True)):
            matches = self._checked.pop(self._key(claim, content), None)
            if matches is not None:
                verdicts[i] = verdict(claim, matches)
            else:
                rest.append(i)
        assessed = self._start(_assess, [(claims[i], contents[i]) for i in rest])()
        for i, assessment in zip(rest, assessed, strict=True):
            verdicts[i] = assessment
        return [v if v is not None else Assessment() for v in verdicts]

    def in_sequence(
        self, claim: Claim, links: Sequence[tuple[int, str]], same: Sequence[Entry]
    ) -> CopysealError | None:
        return refused_in_sequence(claim, links, same)

    @staticmethod
    def _key(claim: Claim, content: bytes | None) -> tuple[str, str]:
        """The key a plain registration's checked content is kept under ("" for others)."""
        published = public_content(claim)
        if published is None or content is None or parents_of(claim):
            return ("", "")
        return (hashlib.sha256(content).hexdigest(), published["media_type"])

    def _start(
        self, task: Callable[[Sequence[T]], list[R]], items: Sequence[T]
    ) -> Callable[[], list[R]]:
        """Start ``task`` on ``items`` in the workers; the returned function waits for the
        results, in order, and raises the first error."""
        # Dealt round-robin: neighbouring works are often alike in cost (one language, one
        # source), and each part should take as long as the others.
        n = self.workers
        parts = [self._executor.submit(task, items[i::n]) for i in range(min(n, len(items)))]

        def results() -> list[R]:
            done = [part.result() for part in parts]
            return [done[i % n][i // n] for i in range(len(items))]

        return results

    def close(self) -> None:
        self._executor.shutdown(cancel_futures=True)
