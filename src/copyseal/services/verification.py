"""Verifying certificates and signed notes, offline."""

from __future__ import annotations

from collections.abc import Sequence

from copyseal.core.certificate import Certificate, VerificationReport, verify_certificate
from copyseal.core.note import Checkpoint, Note, NoteVerifier, verify_note
from copyseal.errors import MalformedDocument, VerificationError


def check_certificate(
    data: bytes,
    *,
    trusted_log: NoteVerifier | None = None,
    content: bytes | None = None,
    verified_notes: dict[tuple[str, str], Checkpoint] | None = None,
) -> VerificationReport:
    """Decode a certificate and run every check against ``trusted_log``; raises only if it
    cannot be decoded, comes from another log (ForeignLog), or no log key is given
    (UntrustedLog: see ``copyseal.services.trust.verify_trusted`` for trust roots)."""
    cert = Certificate.from_json(data)
    return verify_certificate(
        cert, trusted_log=trusted_log, content=content, verified_notes=verified_notes
    )


def require_ok(report: VerificationReport) -> None:
    failed = report.first_failure()
    if failed is not None:
        raise VerificationError(f"{failed.name}: {failed.detail}", check=failed.name)


def check_signed_note(
    data: bytes, vkeys: Sequence[str]
) -> tuple[Note, list[NoteVerifier], Checkpoint | None]:
    """Verify any C2SP signed note (ours or another log's) with the given verifier keys.

    Returns the note, the keys whose signatures verified, and the checkpoint when the note's
    text is one.
    """
    verifiers = [NoteVerifier.from_vkey(v) for v in vkeys]
    note = Note.from_text(data)
    verified = verify_note(note, verifiers)
    try:
        checkpoint: Checkpoint | None = Checkpoint.from_text(note.text)
    except MalformedDocument:
        checkpoint = None
    return note, verified, checkpoint
