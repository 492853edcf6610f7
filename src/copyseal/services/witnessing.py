"""Collecting witness cosignatures on the log's checkpoints (the log's side of tlog-witness).

For each configured witness, the cosigner sends the latest signed checkpoint with a
consistency proof from the size that witness last cosigned. A witness that knows a later
or different size answers with a conflict naming it; the cosigner then proves consistency
from that size and asks once more. The cosignature lines are appended to the stored
checkpoint (never changing its signed text), so every certificate issued for it from then
on carries them, and ``copyseal verify --witness VKEY --quorum K`` can require them.

A witness that is down or refuses is reported, and never blocks registration.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from copyseal.core import merkle
from copyseal.core.note import Note, NoteSignature, NoteVerifier, signers_of
from copyseal.domain.log import LogStore
from copyseal.errors import ConflictError, CopysealError, MalformedDocument, NotFound

log = logging.getLogger("copyseal.witnessing")

RequestCosignature = Callable[..., list[NoteSignature]]


@dataclass(frozen=True)
class WitnessConfig:
    url: str
    key: NoteVerifier

    @classmethod
    def from_config(cls, entry: Any) -> WitnessConfig:
        if not isinstance(entry, dict) or set(entry) != {"url", "vkey"}:
            raise MalformedDocument('config.json: each witness is {"url": …, "vkey": …}')
        return cls(str(entry["url"]), NoteVerifier.from_vkey(str(entry["vkey"])))


@dataclass
class CosignReport:
    size: int
    cosigned_by: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def configured_witnesses(config: dict[str, Any]) -> list[WitnessConfig]:
    """The ``witnesses`` list of a home's config.json."""
    entries = config.get("witnesses", [])
    if not isinstance(entries, list):
        raise MalformedDocument("config.json: 'witnesses' must be a list")
    return [WitnessConfig.from_config(e) for e in entries]


class Cosigner:
    def __init__(
        self,
        *,
        store: LogStore,
        witnesses: Sequence[WitnessConfig],
        request: RequestCosignature,
    ) -> None:
        self.store = store
        self.witnesses = list(witnesses)
        self.request = request
        self._sizes: dict[str, int] = {}  # what each witness last cosigned, as far as we know

    def cosign_latest(self) -> CosignReport:
        latest = self.store.latest_checkpoint()
        if latest is None:
            raise NotFound("the log has no checkpoint to cosign yet")
        note = Note.from_text(latest.note)
        report = CosignReport(latest.size)
        already = {v.name for v in signers_of(note, [w.key for w in self.witnesses])}
        lines: list[NoteSignature] = []
        for witness in self.witnesses:
            name = witness.key.name
            if name in already:
                report.cosigned_by.append(name)
                continue
            try:
                lines += self._ask(witness, latest.size, latest.note)
                report.cosigned_by.append(name)
            except CopysealError as exc:
                log.warning("witness %s did not cosign size %d: %s", name, latest.size, exc)
                report.failed[name] = exc.message
        if lines:
            self.store.add_cosignatures(latest.size, note.with_signatures(lines).to_text())
        return report

    def _ask(self, witness: WitnessConfig, size: int, signed: str) -> list[NoteSignature]:
        old = min(self._sizes.get(witness.url, 0), size)
        for _ in range(2):
            proof = merkle.consistency_proof(old, size, self.store.read_node) if old else []
            try:
                found = self.request(witness.url, old, proof, signed, witness=witness.key)
            except ConflictError as exc:
                latest = exc.details.get("latest_size")
                if not isinstance(latest, int) or latest > size or latest == old:
                    raise
                old = latest  # the witness has seen another size: prove from there
                continue
            self._sizes[witness.url] = size
            return found
        raise ConflictError(f"witness {witness.key.name} keeps answering with another size")


class CosignLoop:
    """Asks the witnesses to cosign the latest checkpoint every ``interval_s`` seconds,
    when it has changed."""

    def __init__(self, cosigner: Cosigner, *, interval_s: float = 10.0) -> None:
        self.cosigner = cosigner
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_size = -1

    def tick(self) -> None:
        latest = self.cosigner.store.latest_checkpoint()
        if latest is None or latest.size == self._last_size:
            return
        report = self.cosigner.cosign_latest()
        if not report.failed:
            self._last_size = report.size

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except CopysealError as exc:
                log.warning("cosigning failed: %s", exc)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="copyseal-cosign", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
