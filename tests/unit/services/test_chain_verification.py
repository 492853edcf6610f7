"""Verifying anchor receipts offline and on an in-process chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from copyseal.adapters.home import Home
from copyseal.core.anchor import AnchorReceipt
from copyseal.core.certificate import Certificate, VerificationReport, verify_certificate
from copyseal.core.encoding import jcs
from copyseal.core.keys import Signer
from copyseal.core.note import Checkpoint, Note, NoteVerifier
from copyseal.errors import MalformedDocument, UnsupportedVersion
from copyseal.services.anchoring import Anchorer, refresh_certificate
from copyseal.services.chain_verification import verify_anchored_certificate
from copyseal.services.registry import Registry
from tests.unit.services.anchoring_support import (
    NodeLikeProvider,
    deploy_chain,
    mine,
    readers,
    register,
)


@pytest.fixture
def provider() -> NodeLikeProvider:
    return NodeLikeProvider()


@pytest.fixture
def anchored(
    provider: NodeLikeProvider, home: Home, registry: Registry, creator: Signer
) -> Iterator[tuple[Certificate, bytes]]:
    """A certificate of entry 0 in a tree of 1, refreshed after an anchor at size 3."""
    anchors = home.open_anchors()
    chain = deploy_chain(provider, home.log_signer.name)
    anchorer = Anchorer(
        store=registry.store, anchors=anchors, chain=chain, log_key=home.log_signer.verifier
    )
    [first] = register(registry, creator, ["first"], seed=1)
    register(registry, creator, ["second", "third"], seed=2)
    anchorer.anchor_latest()
    data = refresh_certificate(
        first.certificate.to_json(),
        store=registry.store,
        anchors=anchors,
        log_key=home.log_signer.verifier,
    ).data
    yield first.certificate, data
    anchors.close()


def check(data: bytes, log: NoteVerifier, **kwargs: Any) -> VerificationReport:
    """Verify trusting the log, and the contract the receipts name: every receipt here is on
    the contract the test deployed (the forged ones change other fields), so these tests
    check what the chain says; trusting a contract is tested on its own below."""
    cert = Certificate.from_json(data)
    kwargs.setdefault("trusted_chains", [(r.anchor.chain, r.anchor.contract) for r in cert.anchors])
    return verify_anchored_certificate(cert, trusted_log=log, **kwargs)


def statuses(data: bytes, log: NoteVerifier, **kwargs: Any) -> list[tuple[str, str]]:
    return [(c.name, c.status) for c in check(data, log, **kwargs).checks]


def with_receipt(cert: Certificate, data: bytes, **changes: Any) -> bytes:
    [receipt] = Certificate.from_json(data).anchors
    forged = AnchorReceipt(replace(receipt.anchor, **changes), receipt.consistency)
    return replace(cert, anchors=(forged,)).to_json()


def test_a_certificate_without_anchors_reports_as_before(
    registry: Registry, creator: Signer, home: Home
) -> None:
    [reg] = register(registry, creator, ["plain"], seed=3)
    log = home.log_signer.verifier
    report = check(reg.certificate.to_json(), log)
    assert report.to_dict() == verify_certificate(reg.certificate, trusted_log=log).to_dict()
    # Asked to check the chain, a certificate with nothing to check fails.
    rows = statuses(reg.certificate.to_json(), log, chain_for=lambda anchor: None)
    assert rows[-1] == ("anchor", "failed")


def test_offline_the_report_says_the_chain_was_not_checked(
    anchored: tuple[Certificate, bytes], home: Home
) -> None:
    _, data = anchored
    report = check(data, home.log_signer.verifier)
    assert report.ok
    anchor_row, chain_row = report.checks[-2:]
    assert (anchor_row.name, anchor_row.status) == ("anchor", "ok")
    assert "tree 1 is a prefix of tree 3" in anchor_row.detail
    assert (chain_row.name, chain_row.status) == ("chain", "skipped")
    assert "not checked on chain" in chain_row.detail and "--rpc" in chain_row.detail


def test_on_chain_every_check_holds(
    anchored: tuple[Certificate, bytes], home: Home, provider: NodeLikeProvider
) -> None:
    _, data = anchored
    rows = statuses(data, home.log_signer.verifier, chain_for=readers(provider))
    assert rows[-2:] == [("anchor", "ok"), ("chain", "ok")]
    assert all(status != "failed" for _, status in rows)


def test_confirmations_are_counted_from_the_anchors_block(
    anchored: tuple[Certificate, bytes], home: Home, provider: NodeLikeProvider
) -> None:
    _, data = anchored
    log, chain_for = home.log_signer.verifier, readers(provider)
    report = check(data, log, chain_for=chain_for, confirmations=3)
    assert not report.ok
    assert "1 confirmations, 3 required" in report.checks[-2].detail
    mine(provider, 2)
    assert statuses(data, log, chain_for=chain_for, confirmations=3)[-1] == ("chain", "ok")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"size": 1}, "never anchored"),
        ({"block_number": 2}, "not what the receipt says"),
        ({"block_timestamp": 1}, "not what the receipt says"),
        ({"tx_hash": "0x" + "ab" * 32}, "not a mined, successful transaction"),
    ],
)
def test_a_receipt_the_chain_does_not_confirm_fails(
    anchored: tuple[Certificate, bytes],
    home: Home,
    provider: NodeLikeProvider,
    change: dict[str, Any],
    message: str,
) -> None:
    cert, data = anchored
    if change.get("size") == 1:
        # The certificate's own checkpoint, offered as if it had been anchored: offline it
        # holds (an empty proof between equal trees), on chain it was never anchored.
        [receipt] = Certificate.from_json(data).anchors
        forged = AnchorReceipt(replace(receipt.anchor, size=1, root=_root_of(cert)), ())
        data = replace(cert, anchors=(forged,)).to_json()
    else:
        data = with_receipt(cert, data, **change)
    report = check(data, home.log_signer.verifier, chain_for=readers(provider))
    assert not report.ok
    offline, on_chain, overall = report.checks[-3:]
    assert offline.status == "ok"
    assert (overall.name, overall.status) == ("chain", "failed")
    assert on_chain.status == "failed" and message in on_chain.detail, on_chain


def test_a_chain_the_rpc_does_not_serve_is_skipped_and_fails_the_on_chain_check(
    anchored: tuple[Certificate, bytes], home: Home
) -> None:
    _, data = anchored
    rows = statuses(data, home.log_signer.verifier, chain_for=lambda anchor: None)
    assert rows[-2:] == [("chain", "skipped"), ("chain", "failed")]


def test_a_receipt_whose_proof_does_not_link_fails_offline(
    anchored: tuple[Certificate, bytes], home: Home
) -> None:
    cert, data = anchored
    forged = with_receipt(cert, data, root=b"\x01" * 32)
    rows = statuses(forged, home.log_signer.verifier)
    assert ("anchor", "failed") in rows


def _root_of(cert: Certificate) -> bytes:
    return Checkpoint.from_text(Note.from_text(cert.checkpoint).text).root_hash


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda doc: doc.update(anchors={}), MalformedDocument),
        (lambda doc: doc.update(anchors=doc["anchors"] * 2), MalformedDocument),
        (lambda doc: doc["anchors"][0].update(type="x/v9"), UnsupportedVersion),
        (lambda doc: doc["anchors"][0].pop("root"), MalformedDocument),
        (lambda doc: doc.pop("anchors"), MalformedDocument),
        (lambda doc: doc.update(version=2), UnsupportedVersion),
    ],
)
def test_the_anchors_of_a_certificate_are_decoded_strictly(
    anchored: tuple[Certificate, bytes], mutate: Any, error: type[Exception]
) -> None:
    _, data = anchored
    doc = json.loads(data)
    mutate(doc)
    with pytest.raises(error):
        Certificate.from_json(jcs(doc) + b"\n")
    with pytest.raises(error):  # laid out another way, the same document, the same error
        Certificate.from_json(json.dumps(doc, indent=1).encode())
    pretty = Certificate.from_json(json.dumps(json.loads(data), indent=1).encode())
    assert pretty.reformatted and pretty.to_json() == data


def test_a_receipt_on_a_contract_no_trust_root_lists_is_not_trusted(
    anchored: tuple[Certificate, bytes], home: Home, provider: NodeLikeProvider
) -> None:
    """Anyone can deploy a contract that says anything: its receipts are never asked."""
    _, data = anchored
    [receipt] = Certificate.from_json(data).anchors
    asked: list[object] = []

    def chain_for(anchor: object) -> None:
        asked.append(anchor)

    other = [(receipt.anchor.chain, "0x" + "11" * 20)]
    offline = check(data, home.log_signer.verifier, trusted_chains=other)
    chain_row = offline.checks[-1]
    assert (chain_row.name, chain_row.status) == ("chain", "skipped")
    assert (
        chain_row.detail.startswith("not trusted") and receipt.anchor.contract in chain_row.detail
    )
    online = check(data, home.log_signer.verifier, trusted_chains=[], chain_for=chain_for)
    assert not online.ok and asked == []
    assert [(c.name, c.status) for c in online.checks][-2:] == [
        ("chain", "skipped"),
        ("chain", "failed"),
    ]
    trusted = check(data, home.log_signer.verifier, chain_for=readers(provider))
    assert trusted.ok
