"""The witness use-case: cosign a log's checkpoint only if it extends what this witness saw.

A witness (C2SP tlog-witness) follows a set of logs, each known by its origin and trusted
Ed25519 key(s). For each it remembers the latest checkpoint it cosigned. A new checkpoint is
cosigned (C2SP tlog-cosignature/v1, key type 0x04) only after its log signature verifies and
a consistency proof shows that it extends the remembered one, so a log that shows two
different histories to two audiences cannot get both cosigned by the same witness.

The checks run in the order the protocol states them, and each failure is an error of the
one tree whose HTTP status is the protocol's:

====================================  ==============================  ======
unknown origin                        NotFound                         404
no valid signature by the log's key   Forbidden                        403
old size > checkpoint size            InvalidInput                     400
old size ≠ the witness's latest size  ConflictError (``latest_size``)  409
same size, different root (a fork)    InconsistencyError (evidence)    409
consistency proof does not verify     VerificationError                422
====================================  ==============================  ======

Pure of I/O except through :class:`~copyseal.domain.witness.WitnessStore`; the time a
cosignature carries is an argument. This module must never cosign a checkpoint before the
record it extends has been atomically replaced by it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from copyseal.core.merkle import EMPTY_ROOT, verify_consistency
from copyseal.core.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Checkpoint,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    verify_note,
)
from copyseal.domain.witness import MAX_PROOF_LINES, WitnessedCheckpoint, WitnessStore
from copyseal.errors import (
    ConflictError,
    Forbidden,
    InconsistencyError,
    InvalidInput,
    NotFound,
    VerificationError,
)

MAX_TIMESTAMP = (1 << 63) - 1  # tlog-cosignature: a timestamp must not exceed 2^63 - 1


class Witness:
    """Cosign checkpoints of the trusted ``logs`` (origin → its log keys) with ``signer``."""

    def __init__(
        self,
        *,
        store: WitnessStore,
        signer: NoteSigner,
        logs: Mapping[str, Sequence[NoteVerifier]],
    ) -> None:
        if signer.alg != ALG_COSIGNATURE_V1:
            raise InvalidInput("a witness signs with a cosignature (type 0x04) key")
        for origin, keys in logs.items():
            if not keys or any(k.alg != ALG_ED25519 for k in keys):
                raise InvalidInput(f"log {origin!r} needs Ed25519 (type 0x01) verifier keys")
        self.store = store
        self.signer = signer
        self.logs = {origin: tuple(keys) for origin, keys in logs.items()}

    @property
    def verifier(self) -> NoteVerifier:
        """The witness's public key, the one clients list to count its cosignatures."""
        return self.signer.verifier

    def latest(self, origin: str) -> WitnessedCheckpoint | None:
        return self.store.latest(origin)

    def add_checkpoint(
        self,
        old_size: int,
        proof: Sequence[bytes],
        signed_checkpoint: bytes | str,
        *,
        now: int,
    ) -> list[NoteSignature]:
        """Verify, remember and cosign ``signed_checkpoint``; return the cosignature lines.

        ``old_size`` is the size the log believes this witness last cosigned, ``proof`` a
        consistency proof from that size to the checkpoint's, ``now`` the cosignature's
        time in seconds since the epoch.
        """
        if not 0 <= now <= MAX_TIMESTAMP:
            raise InvalidInput("a cosignature timestamp is between 0 and 2^63 - 1")
        if len(proof) > MAX_PROOF_LINES:
            raise InvalidInput(f"a consistency proof has at most {MAX_PROOF_LINES} hashes")
        checkpoint, note = self._open(signed_checkpoint)
        if old_size < 0 or old_size > checkpoint.size:
            raise InvalidInput(f"old size {old_size} exceeds the checkpoint's {checkpoint.size}")
        latest = self.store.latest(checkpoint.origin)
        self._check_extends(latest, old_size, proof, checkpoint, note)
        record = WitnessedCheckpoint(
            checkpoint.origin, checkpoint.size, checkpoint.root_hash, note.to_text()
        )
        unchanged = latest is not None and _same_tree(latest, record)
        if not unchanged and not self.store.compare_and_swap(latest, record):
            # Another submission moved the record between our read and our write.
            raise self._stale(checkpoint.origin, self.store.latest(checkpoint.origin))
        return [self.signer.cosign_line(note.text, now)]

    def _open(self, signed_checkpoint: bytes | str) -> tuple[Checkpoint, Note]:
        note = Note.from_text(signed_checkpoint)
        checkpoint = Checkpoint.from_text(note.text)
        keys = self.logs.get(checkpoint.origin)
        if keys is None:
            raise NotFound(
                f"this witness does not follow the log {checkpoint.origin!r}",
                hint="Its operator adds a log with `copyseal witness add-log --vkey VKEY`.",
                origin=checkpoint.origin,
            )
        try:
            verify_note(note, keys)
        except VerificationError as exc:
            raise Forbidden(
                f"checkpoint is not signed by a trusted key of {checkpoint.origin!r}: "
                f"{exc.message}",
                hint="Sign the checkpoint with the log key this witness was given.",
                origin=checkpoint.origin,
            ) from exc
        return checkpoint, note

    def _check_extends(
        self,
        latest: WitnessedCheckpoint | None,
        old_size: int,
        proof: Sequence[bytes],
        checkpoint: Checkpoint,
        note: Note,
    ) -> None:
        latest_size = 0 if latest is None else latest.size
        if old_size != latest_size:
            raise self._stale(checkpoint.origin, latest)
        if (
            latest is not None
            and latest.size == checkpoint.size
            and latest.root_hash != checkpoint.root_hash
        ):
            raise _fork(latest, checkpoint, note)
        old_root = EMPTY_ROOT if latest is None else latest.root_hash
        try:
            verify_consistency(old_size, checkpoint.size, old_root, checkpoint.root_hash, proof)
        except VerificationError as exc:
            raise VerificationError(
                f"consistency proof from size {old_size} to {checkpoint.size} "
                f"of {checkpoint.origin!r} does not verify: {exc.message}",
                check="consistency",
                hint="Send RFC 9162 PROOF(old size, checkpoint size); empty from size 0.",
                origin=checkpoint.origin,
                witnessed_checkpoint=None if latest is None else latest.note,
                submitted_checkpoint=note.to_text(),
            ) from exc

    @staticmethod
    def _stale(origin: str, latest: WitnessedCheckpoint | None) -> ConflictError:
        size = 0 if latest is None else latest.size
        return ConflictError(
            f"this witness last cosigned {origin!r} at size {size}",
            hint=f"Send a consistency proof from size {size} with old size {size}.",
            origin=origin,
            latest_size=size,
        )


def _same_tree(a: WitnessedCheckpoint, b: WitnessedCheckpoint) -> bool:
    return a.size == b.size and a.root_hash == b.root_hash


def _fork(latest: WitnessedCheckpoint, checkpoint: Checkpoint, note: Note) -> InconsistencyError:
    """Two checkpoints the log signed for one size with different roots: proof of a fork."""
    return InconsistencyError(
        f"{checkpoint.origin!r} signed two different trees of size {checkpoint.size}",
        hint=(
            "Keep both signed checkpoints: anyone with the log's key can check that it signed "
            "both. Stop trusting the log and report them to its operator and its users."
        ),
        origin=checkpoint.origin,
        size=checkpoint.size,
        witnessed_checkpoint=latest.note,
        submitted_checkpoint=note.to_text(),
        proof=[],
    )
