"""The registry use-cases: register claims, issue certificates, serve proofs.

Registration runs in two steps, as in Tessera: callers admit a claim in their own thread
(its kind is one this log accepts, its body valid, its signature good, and the admission
rules in ``services/admission.py`` met), then hand it to the sequencer. The sequencer thread
takes everything that is waiting (group commit), and in one store transaction assigns
indices, appends the leaves, extends the tree and signs a checkpoint. Only after that commit
has been synced does any caller get its certificate, so an acknowledged registration is never
lost, and many concurrent registrations share one fsync. Right after it, the sequencer folds
the batch into the folds (``services/folds.py``): the log's transaction holds the log alone.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from copyseal.core import merkle
from copyseal.core.certificate import Certificate
from copyseal.core.claims import Claim, leaf_object, parse_leaf
from copyseal.core.encoding import jcs, parse_canonical_json
from copyseal.core.kinds import KINDS, ClaimKind, admit
from copyseal.core.note import Checkpoint, NoteSigner, sign_note
from copyseal.core.workid import compute_work_id, normalise_work_id, parse_work_id
from copyseal.domain.admission import check_admissible
from copyseal.domain.folds import LineageStore, LinkRow
from copyseal.domain.log import Entry, LogStore, StoredCheckpoint
from copyseal.errors import ConflictError, CopysealError, NotFound, Unavailable
from copyseal.services.admission import AdmissionPolicy, AllOf, Assessment, SequencedRule
from copyseal.services.fingerprints import keys_from_fields
from copyseal.services.folds import Follower, Logged

Clock = Callable[[], datetime]
log = logging.getLogger("copyseal.registry")

MAX_BATCH = 5000
ACCEPTED = ("register", "dispute")
"""The claim kinds a registry takes from submitters unless told otherwise."""


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds, the spelling of ``logged_at``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


@dataclass(frozen=True)
class Registration:
    """The outcome of one registration: its certificate, and whether it was new."""

    certificate: Certificate
    created: bool


@dataclass(frozen=True)
class _Pending:
    """A claim placed in the current batch (or repeating one placed earlier in it)."""

    index: int
    created: bool


_Outcome = Registration | CopysealError | _Pending


@dataclass(frozen=True)
class _Admitted:
    """A claim the caller's thread has admitted, with what it derived for the sequencer and
    the folds: its kind, its content key, the links the rules found, its index keys."""

    claim: Claim
    kind: ClaimKind
    content: str | None
    links: Sequence[tuple[int, str]]
    keys: Sequence[int]


@dataclass
class _Request:
    claims: Sequence[_Admitted]
    future: Future[list[Registration | CopysealError]] = field(default_factory=Future)


class Registry:
    def __init__(
        self,
        *,
        store: LogStore,
        log_signer: NoteSigner,
        clock: Clock,
        max_batch: int = MAX_BATCH,
        max_queue: int = 100_000,
        policies: Sequence[AdmissionPolicy] = (),
        follower: Follower | None = None,
        lineage: LineageStore | None = None,
        accepts: Collection[str] = ACCEPTED,
    ) -> None:
        self.store = store
        self.log_signer = log_signer
        self.log_vkey = log_signer.verifier.to_vkey()
        self.origin = log_signer.name
        self.clock = clock
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.policies = list(policies)
        self.follower = follower
        self.lineage = lineage
        self.accepts = frozenset(accepts)
        self._queue: list[_Request] = []
        self._queued = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- registering --------------------------------------------------------------------------

    def register(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None] | None = None
    ) -> list[Registration | CopysealError]:
        """Log signed claims; one result per claim, in order, once durably committed.

        With the ``contents`` (where the caller has them), the admission rules can look at
        the content itself: anti-squatting refuses near-copies of other creators' earlier
        works and links a creator's own versions. Per-claim problems (an unaccepted kind, a
        bad signature, a conflict) come back as errors in their slot, so one bad claim does
        not sink a batch.
        """
        results: list[Registration | CopysealError | None] = [None] * len(claims)
        kinds: dict[int, ClaimKind] = {}
        for i, claim in enumerate(claims):
            try:
                kinds[i] = admit(claim, self.accepts)
                check_admissible(claim, kinds[i])
                claim.verify()
            except CopysealError as exc:
                kinds.pop(i, None)
                results[i] = exc
        checked = list(kinds)
        assessments = self._assess(
            [claims[i] for i in checked], [contents[i] if contents else None for i in checked]
        )
        valid: list[_Admitted] = []
        slots: list[int] = []
        for i, assessment in zip(checked, assessments, strict=True):
            if assessment.refusal is not None:
                results[i] = assessment.refusal
                continue
            try:
                valid.append(_admitted(claims[i], kinds[i], assessment))
            except Exception as exc:  # a fault deriving what it needs fails this claim alone
                results[i] = claim_fault(exc, "index")
                continue
            slots.append(i)
        if valid:
            for slot, outcome in zip(slots, self._submit(valid), strict=True):
                results[slot] = outcome
        return [r for r in results if r is not None]

    def _assess(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None]
    ) -> list[Assessment]:
        """The admission rules' verdicts. Should a rule fail on a batch as a whole (not on
        an overloaded store), each claim is assessed alone, so the fault stays with its claim."""
        try:
            return AllOf(self.policies).assess_many(claims, contents)
        except Unavailable:
            raise
        except Exception as exc:
            if len(claims) == 1:
                return [Assessment(refusal=claim_fault(exc, "check"))]
        return [self._assess(claims[i : i + 1], contents[i : i + 1])[0] for i in range(len(claims))]

    def register_one(self, claim: Claim) -> Registration:
        outcome = self.register([claim])[0]
        if isinstance(outcome, CopysealError):
            raise outcome
        return outcome

    def _submit(self, claims: Sequence[_Admitted]) -> list[Registration | CopysealError]:
        request = _Request(claims)
        with self._cond:
            if self._closed:
                raise Unavailable("the registry is shutting down")
            if self._queued + len(claims) > self.max_queue:
                raise Unavailable("too many registrations are waiting", retry_after=1.0)
            self._queue.append(request)
            self._queued += len(claims)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="copyseal-sequencer", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return request.future.result()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch: list[_Request] = []
                count = 0
                while self._queue and (
                    not batch or count + len(self._queue[0].claims) <= self.max_batch
                ):
                    request = self._queue.pop(0)
                    batch.append(request)
                    count += len(request.claims)
                self._queued -= count
            self._integrate_requests(batch)

    def _integrate_requests(self, batch: list[_Request]) -> None:
        claims = [c for r in batch for c in r.claims]
        try:
            outcomes, logged = self._integrate(claims)
        except BaseException as exc:  # the whole batch failed: tell every caller
            for request in batch:
                request.future.set_exception(exc)
            return
        try:
            self._fold(claims, outcomes, logged)
        except Exception:  # a fault of a fold's own: the batch is logged all the same, and
            # its callers, and every batch after it, must not wait for a dead sequencer
            log.error("could not fold a logged batch; the next catch-up folds it", exc_info=True)
        pos = 0
        for request in batch:
            request.future.set_result(outcomes[pos : pos + len(request.claims)])
            pos += len(request.claims)

    def _fold(
        self,
        admitted: Sequence[_Admitted],
        outcomes: Sequence[Registration | CopysealError],
        logged: Sequence[Logged],
    ) -> None:
        """Fold a committed batch: the entries it logged (with what admission derived for
        them), and the links the rules observed, for a repeated registration too (a crash
        may have lost them the first time). A fold that fails is caught up later: the
        entries are logged whatever happens here."""
        if self.follower is not None:
            self.follower.catch_up_quietly(recent=logged)
        observed = [
            LinkRow(outcome.certificate.index, target, relation)
            for item, outcome in zip(admitted, outcomes, strict=True)
            if not isinstance(outcome, CopysealError)
            for target, relation in item.links
        ]
        if observed and self.lineage is not None:
            with contextlib.suppress(CopysealError):
                self.lineage.observe(observed)

    def _integrate(
        self, admitted: Sequence[_Admitted]
    ) -> tuple[list[Registration | CopysealError], list[Logged]]:
        """One transaction for the batch; returns its outcomes and the entries it logged.
        Its reads are a few set-wise queries, not a few per claim: each query gives up the
        GIL, and in a busy server taking it back can wait."""
        outcomes: list[_Outcome] = []
        claims = [a.claim for a in admitted]
        # The leaves are made before the write lock is taken; another process's writer may
        # have logged a later time since, and logged_at never goes backwards in the log.
        logged_at = format_time(self.clock())
        leaves = [leaf_object(c, logged_at) for c in claims]
        encoded = [jcs(leaf) for leaf in leaves]
        with self.store.sequencer() as writer:
            size, last = writer.head()
            start = size
            if last is not None and last > logged_at:
                logged_at = last
                leaves = [leaf_object(c, logged_at) for c in claims]
                encoded = [jcs(leaf) for leaf in leaves]
            replays = writer.find_nonces([(c.signer, c.nonce) for c in claims])
            # Every entry with the batch's content hashes, in one query: for repeats, and for
            # the rules that hold again in sequence (``same`` gains the batch's own entries).
            same = writer.find_contents({a.content for a in admitted if a.content is not None})
            registered = _first_works(same)
            new_entries: list[Entry] = []
            logged: list[Logged] = []
            new_leaves: dict[int, dict[str, Any]] = {}
            seen: dict[tuple[str, str], int] = {}
            for i, item in enumerate(admitted):
                claim, content = item.claim, item.content
                work = content if item.kind.work else None  # a work is registered once
                found = self._existing(claim, work, replays, registered, new_entries, seen)
                if found is None and content is not None:
                    found = self._refused_in_sequence(item, same.get(content, ()))
                if found is not None:
                    outcomes.append(found)
                    continue
                new_leaves[size] = leaves[i]
                entry = Entry.of(size, encoded[i], claim, logged_at, content=content)
                seen[(claim.signer, claim.nonce)] = size
                if work is not None:
                    seen[(claim.signer, "sha256:" + work)] = size
                if content is not None:
                    same.setdefault(content, []).append(entry)
                new_entries.append(entry)
                logged.append(Logged(entry, claim, item.kind, {"similarity": item.keys}))
                outcomes.append(_Pending(size, created=True))
                size += 1
            if not new_entries:
                return [self._finish(o, {}, {}, None) for o in outcomes], []
            # The stored nodes that appending and the new leaves' proofs read, in one query.
            nodes = writer.nodes_at(merkle.frontier(start))
            _, created = merkle.append_nodes(
                start, _overlay(nodes, writer.read_node), (e.leaf_hash for e in new_entries)
            )
            nodes.update(created)
            read = _overlay(nodes, self.store.read_node)
            checkpoint = Checkpoint(self.origin, size, merkle.root(size, read))
            note = sign_note(checkpoint.to_text(), [self.log_signer]).to_text()
            stored = StoredCheckpoint(size, note, logged_at)
            writer.append(new_entries, created, stored)
        by_index = {e.index: e for e in new_entries}
        return [self._finish(o, by_index, new_leaves, (stored, read)) for o in outcomes], logged

    def _refused_in_sequence(self, item: _Admitted, same: Sequence[Entry]) -> CopysealError | None:
        for rule in self.policies:
            if isinstance(rule, SequencedRule):
                refusal = rule.in_sequence(item.claim, item.links, same)
                if refusal is not None:
                    return refusal
        return None

    def _existing(
        self,
        claim: Claim,
        content: str | None,
        replays: dict[tuple[str, str], Entry],
        registered: dict[tuple[str, str], Entry],
        batch: list[Entry],
        seen: dict[tuple[str, str], int],
    ) -> _Outcome | None:
        """An earlier entry this claim repeats: idempotent for the same work, else a conflict."""
        if (claim.signer, claim.nonce) in seen:
            earlier_index = seen[(claim.signer, claim.nonce)]
            earlier = batch[earlier_index - batch[0].index]
            if parse_leaf(parse_canonical_json(earlier.leaf))[0] == claim:
                return _Pending(earlier_index, created=False)
            return ConflictError("this nonce was already used by another claim of this signer")
        if content is not None and (claim.signer, "sha256:" + content) in seen:
            return _Pending(seen[(claim.signer, "sha256:" + content)], created=False)
        replay = replays.get((claim.signer, claim.nonce))
        if replay is not None:
            if parse_leaf(parse_canonical_json(replay.leaf))[0] == claim:
                return self.certificate_for(replay, created=False)
            return ConflictError(
                "this nonce was already used by another claim of this signer",
                earlier=replay.work_id,
            )
        if content is not None:
            existing = registered.get((claim.signer, content))
            if existing is not None:
                return self.certificate_for(existing, created=False)
        return None

    def _finish(
        self,
        outcome: _Outcome,
        by_index: dict[int, Entry],
        leaves: dict[int, dict[str, Any]],
        tree: tuple[StoredCheckpoint, merkle.NodeReader] | None,
    ) -> Registration | CopysealError:
        if not isinstance(outcome, _Pending):
            return outcome
        assert tree is not None
        checkpoint, read = tree
        entry, leaf = by_index[outcome.index], leaves[outcome.index]
        cert = _certificate(self.log_vkey, entry, checkpoint, read, leaf)
        return Registration(cert, outcome.created)

    # -- reading ------------------------------------------------------------------------------

    def certificate_for(self, entry: Entry, *, created: bool = False) -> Registration:
        checkpoint = self.store.latest_checkpoint()
        if checkpoint is None or checkpoint.size <= entry.index:
            raise NotFound(f"entry {entry.index} is not covered by a checkpoint yet")
        cert = _certificate(self.log_vkey, entry, checkpoint, self.store.read_node)
        return Registration(cert, created)

    def entry(self, entry_id: str) -> Entry:
        """The entry an ID names, whatever its kind: a work's ID is its entry's ID."""
        entry = self.store.entry(parse_work_id(entry_id))
        if entry is None or entry.work_id != normalise_work_id(entry_id):
            raise NotFound(f"no entry {entry_id} in this log")
        return entry

    def entry_for_work(self, work_id: str) -> Entry:
        entry = self.store.entry(parse_work_id(work_id))
        if entry is None or entry.work_id != normalise_work_id(work_id):
            raise NotFound(f"no work {work_id} in this log")
        kind = Logged.read(entry).kind
        if kind is None or not kind.work:
            raise NotFound(f"{work_id} is an entry of this log, not a registered work")
        return entry

    def certificate(self, work_id: str) -> Certificate:
        return self.certificate_for(self.entry_for_work(work_id)).certificate

    def work(self, work_id: str) -> dict[str, Any]:
        entry = self.entry_for_work(work_id)
        claim, logged_at = parse_leaf(parse_canonical_json(entry.leaf))
        kind = Logged.read(entry).kind
        assert kind is not None
        shown = kind.describe(claim.body)
        return {
            "work_id": entry.work_id,
            "index": entry.index,
            "owner": claim.signer,
            "logged_at": logged_at,
            "created": claim.created,
            "title": shown.get("title"),
            "content": shown.get("content"),
            "fingerprints": dict(kind.fingerprints(claim.body)),
            "leaf_hash": entry.leaf_hash.hex(),
            **self._lineage(entry.index),
        }

    def _lineage(self, index: int) -> dict[str, list[str]]:
        """A work's links both ways: its parents, its derivatives, versions and disputes."""
        out: dict[str, list[str]] = {
            "derivative_of": [],
            "version_of": [],
            "derivatives": [],
            "versions": [],
            "disputed_by": [],
        }
        if self.lineage is None:
            return out
        if self.follower is not None:
            self.follower.catch_up(["lineage"])
        incoming = {"derivative": "derivatives", "version": "versions", "dispute": "disputed_by"}
        outgoing = {"derivative": "derivative_of", "version": "version_of"}
        for link in self.lineage.links(index):
            if link.source == index and link.relation in outgoing:
                other, name = link.target, outgoing[link.relation]
            elif link.target == index and link.relation in incoming:
                other, name = link.source, incoming[link.relation]
            else:
                continue
            entry = self.store.entry(other)
            if entry is not None:
                out[name].append(entry.work_id)
        return out

    def latest_checkpoint(self) -> str:
        checkpoint = self.store.latest_checkpoint()
        if checkpoint is None:
            # An empty log still has a signed checkpoint: size 0, the empty root.
            body = Checkpoint(self.origin, 0, merkle.EMPTY_ROOT).to_text()
            return sign_note(body, [self.log_signer]).to_text()
        return checkpoint.note

    def inclusion_proof(self, index: int, size: int | None = None) -> dict[str, Any]:
        tree_size = self._size(size)
        entry = self.store.entry(index)
        if entry is None or index >= tree_size:
            raise NotFound(f"entry {index} is not in the tree of size {tree_size}")
        proof = merkle.inclusion_proof(index, tree_size, self.store.read_node)
        return {
            "index": index,
            "tree_size": tree_size,
            "leaf_hash": entry.leaf_hash.hex(),
            "proof": [p.hex() for p in proof],
            "root_hash": merkle.root(tree_size, self.store.read_node).hex(),
        }

    def consistency_proof(self, old_size: int, new_size: int) -> dict[str, Any]:
        size = self.store.tree_size()
        if not 0 <= old_size <= new_size <= size:
            raise NotFound(f"sizes must satisfy 0 ≤ old ≤ new ≤ {size}")
        read = self.store.read_node
        return {
            "old_size": old_size,
            "new_size": new_size,
            "old_root": merkle.root(old_size, read).hex(),
            "new_root": merkle.root(new_size, read).hex(),
            "proof": [p.hex() for p in merkle.consistency_proof(old_size, new_size, read)],
        }

    def _size(self, size: int | None) -> int:
        current = self.store.tree_size()
        if size is None:
            return current
        if not 0 < size <= current:
            raise NotFound(f"tree size must be between 1 and {current}")
        return size

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()


def _overlay(nodes: dict[tuple[int, int], bytes], read: merkle.NodeReader) -> merkle.NodeReader:
    def get(level: int, index: int) -> bytes:
        found = nodes.get((level, index))
        return found if found is not None else read(level, index)

    return get


def _certificate(
    vkey: str,
    entry: Entry,
    checkpoint: StoredCheckpoint,
    read: merkle.NodeReader,
    leaf: dict[str, Any] | None = None,
) -> Certificate:
    proof = merkle.inclusion_proof(entry.index, checkpoint.size, read)
    return Certificate(
        work_id=compute_work_id(entry.index, entry.leaf_hash),
        log_vkey=vkey,
        index=entry.index,
        leaf_hash=entry.leaf_hash,
        leaf=parse_canonical_json(entry.leaf) if leaf is None else leaf,
        tree_size=checkpoint.size,
        proof=tuple(proof),
        checkpoint=checkpoint.note,
    )


def _admitted(claim: Claim, kind: ClaimKind, assessment: Assessment) -> _Admitted:
    """What the sequencer and the folds need of an admitted claim, derived in the caller's
    thread: nothing is computed under the write lock that could be computed before."""
    return _Admitted(
        claim=claim,
        kind=kind,
        content=kind.content(claim.body),
        links=assessment.links,
        keys=keys_from_fields(kind.fingerprints(claim.body)),
    )


def claim_fault(exc: Exception, step: str) -> CopysealError:
    """What to report, in one claim's slot alone, for an exception met while doing ``step``
    to that claim: its own error, or (logged) an internal one."""
    if isinstance(exc, CopysealError):
        return exc
    log.error("could not %s a claim", step, exc_info=exc)
    return CopysealError(f"the registry could not {step} this claim", hint="It has been logged.")


def _first_works(found: dict[str, list[Entry]]) -> dict[tuple[str, str], Entry]:
    """Each (signer, content hash)'s first registered work among ``found`` (oldest first)."""
    first: dict[tuple[str, str], Entry] = {}
    for content, entries in found.items():
        for entry in entries:
            kind = KINDS.get(entry.type)
            if kind is not None and kind.work:
                first.setdefault((entry.signer, content), entry)
    return first
