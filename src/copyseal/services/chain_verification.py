"""Verifying a certificate's anchor receipts: offline, and on the chain they name.

Offline, a receipt's consistency proof shows that the certificate's signed checkpoint is a
prefix of the anchored tree. Only the chain can show that the anchored (size, root) really is
on it, in the transaction and block the receipt names, deep enough to stay: that is checked
through an :class:`~copyseal.domain.anchors.AnchorChain` reader, one per receipt's chain and
contract, that the caller wires (``copyseal verify --rpc URL``). Without one, the report says
plainly that the chain was not consulted. Only receipts on a chain and contract the verifier
trusts (its trust root's ``chains``) are checked: anyone can deploy a contract that says
anything, so a receipt on another one is reported as not trusted, never as verified.

The offline ``anchor`` rows come from :func:`copyseal.core.certificate.verify_certificate`;
this module adds the ``chain`` rows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from copyseal.core.anchor import Anchor, AnchorReceipt
from copyseal.core.certificate import (
    Certificate,
    CheckResult,
    VerificationReport,
    verify_certificate,
)
from copyseal.core.note import NoteVerifier
from copyseal.domain.anchors import AnchorChain
from copyseal.errors import NotFound, VerificationError

ChainFor = Callable[[Anchor], AnchorChain | None]
"""A reader for the chain and contract an anchor names, or None if it cannot be reached."""


def verify_anchored_certificate(
    cert: Certificate,
    *,
    trusted_log: NoteVerifier | None = None,
    content: bytes | None = None,
    chain_for: ChainFor | None = None,
    confirmations: int = 1,
    witnesses: Sequence[NoteVerifier] = (),
    quorum: int = 0,
    salt: bytes | None = None,
    trusted_chains: Collection[tuple[str, str]] = (),
    unsafe_trust_certificate_key: bool = False,
) -> VerificationReport:
    """Every offline check of the certificate, then one ``anchor`` row (offline) and one
    ``chain`` row (on chain, or skipped without ``chain_for``) per receipt. Receipts on a
    (CAIP-2 chain, contract) not in ``trusted_chains`` are not trusted and not asked.

    Raises only if its log is not trusted (UntrustedLog, ForeignLog: see
    ``verify_certificate``), or a chain cannot be asked (Unavailable, InvalidInput)."""
    report = verify_certificate(
        cert,
        trusted_log=trusted_log,
        content=content,
        witnesses=witnesses,
        quorum=quorum,
        salt=salt,
        unsafe_trust_certificate_key=unsafe_trust_certificate_key,
    )
    if not cert.anchors:
        if chain_for is not None:
            report.checks.append(CheckResult("anchor", "failed", _NO_RECEIPT))
        return report
    trusted = {(chain, contract) for chain, contract in trusted_chains}
    rows = [_chain_row(r, chain_for, confirmations, trusted) for r in cert.anchors]
    report.checks.extend(rows)
    if chain_for is not None and not any(row.status == "ok" for row in rows):
        report.checks.append(
            CheckResult("chain", "failed", "no anchor on a trusted chain could be checked at --rpc")
        )
    return report


def verify_anchor_on_chain(
    receipt: AnchorReceipt, chain: AnchorChain, *, confirmations: int
) -> str:
    """Check on ``chain`` that the contract holds the receipt's (origin, size) → root, that the
    receipt's transaction anchored it in the block and at the time it says, and that the
    block has ``confirmations`` confirmations (its own block counts as one)."""
    a = receipt.anchor
    if (chain.caip2, chain.contract) != (a.chain, a.contract):
        raise VerificationError("the reader is bound to another chain or contract", check="chain")
    try:
        held = chain.fetch_root_at(a.origin, a.size)
    except NotFound as exc:
        raise VerificationError(
            f"{a.contract} on {a.chain} holds no root for {a.origin} at size {a.size}: "
            "never anchored",
            check="chain",
        ) from exc
    if held != a.root:
        raise VerificationError(
            f"{a.contract} holds another root at size {a.size}: {held.hex()}", check="chain"
        )
    try:
        mined = chain.fetch_anchor_tx(a.tx_hash, a.origin).anchor
    except NotFound as exc:
        raise VerificationError(f"{exc.message}", check="chain") from exc
    if mined != a:
        raise VerificationError(
            f"the chain says transaction {a.tx_hash} anchored size {mined.size} in block "
            f"{mined.block_number} at {mined.block_timestamp}, not what the receipt says",
            check="chain",
        )
    depth = chain.fetch_head() - a.block_number + 1
    if depth < confirmations:
        raise VerificationError(
            f"block {a.block_number} has {depth} confirmations, {confirmations} required",
            check="chain",
        )
    return (
        f"{a.contract} on {a.chain} holds root {a.root.hex()[:16]}… at size {a.size}, "
        f"anchored in block {a.block_number}, {depth} confirmations (≥ {confirmations})"
    )


_NO_RECEIPT = (
    "the certificate carries no anchor receipt; "
    "`copyseal certificate refresh` adds one once an anchor covers it"
)


def _chain_row(
    receipt: AnchorReceipt,
    chain_for: ChainFor | None,
    confirmations: int,
    trusted: Collection[tuple[str, str]],
) -> CheckResult:
    a = receipt.anchor
    claim = (
        f"the receipt says {a.contract} on {a.chain} anchored root {a.root.hex()[:16]}… at "
        f"size {a.size} in block {a.block_number} ({a.block_timestamp})"
    )
    if (a.chain, a.contract) not in trusted:
        return CheckResult(
            "chain",
            "skipped",
            f"not trusted: no trust root lists {a.contract} on {a.chain} "
            f"(`copyseal trust add-chain`); {claim}",
        )
    if chain_for is None:
        return CheckResult("chain", "skipped", f"not checked on chain: {claim}; pass --rpc URL")
    chain = chain_for(a)
    if chain is None:
        return CheckResult("chain", "skipped", f"--rpc does not serve {a.chain}: {claim}")
    try:
        return CheckResult(
            "chain", "ok", verify_anchor_on_chain(receipt, chain, confirmations=confirmations)
        )
    except VerificationError as exc:
        return CheckResult("chain", "failed", exc.message)
