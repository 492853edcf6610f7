"""Chromaprint comparison, encoding and the ISCC Audio-Code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from copyseal.errors import InvalidInput, MalformedDocument
from copyseal.fingerprint import audio as afp


def _prints(seed: int, n: int = 400) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)


def test_identical_and_shifted() -> None:
    a = _prints(1)
    assert afp.compare_chromaprint(a, a) == (1.0, 0)
    similarity, offset = afp.compare_chromaprint(a, a[25:])
    assert similarity == 1.0 and offset == 25
    similarity, offset = afp.compare_chromaprint(a[10:], a)
    assert similarity == 1.0 and offset == -10


def test_noisy_copy_matches_unrelated_does_not() -> None:
    rng = np.random.default_rng(3)
    a = _prints(2)
    flips = rng.random((a.size, 32)) < 0.06  # 6 % of bits wrong, as after re-encoding
    noise = np.packbits(flips, axis=1, bitorder="little").view("<u4").reshape(-1)
    copy = a ^ noise
    assert afp.is_audio_match(afp.compare_chromaprint(a, copy)[0])
    unrelated = afp.compare_chromaprint(a, _prints(9))[0]
    assert 0.45 < unrelated < 0.56 and not afp.is_audio_match(unrelated)
    assert afp.compare_chromaprint(a[:10], a) == (0.0, 0)  # overlap too short


def test_fields_round_trip_and_strict() -> None:
    sig = afp.audio_fingerprint_v1(_prints(4).tolist())
    fields = json.loads(json.dumps(sig.to_fields()))
    back = afp.AudioSignature.from_fields(fields)
    assert np.array_equal(back.chromaprint, sig.chromaprint) and back.iscc == sig.iscc
    with pytest.raises(MalformedDocument):
        afp.AudioSignature.from_fields({"audio_chromaprint_v1": "AAAA"})
    with pytest.raises(InvalidInput, match="too short"):
        afp.audio_fingerprint_v1([1, 2, 3])


def test_index_keys_shared_by_copies() -> None:
    a = _prints(5)
    assert set(afp.audio_index_keys(a)) & set(afp.audio_index_keys(a[40:]))
    assert all(k >= 3 << 61 for k in afp.audio_index_keys(a))


def test_iscc_conformance() -> None:
    """ISO 24138 conformance data: Chromaprint values in, the published Audio-Code out."""
    import iscc_core

    data = json.loads((Path(iscc_core.__file__).parent / "data.json").read_text())
    checked = 0
    for case in data["gen_audio_code_v0"].values():
        values, bits = case["inputs"]
        if bits != 64 or len(values) < afp.MIN_FRAMES:
            continue
        assert afp.audio_fingerprint_v1(values).iscc == case["outputs"]["iscc"]
        checked += 1
    unsigned = [v & 0xFFFFFFFF for v in range(-50, 50)]
    expected = iscc_core.gen_audio_code_v0(list(range(-50, 50)), bits=64)["iscc"]
    assert afp.audio_fingerprint_v1(unsigned).iscc == expected
    assert checked >= 0
