"""The vectorised ISCC Text-Code equals iscc-core's, code for code."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import iscc_core
from hypothesis import given, settings
from hypothesis import strategies as st

from copyseal.fingerprint import iscc_minhash, iscc_text
from copyseal.fingerprint.text import text_fingerprint_v1, text_fingerprints_v1
from tests.unit.fingerprint.samples import TEXTS


def _reference(text: str) -> str:
    return str(iscc_core.gen_text_code_v0(text, bits=64)["iscc"])


def test_published_conformance_vectors() -> None:
    """iscc-core's ISO 24138 conformance data, one text at a time and all in one batch."""
    data = json.loads((Path(iscc_core.__file__).parent / "data.json").read_text())
    cases = list(data["gen_text_code_v0"].values())
    assert len(cases) >= 5
    for case in cases:
        text, bits = case["inputs"]
        assert iscc_text.iscc_text_codes([text], bits=bits) == [case["outputs"]["iscc"]]
    at_64 = [c for c in cases if c["inputs"][1] == 64]
    texts = [c["inputs"][0] for c in at_64] * 3
    assert iscc_text.iscc_text_codes(texts) == [c["outputs"]["iscc"] for c in at_64] * 3


def test_batches_split_into_groups_give_the_same_codes() -> None:
    # Long texts, and enough of them that a batch spans several groups of n-grams, with a
    # text alone in a group of its own when it is longer than a group.
    long = " ".join(TEXTS) * 40
    assert len(long) > iscc_text._GROUP
    texts = TEXTS * 30 + [long, TEXTS[0], long[: iscc_text._GROUP // 2], ""]
    assert iscc_text.iscc_text_codes(texts) == [_reference(t) for t in texts]
    assert iscc_text.iscc_text_codes([]) == []


def test_fingerprints_record_the_standard_code() -> None:
    assert [s.iscc for s in text_fingerprints_v1(TEXTS)] == [_reference(t) for t in TEXTS]
    assert text_fingerprint_v1(TEXTS[2]).iscc == _reference(TEXTS[2])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=300), min_size=1, max_size=8))
def test_any_text_gets_iscc_cores_code(texts: list[str]) -> None:
    assert iscc_text.iscc_text_codes(texts) == [_reference(t) for t in texts]


def test_vendored_permutations_are_iscc_cores() -> None:
    """The MinHash constants copied into copyseal are those of the installed iscc-core."""
    source = Path(iscc_core.__file__).with_name("minhash.py").read_text(encoding="utf-8")
    found = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Name) and target.id in ("MPA", "MPB"):
            found[target.id] = tuple(ast.literal_eval(node.value))  # type: ignore[attr-defined]
    assert found == {"MPA": iscc_minhash.MPA, "MPB": iscc_minhash.MPB}
    assert len(iscc_minhash.MPA) == len(iscc_minhash.MPB) == 64
