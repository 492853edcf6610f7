"""The audit: recompute the whole log from its leaves and check every checkpoint ever issued.

Streams level by level, so memory stays flat however large the log. The report names the
first tampered entry, tree node or checkpoint, which is where an investigation starts.

An entry whose kind or body version this copyseal does not know is no problem: its envelope
and signature are checked like any other's, and the report counts it as not understood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from copyseal.core import merkle
from copyseal.core.claims import parse_leaf
from copyseal.core.encoding import parse_canonical_json
from copyseal.core.kinds import read
from copyseal.core.note import Checkpoint, Note, NoteVerifier, verify_note
from copyseal.domain.log import LogStore
from copyseal.errors import CopysealError

BATCH = 10_000


MAX_LISTED = 100


@dataclass
class AuditReport:
    entries: int = 0
    nodes: int = 0
    checkpoints: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    not_understood: int = 0
    unknown: list[dict[str, Any]] = field(default_factory=list)
    """The first entries not understood: index and why (a kind or version unknown here)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, where: int | str, detail: str) -> None:
        self.problems.append({"kind": kind, "where": where, "detail": detail})

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "nodes": self.nodes,
            "checkpoints": self.checkpoints,
            "first_problem": self.problems[0] if self.problems else None,
            "problems": self.problems[:MAX_LISTED],
            "not_understood": self.not_understood,
            "not_understood_entries": self.unknown,
        }


def audit_log(
    store: LogStore,
    log: NoteVerifier,
    *,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    report = AuditReport()
    size = store.tree_size()
    _audit_entries(store, size, report, progress)
    _audit_nodes(store, size, report)
    _audit_checkpoints(store, log, size, report)
    return report


def _audit_entries(
    store: LogStore, size: int, report: AuditReport, progress: Callable[[int], None] | None
) -> None:
    leaves = store.nodes(0)
    for start in range(0, size, BATCH):
        for entry in store.entries(start, min(size, start + BATCH)):
            if entry.index != report.entries:
                report.add("entry", report.entries, "entry is missing")
                report.entries = entry.index
            stored = next(leaves, None)
            try:
                claim, _ = parse_leaf(parse_canonical_json(entry.leaf))
                claim.verify()
                reading = read(claim)
                if not reading.understood:
                    report.not_understood += 1
                    if len(report.unknown) < MAX_LISTED:
                        report.unknown.append({"index": entry.index, "reason": reading.problem})
            except CopysealError as exc:
                report.add("entry", entry.index, f"leaf does not hold a valid claim: {exc}")
            recomputed = merkle.leaf_hash(entry.leaf)
            if recomputed != entry.leaf_hash:
                report.add("entry", entry.index, "stored leaf hash does not match the leaf")
            if stored is None or stored != (entry.index, recomputed):
                report.add("node", f"0/{entry.index}", "tree leaf does not match the entry")
            report.entries += 1
        if progress is not None:
            progress(report.entries)


def _audit_nodes(store: LogStore, size: int, report: AuditReport) -> None:
    level, width = 0, size
    while width > 1:
        below = store.nodes(level)
        above = store.nodes(level + 1)
        for i in range(width // 2):
            left, right, stored = next(below, None), next(below, None), next(above, None)
            if left is None or right is None or stored is None:
                report.add("node", f"{level + 1}/{i}", "tree node is missing")
                return
            if stored != (i, merkle.node_hash(left[1], right[1])):
                report.add("node", f"{level + 1}/{i}", "stored node hash does not match")
            report.nodes += 1
        level, width = level + 1, width // 2


def _audit_checkpoints(store: LogStore, log: NoteVerifier, size: int, report: AuditReport) -> None:
    read = store.read_node
    try:
        today = merkle.root(size, read)
    except CopysealError as exc:
        report.add("checkpoint", size, f"today's root cannot be computed: {exc}")
        return
    for stored in store.checkpoints():
        report.checkpoints += 1
        try:
            note = Note.from_text(stored.note)
            verify_note(note, [log])
            checkpoint = Checkpoint.from_text(note.text)
            if checkpoint.size != stored.size or checkpoint.origin != log.name:
                raise ValueError("checkpoint names another size or origin than its record")
            if checkpoint.size > size:
                raise ValueError(f"checkpoint size {checkpoint.size} exceeds the tree ({size})")
            proof = merkle.consistency_proof(checkpoint.size, size, read)
            merkle.verify_consistency(checkpoint.size, size, checkpoint.root_hash, today, proof)
        except (CopysealError, ValueError) as exc:
            report.add("checkpoint", stored.size, f"checkpoint fails: {exc}")
