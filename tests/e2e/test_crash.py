"""Kill -9 in the middle of registrations: nothing acknowledged is lost, the log audits clean."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from copyseal.adapters.home import Home
from copyseal.core.certificate import verify_certificate
from copyseal.services.assembly import assemble
from copyseal.services.audit import audit_log
from tests.support import FakeClock

CHILD = Path(__file__).with_name("crash_child.py")


@pytest.mark.parametrize("round_", range(3))
def test_sigkill_loses_no_acknowledged_registration(home: Home, round_: int) -> None:
    acked: dict[str, str] = {}
    for _ in range(2):  # kill, restart on the same store, kill again
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(home.path)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert proc.stdout is not None
        target = len(acked) + 150 + 50 * round_
        while len(acked) < target:
            line = proc.stdout.readline()
            assert line, "the registrar died on its own"
            _, work_id, sha = line.split()
            acked[work_id] = sha
        proc.send_signal(signal.SIGKILL)
        # Lines already written before the kill were acknowledged too.
        for line in proc.stdout:
            if line.startswith("ACK ") and len(line.split()) == 3:
                _, work_id, sha = line.split()
                acked[work_id] = sha
        proc.wait()
        assert proc.returncode == -signal.SIGKILL

    stores = home.open_stores()
    node = assemble(stores, log_signer=home.log_signer, clock=FakeClock())
    store, registry = stores.log, node.registry
    try:
        for work_id, sha in acked.items():
            assert registry.work(work_id)["content"]["sha256"] == sha
        report = audit_log(store, home.log_signer.verifier)
        assert report.ok, report.problems[:3]
        # The folds follow the log: a kill leaves them behind at most, never ahead of it or
        # wrong, and once caught up the index is exactly what a rebuild from the log makes.
        assert stores.similarity.through() <= store.tree_size()
        node.follower.catch_up()
        before = _index_rows(home)
        assert before, "the registered texts were indexed"
        node.follower.rebuild()
        assert _index_rows(home) == before
        size = store.tree_size()
        assert size >= len(acked)
        latest = store.latest_checkpoint()
        assert latest is not None and latest.size == size
        # The log goes on from where it stopped.
        some = registry.certificate(next(iter(acked)))
        assert verify_certificate(some, trusted_log=home.log_signer.verifier).ok
    finally:
        node.close()
        stores.close()


def _index_rows(home: Home) -> set[tuple[int, int]]:
    with sqlite3.connect(home.path / "copyseal.db") as db:
        # The index is two tables: the write buffer and the main one.
        rows = db.execute(
            "SELECT key, entry FROM fp_keys UNION ALL SELECT key, entry FROM fp_recent"
        )
        found = [(k, e) for k, e in rows]
    assert len(found) == len(set(found)), "an index row is in both tables"
    return set(found)
