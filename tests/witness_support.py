"""Helpers for the witness tests: a log in memory that signs checkpoints, and a store in memory.

The log is built the way the registry builds one, without storage: leaf hashes appended with
``merkle.append_nodes``, checkpoints ``Checkpoint(...).to_text()`` signed with
``note.sign_note``. Two logs with the same key and different leaves are a fork.
"""

from __future__ import annotations

import hashlib
import threading

from copyseal.core import merkle
from copyseal.core.note import ALG_COSIGNATURE_V1, Checkpoint, NoteSigner, sign_note
from copyseal.domain.witness import WitnessedCheckpoint

LOG_ORIGIN = "test.copyseal/witnessed-log"
LOG_SEED = hashlib.sha256(b"witnessed log").digest()
WITNESS_NAME = "test.copyseal/witness"
WITNESS_SEED = hashlib.sha256(b"witness").digest()
NOW = 1_795_467_601


def witness_signer() -> NoteSigner:
    return NoteSigner(WITNESS_NAME, WITNESS_SEED, ALG_COSIGNATURE_V1)


class FakeLog:
    """A log in memory; ``branch`` changes its leaves, so equal branches agree leaf by leaf."""

    def __init__(
        self,
        *,
        origin: str = LOG_ORIGIN,
        seed: bytes = LOG_SEED,
        branch: str = "main",
        extensions: tuple[str, ...] = (),
    ) -> None:
        self.signer = NoteSigner(origin, seed)
        self.branch = branch
        self.extensions = extensions
        self.size = 0
        self.nodes: dict[tuple[int, int], bytes] = {}

    @property
    def vkey(self) -> str:
        return self.signer.verifier.to_vkey()

    def read(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def grow(self, to_size: int, *, branch: str | None = None) -> FakeLog:
        """Append leaves up to ``to_size``; a ``branch`` applies to these leaves only."""
        label = self.branch if branch is None else branch
        hashes = [merkle.leaf_hash(f"{label}:{i}".encode()) for i in range(self.size, to_size)]
        self.size, new = merkle.append_nodes(self.size, self.read, hashes)
        self.nodes.update(new)
        return self

    def root(self, size: int | None = None) -> bytes:
        return merkle.root(self.size if size is None else size, self.read)

    def body(self, size: int | None = None) -> str:
        n = self.size if size is None else size
        return Checkpoint(self.signer.name, n, self.root(n), self.extensions).to_text()

    def checkpoint(self, size: int | None = None) -> str:
        """The signed checkpoint (a C2SP signed note) at ``size``, default the current one."""
        return sign_note(self.body(size), [self.signer]).to_text()

    def proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new = self.size if new_size is None else new_size
        return merkle.consistency_proof(old_size, new, self.read)


class MemoryWitnessStore:
    """A WitnessStore in a dict; it passes the same contract suite as the SQLite store."""

    def __init__(self) -> None:
        self.records: dict[str, WitnessedCheckpoint] = {}
        self._lock = threading.Lock()

    def latest(self, origin: str) -> WitnessedCheckpoint | None:
        return self.records.get(origin)

    def compare_and_swap(
        self, expected: WitnessedCheckpoint | None, new: WitnessedCheckpoint
    ) -> bool:
        with self._lock:
            current = self.records.get(new.origin)
            if (current is None) != (expected is None):
                return False
            if current is not None and expected is not None:
                same = (current.size, current.root_hash) == (expected.size, expected.root_hash)
                if not same:
                    return False
            self.records[new.origin] = new
            return True

    def close(self) -> None:
        pass
