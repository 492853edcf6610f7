"""Text fingerprints: normalisation, shingles, MinHash, estimators, encoding, bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from copyseal.errors import ContentTooLarge, EmptyContent, InvalidInput, MalformedDocument
from copyseal.fingerprint import text as tfp

VECTORS = json.loads((Path(__file__).parent / "vectors" / "text_v1.json").read_text())


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Hello, World!", "hello world"),
        ("ＦＵＬＬ　ｗｉｄｔｈ１２３", "full width123"),
        ("Straße  STRASSE", "strasse strasse"),
        ("tab\tand\nnewline", "tab and newline"),
        ("zero\u200bwidth soft\u00adhyphen", "zerowidth softhyphen"),
        ("“Quotes” — and… dashes", "quotes and dashes"),
        ("床前明月光，疑是地上霜。", "床前明月光疑是地上霜"),
        ("나는 학교에 간다", "나는학교에간다"),
        ("日本語 and English", "日本語and english"),
        ("ﬁne ligature", "fine ligature"),
        ("  !!!  ", ""),
    ],
)
def test_normalise(raw: str, normal: str) -> None:
    assert tfp.normalise_text_v1(raw) == normal


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["text"][:20])
def test_vectors(vector: dict[str, object]) -> None:
    sig = tfp.text_fingerprint_v1(str(vector["text"]), iscc=True)
    assert sig.to_fields() == vector["fields"]


def test_shingles_mixed_scripts() -> None:
    # A CJK run shingles by 2 characters, other text by 4, inside one text.
    assert tfp.shingle_sequence_v1("abcdef").size == 3
    assert tfp.shingle_sequence_v1("床前明月光").size == 4
    alone = set(tfp.shingle_hashes_v1("床前明月光疑是地上霜").tolist())
    mixed = set(tfp.shingle_hashes_v1("hello world床前明月光疑是地上霜goodbye").tolist())
    assert alone <= mixed


def test_batch_equals_one_by_one() -> None:
    rng = random.Random(5)
    words = "the quick brown fox jumps over lazy dog 床 前 明 月 光 über straße".split()
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(6, 60))) for _ in range(50)]
    batch = tfp.text_fingerprints_v1(texts, iscc=False)
    for text, sig in zip(texts, batch, strict=True):
        one = tfp.text_fingerprint_v1(text, iscc=False)
        assert np.array_equal(one.minhash, sig.minhash)
        assert (one.sha256_norm, one.shingles) == (sig.sha256_norm, sig.shingles)


def test_same_normal_form_same_fingerprint() -> None:
    a = tfp.text_fingerprint_v1("Hello,   WORLD! How are you today?", iscc=False)
    b = tfp.text_fingerprint_v1("hello world how are you today", iscc=False)
    assert a.sha256_norm == b.sha256_norm
    assert np.array_equal(a.minhash, b.minhash)


def _random_sets(rng: np.random.Generator, common: int, only_a: int, only_b: int):  # type: ignore[no-untyped-def]
    pool = rng.integers(0, 2**63, size=common + only_a + only_b, dtype=np.uint64)
    a = np.unique(pool[: common + only_a])
    b = np.unique(np.concatenate((pool[:common], pool[common + only_a :])))
    return a, b


@pytest.mark.parametrize(
    ("common", "only_a", "only_b"), [(100, 100, 0), (60, 40, 200), (30, 70, 70)]
)
def test_overlap_estimates(common: int, only_a: int, only_b: int) -> None:
    """The membership estimator is unbiased: check it against exact values over many sets."""
    rng = np.random.default_rng(common)
    errors = []
    for _ in range(40):
        a, b = _random_sets(rng, common, only_a, only_b)
        query = tfp.TextFeatures(
            signature=tfp.TextSignature("0" * 64, tfp.minhash_v1(b), int(b.size)),
            shingle_hashes=b,
            sequence=b,
        )
        est = tfp.estimate_overlap(query, tfp.minhash_v1(a)[None, :], np.array([a.size]))
        exact_j = common / (common + only_a + only_b)
        errors.append((est.jaccard[0] - exact_j, est.work_in_query[0] - common / a.size))
    bias = np.mean(errors, axis=0)
    spread = np.std(errors, axis=0)
    assert np.all(np.abs(bias) < 0.03)  # J is a ratio of estimates: slightly biased
    assert np.all(spread < 0.06)


def test_overlap_containment_directions() -> None:
    poem = "Quiet night thoughts: moonlight before my bed, frost upon the ground I think"
    post = f"Lovely evening walk today. {poem}. Anyway, dinner was great and so was the wine."
    work = tfp.text_fingerprint_v1(poem, iscc=False)
    quoted = tfp.estimate_overlap(
        tfp.text_features(post), work.minhash[None, :], np.array([work.shingles])
    )
    assert quoted.work_in_query[0] == 1.0
    assert quoted.jaccard[0] < 0.6
    excerpt = tfp.estimate_overlap(
        tfp.text_features(poem[:50]), work.minhash[None, :], np.array([work.shingles])
    )
    assert excerpt.query_in_work[0] > 0.8


def test_fields_round_trip() -> None:
    sig = tfp.text_fingerprint_v1("A short poem about the sea and the sky.", iscc=True)
    fields = json.loads(json.dumps(sig.to_fields()))
    back = tfp.TextSignature.from_fields(fields)
    assert np.array_equal(back.minhash, sig.minhash)
    assert (back.sha256_norm, back.shingles, back.iscc) == (sig.sha256_norm, sig.shingles, sig.iscc)
    assert len(fields["text_minhash_v1"]) == 1024  # 768 bytes in unpadded base64url


@pytest.mark.parametrize(
    "change",
    [
        {"text_minhash_v1": "AAAA"},
        {"text_minhash_v1": 5},
        {"text_sha256_norm_v1": "ABC"},
        {"text_shingles_v1": 0},
        {"text_shingles_v1": True},
        {"iscc_text_v1": "nope"},
    ],
)
def test_fields_strict(change: dict[str, object]) -> None:
    fields = tfp.text_fingerprint_v1("A short poem about the sea and the sky.").to_fields()
    with pytest.raises(MalformedDocument):
        tfp.TextSignature.from_fields({**fields, **change})


def test_bad_input() -> None:
    with pytest.raises(EmptyContent):
        tfp.text_fingerprint_v1(" ... !!! ")
    with pytest.raises(InvalidInput, match="too short"):
        tfp.text_fingerprint_v1("hi there")
    with pytest.raises(ContentTooLarge):
        tfp.text_fingerprint_v1("x" * (tfp.MAX_TEXT_CHARS + 1))
    assert tfp.text_fingerprint_v1("hello there!", iscc=False).shingles >= tfp.MIN_SHINGLES
