"""Trust roots as verifications use them, and verifying a certificate against one.

A home trusts its own log by default: its own root lists the home's log key, the witnesses
its config.json names (``witnesses``, with ``witness_quorum``, 1 by default) and the chain
and contract it anchors on. That is also what ``copyseal serve`` publishes at
``/.well-known/copyseal/trust.json``. The home's ``trust.json`` adds whatever else its
owner decided to trust; a home that holds only a ``trust.json`` (a verifier who never ran
``init``) trusts just that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from copyseal.adapters.chain.settings import anchoring_contract
from copyseal.adapters.home import TRUST_FILE, Home, load_trust_file
from copyseal.core.certificate import Certificate, VerificationReport
from copyseal.core.note import NoteVerifier
from copyseal.core.trust import (
    TrustedChain,
    TrustedLog,
    TrustRoot,
    parse_url,
    parse_witness_key,
)
from copyseal.domain.wording import counted
from copyseal.errors import InvalidInput, MalformedDocument, NotFound, UntrustedLog
from copyseal.services.chain_verification import ChainFor, verify_anchored_certificate
from copyseal.services.witnessing import configured_witnesses

DEFAULT_WITNESS_QUORUM = 1


def own_trust_root(
    home: Home, *, public_url: str | None = None, env: Mapping[str, str] | None = None
) -> TrustRoot:
    """The root a home's own log stands on: its key, its witnesses, its anchoring chain."""
    witnesses = tuple(
        parse_witness_key(w.key.to_vkey(), "config.json witness key")
        for w in configured_witnesses(home.config)
    )
    quorum = home.config.get("witness_quorum", DEFAULT_WITNESS_QUORUM) if witnesses else 0
    if type(quorum) is not int or (witnesses and not 1 <= quorum <= len(witnesses)):
        raise MalformedDocument(
            "config.json: witness_quorum must be between 1 and the "
            + counted(len(witnesses), "witness", "witnesses")
        )
    contract = anchoring_contract(home.config, env)
    try:
        url = None if not public_url else parse_url(public_url.rstrip("/"))
    except MalformedDocument as exc:
        raise InvalidInput(f"the public URL {public_url!r} is not an http(s) URL") from exc
    return TrustRoot(
        logs=(TrustedLog.of(home.log_signer.verifier, url),),
        witnesses=witnesses,
        quorum=quorum,
        chains=() if contract is None else (TrustedChain(*contract),),
    )


def home_trust_root(path: Path) -> TrustRoot:
    """What verifications from the home at ``path`` trust: its own root, if it is a log's
    home, and its trust.json, if it has one."""
    try:
        own = own_trust_root(Home.open(path))
    except NotFound:
        own = TrustRoot()
    return own.merge(load_trust_file(path / TRUST_FILE))


def verify_trusted(
    cert: Certificate,
    root: TrustRoot,
    *,
    log_key: NoteVerifier | None = None,
    unsafe_trust_certificate_key: bool = False,
    content: bytes | None = None,
    salt: bytes | None = None,
    chain_for: ChainFor | None = None,
    confirmations: int = 1,
    witnesses: Sequence[NoteVerifier] | None = None,
    quorum: int = 0,
) -> VerificationReport:
    """Verify a certificate against ``root``: its log must be a trusted one, its checkpoint
    cosigned by the root's quorum of witnesses, its anchors on the root's chains.

    ``log_key`` pins the log instead (an explicit trust decision: any other log is
    ForeignLog), ``witnesses`` and ``quorum`` replace the root's witness policy. A log the
    root does not list is UntrustedLog unless ``unsafe_trust_certificate_key``; a log that
    looks like a listed one (its origin, another key) is ForeignLog even then.
    """
    trusted = log_key
    if trusted is None:
        try:
            trusted = root.trusted_log_for(cert.log)
        except UntrustedLog:
            if not unsafe_trust_certificate_key:
                raise
    if witnesses is None:
        witnesses, quorum = root.witnesses, root.quorum
    return verify_anchored_certificate(
        cert,
        trusted_log=trusted,
        unsafe_trust_certificate_key=unsafe_trust_certificate_key,
        content=content,
        salt=salt,
        chain_for=chain_for,
        confirmations=confirmations,
        witnesses=witnesses,
        quorum=quorum,
        trusted_chains=[(c.chain, c.contract) for c in root.chains],
    )


def trust_summary(root: TrustRoot) -> dict[str, Any]:
    """What a root lists, by key ID, for reports and pages."""
    return {
        "id": root.root_id,
        "logs": [
            {"origin": log.verifier.name, "key_id": log.verifier.key_id.hex(), "url": log.url}
            for log in root.logs
        ],
        "witnesses": {
            "keys": [{"name": w.name, "key_id": w.key_id.hex()} for w in root.witnesses],
            "quorum": root.quorum,
        },
        "chains": [c.to_dict() for c in root.chains],
    }


def describe_root(root: TrustRoot) -> str:
    """One line: the root's ID and what it lists."""
    logs = ", ".join(f"{log.verifier.name} ({log.verifier.key_id.hex()})" for log in root.logs)
    text = f"trust root {root.root_id}: logs {logs or 'none'}"
    if root.witnesses:
        text += f"; {root.quorum} of {counted(len(root.witnesses), 'witness', 'witnesses')}"
    if root.chains:
        text += "; chains " + ", ".join(f"{c.contract} on {c.chain}" for c in root.chains)
    return text
