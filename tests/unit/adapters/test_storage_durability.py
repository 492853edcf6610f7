"""What "an acknowledged registration survives power loss" rests on in SQLite: the log's
writer commits in WAL mode with ``synchronous=FULL`` (each commit is synced before it
returns), while the folds, rebuilt from the log, commit with ``synchronous=NORMAL``.

A power cut itself is not simulated here; ``tests/e2e/test_crash.py`` and ``bench.soak`` kill
processes mid-commit. These pin the settings that carry the promise past a kill to the disk.
"""

from __future__ import annotations

from pathlib import Path

from copyseal.adapters.home import Home

FULL, NORMAL = 2, 1  # PRAGMA synchronous values


def test_the_log_commits_synced_and_the_folds_do_not_wait_for_the_disk(home: Home) -> None:
    stores = home.open_stores()
    try:
        with stores.log.sequencer() as writer:
            conn = writer.conn
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == FULL
        folds = stores.similarity._tx.conn
        assert folds.execute("PRAGMA synchronous").fetchone()[0] == NORMAL
        assert Path(home.path / "copyseal.db-wal").exists()
    finally:
        stores.close()
