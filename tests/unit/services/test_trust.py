"""The roots a home trusts: its own log, witnesses and chain, and its trust.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from copyseal.adapters.home import TRUST_FILE, Home, load_trust_file, save_trust_file
from copyseal.core.note import ALG_COSIGNATURE_V1, NoteSigner
from copyseal.core.trust import TrustedChain, TrustedLog, TrustRoot
from copyseal.errors import MalformedDocument, UnreadablePath
from copyseal.services.trust import home_trust_root, own_trust_root

W1 = NoteSigner("w1.example", b"\x1a" * 32, alg=ALG_COSIGNATURE_V1).verifier
W2 = NoteSigner("w2.example", b"\x1b" * 32, alg=ALG_COSIGNATURE_V1).verifier
OTHER = NoteSigner("other.example/log", b"\x0c" * 32).verifier
CONTRACT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def witnesses(*keys: object) -> list[dict[str, str]]:
    return [{"url": "http://127.0.0.1:1", "vkey": k.to_vkey()} for k in keys]  # type: ignore[attr-defined]


def test_a_home_trusts_its_log_witnesses_and_anchoring_chain(home: Home) -> None:
    home.config.update(
        witnesses=witnesses(W1, W2),
        witness_quorum=2,
        chain={"chain_id": 10, "contract_address": CONTRACT.lower()},
    )
    root = own_trust_root(home, public_url="https://seal.example/", env={})
    assert root == TrustRoot(
        (TrustedLog.of(home.log_signer.verifier, "https://seal.example"),),
        (W1, W2),
        2,
        (TrustedChain("eip155:10", CONTRACT),),
    )
    # The environment names the chain as it does for anchoring.
    env = {"COPYSEAL_CHAIN_ID": "5", "COPYSEAL_CHAIN_CONTRACT": CONTRACT}
    assert own_trust_root(home, env=env).chains == (TrustedChain("eip155:5", CONTRACT),)


def test_without_witness_quorum_one_witness_is_enough(home: Home) -> None:
    home.config["witnesses"] = witnesses(W1, W2)
    root = own_trust_root(home, env={})
    assert (len(root.witnesses), root.quorum, root.chains) == (2, 1, ())


@pytest.mark.parametrize("quorum", [0, 3, "1", True])
def test_a_bad_witness_quorum_is_refused(home: Home, quorum: object) -> None:
    home.config.update(witnesses=witnesses(W1, W2), witness_quorum=quorum)
    with pytest.raises(MalformedDocument, match="witness_quorum"):
        own_trust_root(home, env={})


def test_a_home_adds_its_trust_json(home: Home) -> None:
    save_trust_file(home.path / TRUST_FILE, TrustRoot((TrustedLog.of(OTHER),)))
    root = home_trust_root(home.path)
    assert {log.verifier for log in root.logs} == {home.log_signer.verifier, OTHER}


def test_a_verifiers_home_is_just_a_trust_json(tmp_path: Path) -> None:
    assert home_trust_root(tmp_path / "nothing") == TrustRoot()
    path = tmp_path / "verifier" / TRUST_FILE
    save_trust_file(path, TrustRoot((TrustedLog.of(OTHER),)))
    assert home_trust_root(path.parent) == TrustRoot((TrustedLog.of(OTHER),))
    assert load_trust_file(path) == TrustRoot((TrustedLog.of(OTHER),))


def test_a_damaged_trust_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / TRUST_FILE
    path.write_text('{"format": "copyseal/trust-root"')
    with pytest.raises(MalformedDocument, match=str(path)):
        load_trust_file(path)
    path.unlink()
    path.mkdir()
    with pytest.raises(UnreadablePath):
        load_trust_file(path)
