"""Anchoring use-cases: anchor the log's latest checkpoint on a chain, upgrade certificates
with the receipts of later anchors, and the background loop that ``copyseal serve`` owns.

Registration never waits on the chain: the registry signs checkpoints and answers at once;
anchoring reads those checkpoints from the store afterwards, on its own thread
(:class:`AnchorLoop`), and a chain that is down only delays anchors. One anchor covers every
entry before it, so a certificate issued before an anchor is upgraded later, the way
OpenTimestamps upgrades a pending proof: :func:`refresh_certificate` adds a receipt whose
consistency proof links the certificate's checkpoint to the anchored one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from copyseal.core import merkle
from copyseal.core.anchor import AnchorReceipt, verify_anchor_offline
from copyseal.core.certificate import Certificate, verify_certificate
from copyseal.core.note import Checkpoint, NoteVerifier, open_checkpoint
from copyseal.domain.anchors import AnchorChain, AnchoredCheckpoint, AnchorStore
from copyseal.domain.log import LogStore
from copyseal.domain.wording import counted
from copyseal.errors import (
    ConflictError,
    ForeignLog,
    InconsistencyError,
    InvalidInput,
    NotFound,
    VerificationError,
)

log = logging.getLogger("copyseal.anchoring")


@dataclass(frozen=True)
class AnchorOutcome:
    """The anchor covering the latest checkpoint; ``created`` if this call sent it."""

    record: AnchoredCheckpoint
    created: bool


@dataclass(frozen=True)
class Refreshed:
    """A certificate's bytes after refresh, and the receipts the refresh added."""

    data: bytes
    added: tuple[AnchorReceipt, ...]


class Anchorer:
    """Anchors one log on one chain and contract, and keeps the receipts."""

    def __init__(
        self, *, store: LogStore, anchors: AnchorStore, chain: AnchorChain, log_key: NoteVerifier
    ) -> None:
        self.store = store
        self.anchors = anchors
        self.chain = chain
        self.log_key = log_key
        self.origin = log_key.name

    def latest_anchor(self) -> AnchoredCheckpoint | None:
        """The largest anchor of this log on this chain and contract that is stored here."""
        return self.anchors.latest(
            self.origin, chain=self.chain.caip2, contract=self.chain.contract
        )

    def pending(self) -> int:
        """How many logged entries no stored anchor covers yet (no chain request)."""
        stored = self.store.latest_checkpoint()
        anchored = self.latest_anchor()
        return max(0, (stored.size if stored else 0) - (anchored.anchor.size if anchored else 0))

    def anchor_latest(self) -> AnchorOutcome:
        """Anchor the latest signed checkpoint unless a stored anchor already covers it."""
        stored = self.store.latest_checkpoint()
        if stored is None:
            raise NotFound("nothing to anchor: the log is empty")
        checkpoint, _ = open_checkpoint(stored.note, self.log_key)
        latest = self.latest_anchor()
        if latest is not None and latest.anchor.size >= checkpoint.size:
            return AnchorOutcome(latest, created=False)
        try:
            record = self.chain.anchor(self.origin, checkpoint.size, checkpoint.root_hash)
        except ConflictError:
            # The chain already holds this size or a larger one: an earlier run of ours whose
            # receipt was lost, or another process with the same key. Take its receipt.
            return AnchorOutcome(self.recover(), created=False)
        self.anchors.add(record)
        log.info(
            "anchored %s at size %d in %s", self.origin, checkpoint.size, record.anchor.tx_hash
        )
        return AnchorOutcome(record, created=True)

    def recover(self) -> AnchoredCheckpoint:
        """Fetch and store the receipt of the chain's latest anchor of this log, after
        checking that the anchored root is this log's own root at that size."""
        size = self.chain.fetch_latest_size(self.origin)
        if size == 0:
            raise NotFound(f"{self.origin} is not anchored on {self.chain.caip2}")
        on_chain = self.chain.fetch_root_at(self.origin, size)
        evidence: dict[str, Any] = {
            "origin": self.origin,
            "size": size,
            "chain_root": on_chain.hex(),
        }
        if size > self.store.tree_size():
            raise InconsistencyError(
                f"{self.chain.contract} holds size {size} for {self.origin}, "
                f"beyond this log's {counted(self.store.tree_size(), 'entry', 'entries')}",
                **evidence,
            )
        ours = merkle.root(size, self.store.read_node)
        if ours != on_chain:
            raise InconsistencyError(
                f"the chain holds another root for {self.origin} at size {size}",
                log_root=ours.hex(),
                **evidence,
            )
        anchor = self.chain.fetch_by_root(on_chain, self.origin)
        record = self.chain.fetch_anchor_tx(anchor.tx_hash, self.origin)
        self.anchors.add(record)
        log.info("recovered the receipt of %s at size %d", self.origin, size)
        return record


def refresh_certificate(
    data: bytes, *, store: LogStore, anchors: AnchorStore, log_key: NoteVerifier
) -> Refreshed:
    """Add to a certificate of this log a receipt for each chain and contract whose stored
    anchors cover it and that it does not cite yet. NotFound if no anchor covers it."""
    cert = Certificate.from_json(data)
    if (cert.log.name, cert.log.public_key) != (log_key.name, log_key.public_key):
        raise ForeignLog(f"the certificate is from another log, {cert.log.name!r}", check="log")
    failed = verify_certificate(cert, trusted_log=log_key).first_failure()
    if failed is not None:
        raise VerificationError(f"{failed.name}: {failed.detail}", check=failed.name)
    checkpoint, _ = open_checkpoint(cert.checkpoint, log_key)
    _check_own_tree(store, checkpoint)
    cited = {(r.anchor.chain, r.anchor.contract) for r in cert.anchors}
    added = tuple(
        _receipt(store, record, checkpoint)
        for record in anchors.covering(log_key.name, checkpoint.size)
        if (record.anchor.chain, record.anchor.contract) not in cited
    )
    if not added and not cert.anchors:
        raise NotFound(
            f"no anchor covers tree size {checkpoint.size} yet",
            hint="Run `copyseal anchor` (or let `copyseal serve` anchor), then refresh again.",
        )
    return Refreshed(replace(cert, anchors=cert.anchors + added).to_json(), added)


def _check_own_tree(store: LogStore, checkpoint: Checkpoint) -> None:
    if checkpoint.size > store.tree_size():
        raise InvalidInput(f"the certificate's tree of size {checkpoint.size} is not in this store")
    ours = merkle.root(checkpoint.size, store.read_node)
    if ours != checkpoint.root_hash:
        raise InconsistencyError(
            f"the certificate's checkpoint contradicts this log at size {checkpoint.size}",
            checkpoint=checkpoint.to_text(),
            log_root=ours.hex(),
        )


def _receipt(store: LogStore, record: AnchoredCheckpoint, checkpoint: Checkpoint) -> AnchorReceipt:
    proof = merkle.consistency_proof(checkpoint.size, record.anchor.size, store.read_node)
    receipt = AnchorReceipt(record.anchor, tuple(proof))
    verify_anchor_offline(receipt, checkpoint)  # a stored receipt that lies fails here
    return receipt


# -- the background loop ---------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorSchedule:
    """When the loop anchors: ``interval_s`` after the last anchor or once ``every_entries``
    entries wait, whichever comes first, and only if an entry waits. Failures are retried
    after ``retry_initial_s``, doubling up to ``retry_max_s``."""

    interval_s: float = 600.0
    every_entries: int = 10_000
    retry_initial_s: float = 5.0
    retry_max_s: float = 600.0
    poll_s: float = 1.0

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> AnchorSchedule:
        """From the ``chain`` section of config.json (``anchor_interval_s``,
        ``anchor_every_entries``, ``retry_initial_s``, ``retry_max_s``)."""
        names = {
            "anchor_interval_s": "interval_s",
            "anchor_every_entries": "every_entries",
            "retry_initial_s": "retry_initial_s",
            "retry_max_s": "retry_max_s",
        }
        values: dict[str, Any] = {}
        for key, name in names.items():
            if key in section:
                value = section[key]
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise InvalidInput(f"config.json: chain.{key} must be a positive number")
                values[name] = int(value) if name == "every_entries" else float(value)
        return cls(**values)


@dataclass(frozen=True)
class LoopStatus:
    last_anchor: AnchoredCheckpoint | None
    failures: int
    last_error: str | None


class AnchorLoop:
    """Anchors in the background: ``start()`` once, ``stop()`` at shutdown. ``notify()``
    asks for an early look (after a batch of registrations, say). :meth:`tick` is one step
    of the loop, returning the seconds until the next; tests drive it with a fake clock."""

    def __init__(
        self,
        anchorer: Anchorer,
        schedule: AnchorSchedule,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.anchorer = anchorer
        self.schedule = schedule
        self._monotonic = monotonic
        self._last = monotonic()
        self._retry_at = 0.0
        self._failures = 0
        self._last_error: str | None = None
        self._last_anchor: AnchoredCheckpoint | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> LoopStatus:
        return LoopStatus(self._last_anchor, self._failures, self._last_error)

    def tick(self) -> float:
        now = self._monotonic()
        if now < self._retry_at:
            return self._retry_at - now
        s = self.schedule
        try:
            pending = self.anchorer.pending()
            if pending == 0:
                return s.poll_s
            if pending < s.every_entries and now - self._last < s.interval_s:
                return min(s.poll_s, self._last + s.interval_s - now)
            self._last_anchor = self.anchorer.anchor_latest().record
        except Exception as exc:  # a background thread must survive anything, and say so
            self._failures += 1
            self._last_error = f"{type(exc).__name__}: {exc}"
            delay = min(s.retry_initial_s * 2.0 ** (self._failures - 1), s.retry_max_s)
            self._retry_at = now + delay
            log.warning("anchoring failed (%s); retrying in %.1f s", self._last_error, delay)
            return delay
        self._last, self._failures, self._last_error = now, 0, None
        return s.poll_s

    def start(self) -> None:
        if self._thread is not None:
            raise InvalidInput("the anchoring loop is already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="copyseal-anchoring", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop after the current step; an anchor in flight finishes (or times out) first."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            delay = self.tick()
            self._wake.wait(delay)
            self._wake.clear()
