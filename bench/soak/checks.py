"""What the soak holds the home to once the server has stopped.

- **Lost**: every acknowledged work is in the log at its certificate's index, with the
  certificate's leaf (hash and work ID), for the claim that was sent (self-custody: its
  signer and nonce; custodial: its text's hash), and the certificate verifies against the
  log's key.
- **Duplicated**: no claim was logged twice: no signer used one nonce at two indices, no
  signer logged the same content at two indices (all the soak's texts differ, so any such
  pair is one work logged twice), and no claim was acknowledged as two different works.
- **Audit**: ``copyseal audit`` on the home exits 0 and reports it clean.
- **Folds**: no fold is ahead of the log; each catches up, and what they hold then is
  exactly what a rebuild from the log makes (similarity index, lineage, ownership,
  catalogue, read row by row from the store's file).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.soak.load import Ack
from copyseal.adapters.home import Home
from copyseal.core.certificate import Certificate, verify_certificate
from copyseal.core.note import Checkpoint, NoteVerifier
from copyseal.domain.log import Entry, LogStore
from copyseal.services.assembly import follower_for
from copyseal.services.folds import Follower

PAGE = 2000
FOLD_TABLES = {
    "similarity": "SELECT key, entry FROM fp_keys UNION ALL SELECT key, entry FROM fp_recent",
    "lineage": "SELECT * FROM links",
    "ownership": "SELECT * FROM owners",
    "catalog": "SELECT * FROM catalog",
}


@dataclass
class Findings:
    entries: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    audit_ok: bool = False
    audit: str = ""
    behind: dict[str, int] = field(default_factory=dict)  # entries each fold had not read
    folds: list[str] = field(default_factory=list)  # how the folds differ from a rebuild

    @property
    def ok(self) -> bool:
        return not self.lost and not self.duplicated and self.audit_ok and not self.folds


def check_home(path: Path, acks: Iterable[Ack], conflicting: list[str]) -> Findings:
    home = Home.open(path)
    found = Findings()
    stores = home.open_stores()
    auditing = None
    try:
        follower = follower_for(stores)
        found.entries = stores.log.tree_size()
        found.behind = {n: found.entries - f.store.through() for n, f in follower.folds.items()}
        auditing = start_audit(path)  # in a process of its own, while this one checks the rest
        found.lost = find_lost(stores.log, home.log_signer.verifier, acks)
        found.duplicated = find_duplicates(stores.log) + conflicting
        found.folds = compare_folds(follower, found.behind, path / "copyseal.db")
    finally:
        stores.close()
        if auditing is not None:
            found.audit_ok, found.audit = audit_result(auditing)
    return found


def find_lost(log: LogStore, verifier: NoteVerifier, acks: Iterable[Ack]) -> list[str]:
    lost = []
    notes: dict[tuple[str, str], Checkpoint] = {}  # each checkpoint's signature checked once
    for ack in acks:
        cert = Certificate.from_dict(ack.certificate)
        entry = log.entry(cert.index)
        problem = _mismatch(ack, cert, entry)
        if problem is None:
            result = verify_certificate(cert, trusted_log=verifier, verified_notes=notes)
            failure = result.first_failure()
            problem = None if failure is None else f"{failure.name}: {failure.detail}"
        if problem is not None:
            lost.append(f"{ack.work_id} (index {cert.index}): {problem}")
    return lost


def _mismatch(ack: Ack, cert: Certificate, entry: Entry | None) -> str | None:
    work = ack.work
    if entry is None:
        return "no entry at the certificate's index"
    if entry.leaf_hash != cert.leaf_hash or entry.work_id != ack.work_id:
        return f"the log holds another leaf there ({entry.work_id})"
    if entry.content_sha256 != work.sha256:
        return "the logged claim is for other content"
    if work.signer is not None and (entry.signer, entry.nonce) != (work.signer, work.nonce):
        return "the logged claim is another claim for the same content"
    return None


def find_duplicates(log: LogStore) -> list[str]:
    by_nonce: dict[tuple[str, str], int] = {}
    by_content: dict[tuple[str, str], int] = {}
    found = []
    size = log.tree_size()
    for start in range(0, size, PAGE):
        for entry in log.entries(start, min(size, start + PAGE)):
            nonce = (entry.signer, entry.nonce)
            if nonce in by_nonce:
                found.append(f"nonce {nonce} at {by_nonce[nonce]} and {entry.index}")
            by_nonce.setdefault(nonce, entry.index)
            if entry.content_sha256 is None:
                continue
            content = (entry.signer, entry.content_sha256)
            if content in by_content:
                found.append(f"content {content} at {by_content[content]} and {entry.index}")
            by_content.setdefault(content, entry.index)
    return found


def compare_folds(follower: Follower, behind: dict[str, int], db: Path) -> list[str]:
    """How the folds, caught up, differ from a rebuild (and any that was ahead of the log)."""
    problems = [f"{name} is ahead of the log by {-n}" for name, n in behind.items() if n < 0]
    size = follower.catch_up()
    caught_up = _fold_rows(db)
    follower.rebuild()
    rebuilt = _fold_rows(db)
    for name, rows in caught_up.items():
        if rows != rebuilt[name]:
            extra, missing = len(rows - rebuilt[name]), len(rebuilt[name] - rows)
            problems.append(f"{name}: {extra} rows a rebuild does not make, {missing} missing")
    if not caught_up["similarity"] and size:
        problems.append("similarity: nothing was indexed")
    return problems


def _fold_rows(db: Path) -> dict[str, set[tuple[Any, ...]]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = {name: list(conn.execute(query)) for name, query in FOLD_TABLES.items()}
    conn.close()
    index = rows["similarity"]
    out = {name: set(found) for name, found in rows.items()}
    if len(index) != len(out["similarity"]):  # a row in the buffer and the main table both
        out["similarity"].add(("duplicated row",))
    return out


def start_audit(path: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", "from copyseal.cli.main import main; main()"]
    return subprocess.Popen(
        [*command, "audit", "--home", str(path), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def audit_result(proc: subprocess.Popen[str]) -> tuple[bool, str]:
    """Whether ``copyseal audit`` found the log clean, and what it said."""
    out, err = proc.communicate(timeout=600)
    try:
        report = json.loads(out)
    except json.JSONDecodeError:
        return False, f"exit {proc.returncode}: {err.strip()[-500:]}"
    if proc.returncode != 0 or not report.get("ok"):
        return False, f"exit {proc.returncode}: {report.get('first_problem') or report}"
    return True, f"clean: {report['entries']} entries, {report['checkpoints']} checkpoints"
