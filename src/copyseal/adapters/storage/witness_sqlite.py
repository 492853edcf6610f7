"""A witness's state on disk: its home directory, its key, and its SQLite store.

Layout of a witness home (its own directory, or beside a log home: no name is shared)::

    witness.key   the cosigning key, Go note format with type 0x04, mode 0600
    witness.db    SQLite (WAL, synchronous=FULL): the latest cosigned checkpoint of each
                  log, and the trusted log keys

The store is a :class:`copyseal.domain.witness.WitnessStore`. Its compare-and-swap is one
conditional ``UPDATE`` (or ``INSERT ... ON CONFLICT DO NOTHING``), atomic across threads and
processes sharing the file, and synced before it returns: a cosignature is only handed out
for a checkpoint that survives a crash.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from copyseal.adapters.keystore import write_private_file
from copyseal.adapters.storage.sqlite_common import connect, translate
from copyseal.core.note import ALG_COSIGNATURE_V1, ALG_ED25519, NoteSigner, NoteVerifier
from copyseal.domain.witness import WitnessedCheckpoint
from copyseal.errors import (
    ConflictError,
    CopysealError,
    InvalidInput,
    MalformedDocument,
    NotFound,
)

HOME_ENV = "COPYSEAL_WITNESS_HOME"  # names the home for the CLI and for the server's factory
KEY_FILE = "witness.key"
DB_FILE = "witness.db"
SCHEMA_VERSION = "1"

# Sizes are uint64 and SQLite integers are int64, so sizes are stored as canonical decimal
# text; the store only ever compares them for equality.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY,
    size TEXT NOT NULL,
    root_hash BLOB NOT NULL,
    note TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT NOT NULL,
    vkey TEXT NOT NULL,
    PRIMARY KEY (origin, vkey)
) WITHOUT ROWID;
"""


def _translate(exc: sqlite3.Error) -> CopysealError:
    return translate(exc, "witness store")


class SqliteWitnessStore:
    """The witness's records on one SQLite file, shared safely by threads and processes."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = connect(
            self.path, what="witness store", timeout=busy_timeout_s, schema=_SCHEMA
        )
        try:
            self._conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
            )
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._conn.execute(sql, args)
            except sqlite3.Error as exc:
                raise _translate(exc) from exc

    # -- WitnessStore ---------------------------------------------------------------------

    def latest(self, origin: str) -> WitnessedCheckpoint | None:
        row = self._run(
            "SELECT size, root_hash, note FROM latest WHERE origin = ?", (origin,)
        ).fetchone()
        if row is None:
            return None
        return WitnessedCheckpoint(origin, int(row[0]), bytes(row[1]), str(row[2]))

    def compare_and_swap(
        self, expected: WitnessedCheckpoint | None, new: WitnessedCheckpoint
    ) -> bool:
        if expected is not None and expected.origin != new.origin:
            raise ValueError("compare_and_swap across two origins")
        values = (str(new.size), new.root_hash, new.note, new.origin)
        if expected is None:
            cursor = self._run(
                "INSERT INTO latest (size, root_hash, note, origin) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (origin) DO NOTHING",
                values,
            )
        else:
            cursor = self._run(
                "UPDATE latest SET size = ?, root_hash = ?, note = ?"
                " WHERE origin = ? AND size = ? AND root_hash = ?",
                (*values, str(expected.size), expected.root_hash),
            )
        return cursor.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- trusted logs (configuration, read when a witness starts) ---------------------------

    def add_log(self, origin: str, key: NoteVerifier) -> bool:
        """Trust ``key`` for checkpoints of ``origin``; False if it already was."""
        if key.alg != ALG_ED25519:
            raise InvalidInput("a log's verifier key is an Ed25519 (type 0x01) key")
        if not origin or origin != origin.strip() or "\n" in origin:
            raise InvalidInput(f"origin {origin!r} is not a checkpoint origin line")
        cursor = self._run(
            "INSERT INTO logs (origin, vkey) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (origin, key.to_vkey()),
        )
        return cursor.rowcount == 1

    def trusted_logs(self) -> dict[str, list[NoteVerifier]]:
        """Every followed origin and the keys trusted for it."""
        logs: dict[str, list[NoteVerifier]] = {}
        for origin, vkey in self._run("SELECT origin, vkey FROM logs ORDER BY origin, vkey"):
            logs.setdefault(str(origin), []).append(NoteVerifier.from_vkey(str(vkey)))
        return logs


@dataclass(frozen=True)
class WitnessHome:
    """A witness's directory: its cosigning key and its store."""

    path: Path
    signer: NoteSigner

    @property
    def db_path(self) -> Path:
        return self.path / DB_FILE

    def open_store(self) -> SqliteWitnessStore:
        return SqliteWitnessStore(self.db_path)

    @classmethod
    def init(cls, path: Path, *, name: str, seed: bytes) -> WitnessHome:
        """Create the home with a new cosigning key from ``seed`` (32 random bytes)."""
        signer = NoteSigner(name, seed, ALG_COSIGNATURE_V1)
        if (path / KEY_FILE).exists():
            raise ConflictError(f"{path} already holds a witness key")
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInput(f"cannot create {path}: {exc.strerror}") from exc
        SqliteWitnessStore(path / DB_FILE).close()
        # The key last: its presence marks a complete home, and it is never overwritten.
        write_private_file(path / KEY_FILE, signer.to_skey().encode() + b"\n")
        return cls(path, signer)

    @classmethod
    def open(cls, path: Path) -> WitnessHome:
        key_path = path / KEY_FILE
        if not key_path.exists():
            raise NotFound(
                f"{path} is not a witness home",
                hint=f"Create it with `copyseal witness init --home {path} --name NAME`.",
            )
        try:
            signer = NoteSigner.from_skey(key_path.read_text())
        except OSError as exc:
            raise MalformedDocument(f"cannot read {key_path}: {exc.strerror}") from exc
        if signer.alg != ALG_COSIGNATURE_V1:
            raise MalformedDocument(f"{key_path} is not a cosignature (type 0x04) key")
        return cls(path, signer)
