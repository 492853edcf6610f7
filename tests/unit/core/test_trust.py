"""The trust root: its bytes, its strict decoder, and the questions a verifier asks it."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copyseal.core.encoding import jcs
from copyseal.core.note import ALG_COSIGNATURE_V1, NoteSigner, NoteVerifier
from copyseal.core.trust import (
    MAX_LOGS,
    MAX_TRUST_ROOT_BYTES,
    TrustedChain,
    TrustedLog,
    TrustRoot,
)
from copyseal.errors import (
    CopysealError,
    ForeignLog,
    MalformedDocument,
    UnsupportedVersion,
    UntrustedLog,
)
from tests.unit.core.helpers import PROPERTY

LOG_A = NoteSigner("a.example/log", b"\x0a" * 32).verifier
LOG_A2 = NoteSigner("a.example/log", b"\x0b" * 32).verifier  # the same origin, a rotated key
LOG_B = NoteSigner("b.example/log", b"\x0c" * 32).verifier
W1 = NoteSigner("w1.example", b"\x1a" * 32, alg=ALG_COSIGNATURE_V1).verifier
W2 = NoteSigner("w2.example", b"\x1b" * 32, alg=ALG_COSIGNATURE_V1).verifier
CHAIN = TrustedChain("eip155:1", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")

ROOT = TrustRoot(
    logs=(TrustedLog.of(LOG_B), TrustedLog.of(LOG_A, "https://a.example")),
    witnesses=(W2, W1),
    quorum=1,
    chains=(CHAIN,),
)

# The pinned bytes of ROOT: any change to the encoding changes every root's ID.
ROOT_JSON = (
    '{"chains":[{"chain":"eip155:1","contract":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}],'
    '"format":"copyseal/trust-root","logs":[{"origin":"a.example/log","url":"https://a.example",'
    f'"vkey":"{LOG_A.to_vkey()}"}},{{"origin":"b.example/log","vkey":"{LOG_B.to_vkey()}"}}],'
    f'"version":1,"witnesses":{{"keys":["{W1.to_vkey()}","{W2.to_vkey()}"],"quorum":1}}}}\n'
)


def test_encoding_is_canonical_sorted_and_pinned() -> None:
    assert ROOT.to_json().decode() == ROOT_JSON
    assert ROOT.root_id == hashlib.sha256(ROOT_JSON[:-1].encode()).hexdigest()[:8] == "1784c41b"
    assert TrustRoot.from_json(ROOT_JSON.encode()) == ROOT


def test_the_id_does_not_depend_on_the_order_things_were_listed_in() -> None:
    shuffled = ROOT.to_dict()
    shuffled["logs"].reverse()
    shuffled["witnesses"]["keys"].reverse()
    pretty = json.dumps(shuffled, indent=4).encode()
    assert TrustRoot.from_json(pretty).root_id == ROOT.root_id


def _mutated(change: Any) -> bytes:
    doc = copy.deepcopy(ROOT.to_dict())
    change(doc)
    return json.dumps(doc).encode()


def _set(path: str, value: Any) -> Any:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if value is KeyError:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


MALFORMED = {
    "not an object": b"[]",
    "not json": b"trust me",
    "other format": _mutated(_set("format", "copyseal/certificate")),
    "unknown member": _mutated(_set("extra", 1)),
    "missing member": _mutated(_set("chains", KeyError)),
    "logs not a list": _mutated(_set("logs", {})),
    "log unknown member": _mutated(_set("logs.0.key_id", "00")),
    "log without vkey": _mutated(_set("logs.0.vkey", KeyError)),
    "origin is not the vkey's name": _mutated(_set("logs.0.origin", "b.example/log")),
    "vkey not canonical": _mutated(_set("logs.1.vkey", " " + LOG_B.to_vkey())),
    "vkey with a wrong key ID": _mutated(
        _set("logs.1.vkey", LOG_B.to_vkey().replace("+", "+0", 1))
    ),
    "log key is a witness key": _mutated(
        lambda d: d["logs"].append({"origin": W1.name, "vkey": W1.to_vkey()})
    ),
    "witness key is a log key": _mutated(_set("witnesses.keys.0", LOG_B.to_vkey())),
    "log twice": _mutated(lambda d: d["logs"].append(d["logs"][1])),
    "log twice with two urls": _mutated(
        lambda d: d["logs"].append({**d["logs"][0], "url": "https://elsewhere.example"})
    ),
    "witness twice": _mutated(lambda d: d["witnesses"]["keys"].append(W1.to_vkey())),
    "chain twice": _mutated(lambda d: d["chains"].append(d["chains"][0])),
    "quorum 0 with witnesses": _mutated(_set("witnesses.quorum", 0)),
    "quorum above the witnesses": _mutated(_set("witnesses.quorum", 3)),
    "quorum without witnesses": _mutated(lambda d: d["witnesses"].update(keys=[], quorum=1)),
    "quorum a bool": _mutated(_set("witnesses.quorum", True)),
    "quorum a string": _mutated(_set("witnesses.quorum", "1")),
    "witnesses a list": _mutated(_set("witnesses", [])),
    "chain not CAIP-2": _mutated(_set("chains.0.chain", "ethereum")),
    "chain ID with a leading zero": _mutated(_set("chains.0.chain", "eip155:01")),
    "contract not checksummed": _mutated(_set("chains.0.contract", CHAIN.contract.lower())),
    "contract too short": _mutated(_set("chains.0.contract", "0x1234")),
    "url not http": _mutated(_set("logs.0.url", "ftp://a.example")),
    "url with a space": _mutated(_set("logs.0.url", "https://a.example/a b")),
    "url too long": _mutated(_set("logs.0.url", "https://a.example/" + "x" * 2000)),
    "url null": _mutated(_set("logs.0.url", None)),
    "too many logs": _mutated(
        _set(
            "logs",
            [
                TrustedLog.of(NoteSigner(f"l{i}.example", bytes([i % 256]) * 32).verifier).to_dict()
                for i in range(MAX_LOGS + 1)
            ],
        )
    ),
    "duplicate JSON member": ROOT_JSON.replace('"version":1', '"version":1,"version":1').encode(),
    "trailing data": ROOT_JSON.encode() + b"{}",
    "too large": b" " * (MAX_TRUST_ROOT_BYTES + 1),
    "nested too deep": b"[" * 100 + b"]" * 100,
    "not UTF-8": b'{"format": "\xff"}',
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_roots_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedDocument):
        TrustRoot.from_json(data)


@pytest.mark.parametrize("version", [2, 0, "1", 1.0, None])
def test_unknown_versions_are_refused(version: Any) -> None:
    with pytest.raises(UnsupportedVersion):
        TrustRoot.from_json(_mutated(_set("version", version)))


@PROPERTY
@given(st.binary(max_size=300))
def test_random_bytes_give_only_copyseal_errors(data: bytes) -> None:
    with contextlib.suppress(CopysealError):
        TrustRoot.from_json(data)


@PROPERTY
@given(
    st.sets(st.sampled_from([LOG_A, LOG_A2, LOG_B]), max_size=3),
    st.sets(st.sampled_from([W1, W2]), max_size=2),
    st.integers(0, 2),
    st.booleans(),
)
def test_decode_encode_round_trip(
    logs: set[NoteVerifier], witnesses: set[NoteVerifier], quorum: int, chain: bool
) -> None:
    quorum = min(max(quorum, 1), len(witnesses)) if witnesses else 0
    root = TrustRoot(
        tuple(TrustedLog.of(v, f"https://{v.key_id.hex()}.example") for v in logs),
        tuple(witnesses),
        quorum,
        (CHAIN,) if chain else (),
    )
    assert TrustRoot.from_json(root.to_json()) == root
    assert TrustRoot.from_json(root.to_json()).to_json() == root.to_json()
    assert jcs(json.loads(root.to_json())) + b"\n" == root.to_json()


def test_a_listed_log_is_trusted_and_a_rotated_key_too() -> None:
    root = TrustRoot((TrustedLog.of(LOG_A), TrustedLog.of(LOG_A2)))
    assert root.trusted_log_for(LOG_A) == LOG_A
    assert root.trusted_log_for(LOG_A2) == LOG_A2


def test_a_look_alike_log_names_both_key_ids() -> None:
    root = TrustRoot((TrustedLog.of(LOG_A),))
    with pytest.raises(ForeignLog) as raised:
        root.trusted_log_for(LOG_A2)
    assert LOG_A.key_id.hex() in raised.value.message
    assert LOG_A2.key_id.hex() in raised.value.message
    assert raised.value.details["trusted_key_ids"] == [LOG_A.key_id.hex()]
    assert raised.value.exit_code == 12


def test_a_log_not_listed_is_not_trusted() -> None:
    with pytest.raises(UntrustedLog, match="log key not trusted") as raised:
        TrustRoot((TrustedLog.of(LOG_A),)).trusted_log_for(LOG_B)
    assert raised.value.details == {
        "check": "log",
        "origin": LOG_B.name,
        "key_id": LOG_B.key_id.hex(),
    }
    assert raised.value.exit_code == 11


def test_merge_keeps_everything_and_the_stricter_quorum() -> None:
    mine = TrustRoot((TrustedLog.of(LOG_A),), (W1,), 1)
    theirs = TrustRoot(
        (TrustedLog.of(LOG_A, "https://a.example"), TrustedLog.of(LOG_B)), (W1, W2), 2, (CHAIN,)
    )
    merged = mine.merge(theirs)
    assert merged == TrustRoot(
        (TrustedLog.of(LOG_A, "https://a.example"), TrustedLog.of(LOG_B)), (W1, W2), 2, (CHAIN,)
    )
    assert merged.merge(theirs) == merged
    assert TrustRoot().merge(mine) == mine


@pytest.mark.parametrize(
    ("selector", "left"),
    [
        (LOG_A.key_id.hex(), {"logs": 1, "witnesses": 2}),
        ("a.example/log", {"logs": 1, "witnesses": 2}),
        (LOG_B.to_vkey(), {"logs": 1, "witnesses": 2}),
        ("w1.example", {"logs": 2, "witnesses": 1}),
        (CHAIN.contract.lower(), {"logs": 2, "witnesses": 2, "chains": 0}),
        ("eip155:1", {"logs": 2, "witnesses": 2, "chains": 0}),
    ],
)
def test_without_removes_what_the_selector_names(selector: str, left: dict[str, int]) -> None:
    root = ROOT.merge(TrustRoot(witnesses=(W1, W2), quorum=2))
    smaller, removed = root.without(selector)
    assert removed
    for what, count in left.items():
        assert len(getattr(smaller, what)) == count, what
    assert smaller.quorum <= len(smaller.witnesses)


def test_removing_every_witness_leaves_quorum_zero() -> None:
    smaller, removed = TrustRoot(witnesses=(W1,), quorum=1).without(W1.key_id.hex())
    assert removed == [f"witness w1.example (key ID {W1.key_id.hex()})"]
    assert smaller == TrustRoot()
    assert ROOT.without("nothing.example")[1] == []
