"""Folds follow the log: the similarity index, lineage, ownership and the works catalogue.

Each fold turns a span of log entries into rows of its store (``domain/folds.py``), a pure
function of the entries in log order. :class:`Follower` keeps them in step: it reads the
entries each fold has not folded yet and hands them over, a chunk at a time. A fold's store
records a span only if nobody recorded it first, so any number of followers, in any number
of processes, may run over one log.

When followed:

- the registry's sequencer, right after each commit, folds the batch it just logged (it
  hands the follower the claims it already read, so nothing is parsed twice);
- a reader catches its fold up before it answers (:meth:`Follower.catch_up`), so a fold
  that another process left behind costs a read of the log, never a wrong answer;
- ``copyseal index rebuild`` clears every fold and folds the whole log again.

A fold never changes the log, and a failed fold never fails a registration: the entries are
logged, and the next catch-up folds them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol

from copyseal.core.claims import Claim, parse_leaf
from copyseal.core.encoding import parse_json
from copyseal.core.kinds import ClaimKind, read
from copyseal.core.workid import parse_work_id
from copyseal.domain.catalog import CatalogEntry, WorkCatalog
from copyseal.domain.folds import (
    FoldStore,
    LineageStore,
    LinkRow,
    OwnerRow,
    OwnershipStore,
    SimilarityIndex,
)
from copyseal.domain.log import Entry, LogStore
from copyseal.errors import CopysealError
from copyseal.services.fingerprints import keys_from_fields

CHUNK = 2000


@dataclass(frozen=True)
class Logged:
    """A log entry with its claim and, when this copyseal understands it, the claim's kind."""

    entry: Entry
    claim: Claim
    kind: ClaimKind | None
    derived: Mapping[str, Any] = field(default_factory=dict)
    """What a caller derived from the claim already, by fold name (the registry's admission
    derives the similarity index keys), so a fold need not derive it again."""

    @classmethod
    def read(cls, entry: Entry) -> Logged:
        claim, _ = parse_leaf(parse_json(entry.leaf))
        return cls(entry, claim, read(claim).kind)


class Fold(Protocol):
    name: str

    @property
    def store(self) -> FoldStore: ...

    def apply(self, logged: Sequence[Logged], start: int, stop: int) -> bool:
        """Fold the entries ``start ≤ index < stop`` (all of them, in order) into the store;
        False if another follower folded them first."""
        ...


# -- the folds --------------------------------------------------------------------------------


@dataclass
class SimilarityFold:
    """Index keys of every entry whose kind gives it fingerprints."""

    index: SimilarityIndex
    name: str = "similarity"

    @property
    def store(self) -> FoldStore:
        return self.index

    def apply(self, logged: Sequence[Logged], start: int, stop: int) -> bool:
        rows = [(key, item.entry.index) for item in logged for key in self._keys(item)]
        return self.index.add(rows, start, stop)

    def _keys(self, item: Logged) -> Sequence[int]:
        found: Sequence[int] | None = item.derived.get(self.name)
        if found is not None:
            return found
        if item.kind is None:
            return ()
        try:
            return keys_from_fields(item.kind.fingerprints(item.claim.body))
        except CopysealError:  # fingerprints no key comes from (logged before admission
            return ()  # checked them): the entry is not found by similarity


@dataclass
class LineageFold:
    """The links claims declare: derivatives, disputes."""

    lineage: LineageStore
    name: str = "lineage"

    @property
    def store(self) -> FoldStore:
        return self.lineage

    def apply(self, logged: Sequence[Logged], start: int, stop: int) -> bool:
        rows = [
            LinkRow(item.entry.index, parse_work_id(link.target), link.relation)
            for item in logged
            if item.kind is not None
            for link in item.kind.links(item.claim.body)
        ]
        return self.lineage.add(rows, start, stop)


@dataclass
class OwnershipFold:
    """Who owns each work: whoever registered it."""

    ownership: OwnershipStore
    name: str = "ownership"

    @property
    def store(self) -> FoldStore:
        return self.ownership

    def apply(self, logged: Sequence[Logged], start: int, stop: int) -> bool:
        rows = [
            OwnerRow(item.entry.index, item.claim.signer, item.entry.index)
            for item in logged
            if item.kind is not None and item.kind.work
        ]
        return self.ownership.add(rows, start, stop)


PRIVATE = "private (salted commitment)"


@dataclass
class CatalogFold:
    """Works by owner and title, for lists and the dashboard."""

    catalog: WorkCatalog
    name: str = "catalog"

    @property
    def store(self) -> FoldStore:
        return self.catalog

    def apply(self, logged: Sequence[Logged], start: int, stop: int) -> bool:
        rows = [_catalog_entry(item) for item in logged if item.kind is not None and item.kind.work]
        return self.catalog.add(rows, start, stop)


def _catalog_entry(item: Logged) -> CatalogEntry:
    assert item.kind is not None
    shown: dict[str, Any] = item.kind.describe(item.claim.body)
    content = shown.get("content") or {}
    if "commitment" in content:  # a private registration publishes only a commitment
        content = {"media_type": PRIVATE, "size": 0, "sha256": content["commitment"]}
    entry = item.entry
    return CatalogEntry(
        index=entry.index,
        work_id=entry.work_id,
        owner=item.claim.signer,
        title=shown.get("title"),
        media_type=str(content.get("media_type", "")),
        size=int(content.get("size", 0)),
        sha256=str(content.get("sha256", "")),
        logged_at=entry.logged_at,
    )


# -- following --------------------------------------------------------------------------------


class Follower:
    """Keeps ``folds`` in step with ``log``; one thread of this process folds each at a time.

    ``eager`` names the folds the sequencer folds each batch into right after its commit:
    those an admission rule reads (the similarity index, ownership), so the next batch is
    judged against everything logged. The others are caught up by their readers."""

    def __init__(
        self,
        log: LogStore,
        folds: Sequence[Fold],
        *,
        eager: Iterable[str] | None = None,
        chunk: int = CHUNK,
    ) -> None:
        self.log = log
        self.folds = {fold.name: fold for fold in folds}
        self.eager = list(self.folds if eager is None else eager)
        self.chunk = chunk
        # Re-entrant: a batch's catch-up takes every lock it needs before its transaction,
        # in name order, as every catch-up does (a lock, then the store's transaction).
        self._locks = {name: threading.RLock() for name in self.folds}

    def fold(self, name: str) -> Fold:
        return self.folds[name]

    def catch_up(self, names: Iterable[str] | None = None, *, recent: Sequence[Logged] = ()) -> int:
        """Fold whatever the named folds (all by default) have not read; returns the log
        size they reached. ``recent`` are entries the caller has at hand, read already."""
        size = self.log.tree_size()
        folds = [self.folds[name] for name in sorted(self.folds if names is None else names)]
        failed: CopysealError | None = None
        with ExitStack() as together:
            if recent:  # a batch just logged: its folds commit in one go where they can
                # The folds' locks first, then their writer, the order a reader takes them in
                # (its fold's lock, then the writer when it applies): a writer held first
                # would wait for a reader's lock while the reader waits for the writer.
                for fold in folds:
                    together.enter_context(self._locks[fold.name])
                for fold in folds:
                    together.enter_context(fold.store.batch())
            for fold in folds:
                try:
                    self._follow(fold, size, recent)
                except CopysealError as exc:  # one fold's trouble holds the others back in nothing
                    failed = failed or exc
        if failed is not None:
            raise failed
        return size

    def catch_up_quietly(self, *, recent: Sequence[Logged] = ()) -> CopysealError | None:
        """:meth:`catch_up` of the eager folds, for a caller that must not fail (the
        sequencer, after a commit): the error, if any, is returned; the next catch-up folds
        what this one could not."""
        try:
            self.catch_up(self.eager, recent=recent)
        except CopysealError as exc:
            return exc
        return None

    def rebuild(self) -> int:
        """Clear every fold and fold the whole log again; returns the log size."""
        for name, fold in self.folds.items():
            with self._locks[name]:
                fold.store.clear()
        return self.catch_up()

    def _follow(self, fold: Fold, size: int, recent: Sequence[Logged]) -> None:
        at_hand = {item.entry.index: item for item in recent}
        with self._locks[fold.name]:
            through = fold.store.through()
            while through < size:
                stop = min(size, through + self.chunk)
                if all(i in at_hand for i in range(through, stop)):
                    logged = [at_hand[i] for i in range(through, stop)]
                else:
                    logged = [Logged.read(e) for e in self.log.entries(through, stop)]
                # If another follower folded them first, go on from where it stopped.
                through = stop if fold.apply(logged, through, stop) else fold.store.through()
