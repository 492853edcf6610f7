"""The registration certificate: one self-contained JSON document, verifiable offline.

Schema, version 1 (written in RFC 8785 canonical form, followed by one newline)::

    {"format": "copyseal/certificate", "version": 1,
     "work_id": "000042-7KQ2",
     "log": {"origin": "<checkpoint origin>", "vkey": "<C2SP verifier key>"},
     "entry": {"index": 42, "leaf_hash": "<hex>", "leaf": {"claim": {…}, "logged_at": "…"}},
     "inclusion": {"tree_size": 43, "proof": ["<hex>", …]},
     "checkpoint": "<C2SP signed checkpoint: body, blank line, signature lines>",
     "anchors": []}

A certificate is read from any JSON text of the same document: pretty-printed, its keys in
another order, ``\u00e9`` for ``é``. Reading parses it, re-encodes it with JCS and decodes
exactly those canonical bytes, so every check runs on the document as issued: nothing signed
or hashed is taken from the text as written (the leaf is hashed as JCS of its value, the
claim's signature is over JCS of its envelope, the checkpoint is a string), and every value
inside has a single spelling. Changing what the document says therefore fails verification;
changing only its layout changes nothing, and the report says the file was reformatted.
``verify_certificate`` runs every check it can and reports each one,
against a log key the verifier trusts (``core/trust.py``): never the certificate's own key,
which anyone can make, unless the caller asks for that by name.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from copyseal.core import merkle
from copyseal.core.anchor import AnchorReceipt, verify_anchor_offline
from copyseal.core.claims import Claim, parse_leaf
from copyseal.core.content import check_content
from copyseal.core.encoding import hex32, jcs, parse_canonical_json, parse_json
from copyseal.core.kinds import Reading, read
from copyseal.core.note import Checkpoint, Note, NoteVerifier, signers_of, verify_note
from copyseal.core.trust import foreign_log_error, untrusted_log_error
from copyseal.core.workid import compute_work_id
from copyseal.errors import (
    CopysealError,
    MalformedDocument,
    UnsupportedVersion,
    VerificationError,
)

FORMAT = "copyseal/certificate"
VERSION = 1
MAX_CERTIFICATE_BYTES = 1 << 20
MAX_PROOF_LENGTH = 64

MAX_ANCHORS = 16

CHECKS = (
    "log",
    "signature",
    "claim",
    "content",
    "leaf",
    "work_id",
    "inclusion",
    "checkpoint",
    "witnesses",
    "anchor",
)


@dataclass(frozen=True)
class Certificate:
    work_id: str
    log_vkey: str
    index: int
    leaf_hash: bytes
    leaf: dict[str, Any]
    tree_size: int
    proof: tuple[bytes, ...]
    checkpoint: str
    anchors: tuple[AnchorReceipt, ...] = ()
    reformatted: bool = field(default=False, compare=False)
    """Read from a JSON text other than its canonical bytes (the same document, laid out
    another way): what was checked is the canonical form."""

    @functools.cached_property
    def log(self) -> NoteVerifier:
        return NoteVerifier.from_vkey(self.log_vkey)

    @functools.cached_property
    def claim(self) -> Claim:
        return parse_leaf(self.leaf)[0]

    @functools.cached_property
    def reading(self) -> Reading:
        """What this copyseal understands of the claim's body."""
        return read(self.claim)

    @property
    def logged_at(self) -> str:
        return str(self.leaf["logged_at"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "work_id": self.work_id,
            "log": {"origin": self.log.name, "vkey": self.log_vkey},
            "entry": {"index": self.index, "leaf_hash": self.leaf_hash.hex(), "leaf": self.leaf},
            "inclusion": {"tree_size": self.tree_size, "proof": [p.hex() for p in self.proof]},
            "checkpoint": self.checkpoint,
            "anchors": [a.to_dict() for a in self.anchors],
        }

    def to_json(self) -> bytes:
        return jcs(self.to_dict()) + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Certificate:
        """A certificate from any JSON text of it (see the module's docstring)."""
        if len(data) > MAX_CERTIFICATE_BYTES:
            raise MalformedDocument("certificate is larger than 1 MiB")
        canonical = jcs(parse_json(data, max_bytes=MAX_CERTIFICATE_BYTES))
        # Decoded from the canonical bytes, not from the value parsed above: a number
        # written 42.0 is then the integer 42, as the issued document holds it.
        cert = cls.from_dict(parse_canonical_json(canonical, max_bytes=MAX_CERTIFICATE_BYTES))
        if data in (canonical, canonical + b"\n"):
            return cert
        return replace(cert, reformatted=True)

    @classmethod
    def from_dict(cls, obj: Any) -> Certificate:
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise MalformedDocument("not a copyseal certificate")
        if obj.get("version") != VERSION or type(obj.get("version")) is not int:
            raise UnsupportedVersion(f"certificate version {obj.get('version')!r} is not supported")
        expected = {"format", "version", "work_id", "log", "entry", "inclusion", "checkpoint"}
        if set(obj) != expected | {"anchors"}:
            raise MalformedDocument("certificate fields are not those of version 1")
        anchors = obj["anchors"]
        if not isinstance(anchors, list) or len(anchors) > MAX_ANCHORS:
            raise MalformedDocument(f"anchors must be a list of at most {MAX_ANCHORS} receipts")
        log, entry, inclusion = obj["log"], obj["entry"], obj["inclusion"]
        _shape(log, {"origin", "vkey"}, "log")
        _shape(entry, {"index", "leaf_hash", "leaf"}, "entry")
        _shape(inclusion, {"tree_size", "proof"}, "inclusion")
        verifier = NoteVerifier.from_vkey(_str(log["vkey"], "log.vkey"))
        if verifier.to_vkey() != log["vkey"]:
            raise MalformedDocument("log.vkey is not in its canonical spelling")
        if log["origin"] != verifier.name:
            raise MalformedDocument("log.origin is not the name of log.vkey")
        proof = inclusion["proof"]
        if not isinstance(proof, list) or len(proof) > MAX_PROOF_LENGTH:
            raise MalformedDocument("inclusion.proof must be a list of hashes")
        parse_leaf(entry["leaf"])
        return cls(
            work_id=_str(obj["work_id"], "work_id"),
            log_vkey=log["vkey"],
            index=_int(entry["index"], "entry.index"),
            leaf_hash=hex32(entry["leaf_hash"], "entry.leaf_hash"),
            leaf=entry["leaf"],
            tree_size=_int(inclusion["tree_size"], "inclusion.tree_size"),
            proof=tuple(hex32(p, "inclusion.proof") for p in proof),
            checkpoint=_str(obj["checkpoint"], "checkpoint"),
            anchors=_anchors(anchors),
        )


def _anchors(items: list[Any]) -> tuple[AnchorReceipt, ...]:
    receipts = tuple(AnchorReceipt.from_dict(item) for item in items)
    cited = {(r.anchor.chain, r.anchor.tx_hash) for r in receipts}
    if len(cited) != len(receipts):
        raise MalformedDocument("anchors cite one transaction twice")
    return receipts


def _shape(obj: Any, keys: set[str], what: str) -> None:
    if not isinstance(obj, dict) or set(obj) != keys:
        raise MalformedDocument(f"{what} must hold exactly {', '.join(sorted(keys))}")


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedDocument(f"{what} must be a non-empty string")
    return value


def _int(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise MalformedDocument(f"{what} must be a non-negative integer")
    return value


# -- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # "ok", "failed" or "skipped"
    detail: str


REFORMATTED = (
    "this file is not byte for byte the certificate as issued (its JSON is laid out or "
    "escaped another way), but holds the same document: its canonical form was checked"
)


@dataclass
class VerificationReport:
    work_id: str
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What a reader should know besides the checks (a reformatted file)."""

    @property
    def ok(self) -> bool:
        return all(c.status != "failed" for c in self.checks)

    def first_failure(self) -> CheckResult | None:
        return next((c for c in self.checks if c.status == "failed"), None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "work_id": self.work_id,
            "ok": self.ok,
            "checks": [c.__dict__ for c in self.checks],
        }
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def verify_certificate(
    cert: Certificate,
    *,
    trusted_log: NoteVerifier | None = None,
    content: bytes | None = None,
    verified_notes: dict[tuple[str, str], Checkpoint] | None = None,
    witnesses: Sequence[NoteVerifier] = (),
    quorum: int = 0,
    salt: bytes | None = None,
    unsafe_trust_certificate_key: bool = False,
) -> VerificationReport:
    """Run every offline check on ``cert`` and report each one.

    ``salt`` opens a private registration's commitment together with ``content``.

    With ``witnesses``, at least ``quorum`` of them (all of them when ``quorum`` is 0) must
    have cosigned the certificate's checkpoint (C2SP tlog-cosignature).

    ``trusted_log`` is the log's key, as the verifier's trust root lists it (a certificate
    from another log raises ForeignLog). Without it the certificate's key is trusted by
    nothing and UntrustedLog is raised, unless ``unsafe_trust_certificate_key``: then the
    checks run against the certificate's own key and the ``log`` check says it is untrusted.
    ``verified_notes`` is an optional cache of checkpoints already verified, keyed by (vkey,
    note text), so many certificates from one batch cost one signature check.
    """
    trusted_log, log_row = _log_check(cert, trusted_log, unsafe_trust_certificate_key)
    report = VerificationReport(cert.work_id, [log_row], [REFORMATTED] if cert.reformatted else [])

    def run(name: str, fn: Any) -> Any:
        try:
            detail = fn()
        except CopysealError as exc:
            report.checks.append(CheckResult(name, "failed", exc.message))
            return None
        report.checks.append(CheckResult(name, "ok", detail))
        return True

    claim = cert.claim

    def check_signature() -> str:
        claim.verify()
        return f"signed by {claim.signer}"

    run("signature", check_signature)
    reading = cert.reading
    if reading.kind is None:
        report.checks.append(CheckResult("claim", "skipped", _not_understood(claim, reading)))
    else:
        report.checks.append(CheckResult("claim", "ok", f"{claim.type} v{claim.version}"))
    if content is None:
        report.checks.append(CheckResult("content", "skipped", "no content given"))
    elif reading.kind is None or reading.kind.content(claim.body) is None:
        report.checks.append(CheckResult("content", "skipped", "the claim names no content"))
    else:
        run("content", lambda: check_content(claim.body["content"], content, salt))
    run("leaf", lambda: _check_leaf(cert))
    run("work_id", lambda: _check_work_id(cert))
    checkpoint = _open_checkpoint(cert, trusted_log, verified_notes, run)
    if checkpoint is None:
        report.checks.append(CheckResult("inclusion", "skipped", "checkpoint did not verify"))
    else:
        run("inclusion", lambda: _check_inclusion(cert, checkpoint))
    if witnesses:
        needed = quorum or len(witnesses)
        run("witnesses", lambda: _check_witnesses(cert, witnesses, needed))
    for receipt in cert.anchors:
        if checkpoint is None:
            report.checks.append(CheckResult("anchor", "skipped", "checkpoint did not verify"))
        else:
            run("anchor", lambda r=receipt: verify_anchor_offline(r, checkpoint) + " (offline)")
    order = {name: i for i, name in enumerate(CHECKS)}
    report.checks.sort(key=lambda c: order[c.name])
    return report


def _not_understood(claim: Claim, reading: Reading) -> str:
    return (
        f"{reading.problem}: its signature, leaf and inclusion are checked, not what its body says"
    )


def _log_check(
    cert: Certificate, trusted: NoteVerifier | None, unsafe: bool
) -> tuple[NoteVerifier, CheckResult]:
    """The key the checks run against, and the ``log`` row that says why it is trusted."""
    log = cert.log
    if trusted is None:
        if not unsafe:
            raise untrusted_log_error(log)
        detail = (
            f"untrusted: checked against the certificate's own key, key ID {log.key_id.hex()} "
            f"of {log.name!r}, which shows nothing about who runs that log"
        )
        return log, CheckResult("log", "skipped", detail)
    if (trusted.name, trusted.alg, trusted.public_key) != (log.name, log.alg, log.public_key):
        raise foreign_log_error(log, [trusted])
    return trusted, CheckResult("log", "ok", f"log key {trusted.to_vkey()}")


def _check_leaf(cert: Certificate) -> str:
    if merkle.leaf_hash(jcs(cert.leaf)) != cert.leaf_hash:
        raise VerificationError("leaf hash does not match the entry", check="leaf")
    return f"leaf hash {cert.leaf_hash.hex()}"


def _check_work_id(cert: Certificate) -> str:
    if compute_work_id(cert.index, cert.leaf_hash) != cert.work_id:
        raise VerificationError("work ID does not match the entry", check="work_id")
    return f"index {cert.index}"


def _open_checkpoint(
    cert: Certificate,
    log: NoteVerifier,
    cache: dict[tuple[str, str], Checkpoint] | None,
    run: Any,
) -> Checkpoint | None:
    key = (log.to_vkey(), cert.checkpoint)
    if cache is not None and key in cache:
        cached = cache[key]
        run("checkpoint", lambda: f"size {cached.size}, signed by {log.name}")
        return cached
    result: list[Checkpoint] = []

    def check() -> str:
        note = Note.from_text(cert.checkpoint)
        checkpoint = Checkpoint.from_text(note.text)
        if checkpoint.origin != log.name:
            raise VerificationError("checkpoint is from another log", check="checkpoint")
        verify_note(note, [log])
        result.append(checkpoint)
        return f"size {checkpoint.size}, signed by {log.name}"

    run("checkpoint", check)
    if not result:
        return None
    if cache is not None:
        cache[key] = result[0]
    return result[0]


def _check_witnesses(cert: Certificate, witnesses: Sequence[NoteVerifier], needed: int) -> str:
    signed = signers_of(Note.from_text(cert.checkpoint), witnesses, check="witnesses")
    names = ", ".join(v.name for v in signed) or "none"
    if len(signed) < needed:
        raise VerificationError(
            f"{len(signed)} of the {needed} witness cosignatures required ({names})",
            check="witnesses",
        )
    listed = "witness" if len(witnesses) == 1 else "witnesses"
    return f"cosigned by {len(signed)} of {len(witnesses)} {listed} ({names})"


def _check_inclusion(cert: Certificate, checkpoint: Checkpoint) -> str:
    if checkpoint.size != cert.tree_size:
        raise VerificationError("proof is for another tree size", check="inclusion")
    merkle.verify_inclusion(
        cert.index, cert.tree_size, cert.leaf_hash, cert.proof, checkpoint.root_hash
    )
    return f"entry {cert.index} is in the tree of size {cert.tree_size}"
