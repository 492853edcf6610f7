"""Index keys, the in-memory key index, text scoring, ranking and originals."""

from __future__ import annotations

import random

import numpy as np
import pytest

from copyseal.fingerprint import index as ix
from copyseal.fingerprint import text as tfp

POEM = (
    "Two roads diverged in a yellow wood, and sorry I could not travel both and be one "
    "traveler, long I stood and looked down one as far as I could"
)


def test_band_keys_shape_and_range() -> None:
    sig = tfp.text_fingerprint_v1(POEM, iscc=False).minhash
    keys = ix.text_band_keys(sig)
    assert keys.shape == (ix.TEXT_BANDS,)
    assert keys.dtype == np.int64
    assert (keys >= 0).all() and (keys < 2**62).all()
    batch = ix.text_band_keys(np.stack([sig, sig]))
    assert batch.shape == (2, ix.TEXT_BANDS)
    assert np.array_equal(batch[0], keys)


def test_band_keys_vector() -> None:
    sig = tfp.text_fingerprint_v1(POEM, iscc=False).minhash
    assert ix.text_band_keys(sig)[:3].tolist() == BAND_KEYS_V1


def test_image_keys_pigeonhole() -> None:
    rng = random.Random(9)
    for _ in range(200):
        h = rng.getrandbits(64)
        stored = set(ix.image_hash_keys(h))
        near = h
        for bit in rng.sample(range(64), 3):
            near ^= 1 << bit
        assert stored & set(ix.image_probe_keys(near, radius=0))
        far = h
        for bit in rng.sample(range(64), 7):
            far ^= 1 << bit
        assert stored & set(ix.image_probe_keys(far, radius=1))


def test_key_spaces_do_not_overlap() -> None:
    text = ix.text_band_keys(tfp.text_fingerprint_v1(POEM, iscc=False).minhash)
    image = ix.image_hash_keys(2**64 - 1)
    assert max(text.tolist()) < min(image) and max(image) < 2**63


def test_key_index_lookup() -> None:
    index = ix.KeyIndex.build(np.array([[1, 2, 3], [3, 4, 5], [6, 7, 8]]))
    works, counts = index.lookup([3, 5, 9])
    assert works.tolist() == [0, 1] and counts.tolist() == [1, 2]
    assert index.lookup([100])[0].size == 0


def _registry(texts: list[str]) -> tuple[ix.KeyIndex, np.ndarray, np.ndarray, list[str]]:
    sigs = tfp.text_fingerprints_v1(texts, iscc=False)
    mh = np.stack([s.minhash for s in sigs])
    return (
        ix.KeyIndex.build(ix.text_band_keys(mh)),
        mh,
        np.array([s.shingles for s in sigs]),
        [s.sha256_norm for s in sigs],
    )


def _check(texts: list[str], query: str) -> list[ix.Match]:
    index, mh, sh, sha = _registry(texts)
    features = tfp.text_features(query)
    works, _ = index.lookup(ix.text_query_keys(features))
    matches = ix.score_text(
        features, works.tolist(), works.tolist(), mh[works], sh[works], [sha[w] for w in works]
    )
    return ix.rank_matches(matches)


OTHERS = [
    "A completely different sentence about databases, indexes and query planners.",
    "Rain falls softly on the tin roof while the kettle starts to sing.",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
]


def test_exact_near_partial() -> None:
    works = [POEM, *OTHERS]
    assert [(m.work, m.kind) for m in _check(works, POEM.upper() + "!!")] == [(0, "exact")]
    edited = POEM.replace("yellow", "golden").replace("sorry", "sad")
    (match,) = _check(works, edited)
    assert (match.work, match.kind) == (0, "near-duplicate") and match.score > 0.6
    post = (
        "Saw this today on a walk by the river and loved it, so here it is for you all. "
        + POEM
        + " My grandmother used to recite it every autumn while we picked apples together,"
        " and later, when the orchard was sold and the family moved to the coast, she still "
        "said it at the kitchen window, looking at grey water instead of yellow leaves."
    )
    found = {m.work: m.kind for m in _check(works, post)}
    assert found[0] == "partial"
    assert 2 not in found


def test_quoted_inside_long_post_found_by_windows() -> None:
    filler = " ".join(f"word{i} lorem{i * 7} ipsum{i * 13}" for i in range(150))
    post = filler[: len(filler) // 2] + " " + POEM + " " + filler[len(filler) // 2 :]
    features = tfp.text_features(post)
    assert ix.query_windows(features.sequence)
    kinds = {m.work: m.kind for m in _check([POEM, *OTHERS], post)}
    assert kinds == {0: "partial"}


def test_query_keys_of_a_batch_are_each_querys_own() -> None:
    long_post = " ".join(OTHERS[:2] * 12) + " " + POEM
    queries = [tfp.text_features(t) for t in [POEM, long_post, OTHERS[2], long_post[:300]]]
    many = ix.text_query_keys_many(queries)
    assert len(ix.query_windows(queries[1].sequence)) > 3  # the windows are exercised
    for features, keys in zip(queries, many, strict=True):
        own = ix.text_band_keys(features.signature.minhash)
        windows = ix.query_windows(features.sequence)
        sets = [tfp.distinct(w) for w in windows]  # a window's MinHash is its set's
        expected = [own] + [ix.text_band_keys(tfp.minhash_v1(w)) for w in sets]
        assert np.array_equal(keys, np.unique(np.concatenate(expected)))
    assert ix.text_query_keys_many([]) == []


def test_unrelated_finds_nothing() -> None:
    assert (
        _check([POEM, *OTHERS], "Bananas are berries but strawberries are not, botanists say.")
        == []
    )


def test_rank_order_and_originals() -> None:
    m = lambda work, order, kind, score: ix.Match(work, order, kind, score, {})  # noqa: E731
    ranked = ix.rank_matches(
        [
            m("c", 7, "partial", 0.9),
            m("b", 5, "near-duplicate", 0.8),
            m("a", 9, "near-duplicate", 0.8),
            m("d", 3, "exact", 1.0),
        ]
    )
    assert [x.work for x in ranked] == ["d", "b", "a", "c"]
    assert [x.original for x in ranked] == [True, False, False, False]
    separate = ix.rank_matches(
        ranked, related=lambda x, earlier: [{x.work, e.work} <= {"a", "b"} for e in earlier]
    )
    assert {x.work for x in separate if x.original} == {"d", "b", "c"}
    assert len(ix.rank_matches(ranked, top=2)) == 2


def test_originals_are_decided_pair_by_pair() -> None:
    """A later work that copies two unrelated earlier ones copies both, and both stay
    originals: relations are not chained through it."""
    m = lambda work, order: ix.Match(work, order, "partial", 0.9, {})  # noqa: E731
    pairs = {frozenset("ac"), frozenset("bc")}
    ranked = ix.rank_matches(
        [m("c", 9), m("a", 1), m("b", 4)],
        related=lambda x, earlier: [{x.work, e.work} in pairs for e in earlier],
    )
    assert {x.work: (x.original, x.copies) for x in ranked} == {
        "a": (True, ()),
        "b": (True, ()),
        "c": (False, ("a", "b")),
    }


def test_text_relations_from_signatures_alone() -> None:
    post = "Found this on a walk and had to share it with all of you here today: " + POEM
    texts = [POEM, POEM.replace("yellow", "green"), OTHERS[0], post, POEM.upper() + "!"]
    sigs = tfp.text_fingerprints_v1(texts, iscc=False)
    relations = [ix.text_relations(s, sigs).tolist() for s in sigs]
    assert relations == [
        [True, True, False, True, True],
        [True, True, False, True, True],
        [False, False, True, False, False],
        [True, True, False, True, True],
        [True, True, False, True, True],
    ]
    assert ix.text_relations(sigs[0], []).tolist() == []


def test_text_related_clusters() -> None:
    texts = [POEM, POEM.replace("yellow", "green"), OTHERS[0]]
    sigs = tfp.text_fingerprints_v1(texts, iscc=False)
    related = ix.text_related(dict(zip("abc", sigs, strict=True)))
    m = lambda work: ix.Match(work, 0, "partial", 1.0, {})  # noqa: E731
    assert related(m("a"), [m("b"), m("c")]).tolist() == [True, False]


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [
        (
            {
                "exact": True,
                "jaccard": 0.1,
                "work_in_query": 0.1,
                "query_in_work": 0.1,
                "shared": 1,
            },
            "exact",
        ),
        (
            {
                "exact": False,
                "jaccard": 0.5,
                "work_in_query": 0.6,
                "query_in_work": 0.6,
                "shared": 40,
            },
            "near-duplicate",
        ),
        (
            {
                "exact": False,
                "jaccard": 0.1,
                "work_in_query": 0.95,
                "query_in_work": 0.1,
                "shared": 40,
            },
            "partial",
        ),
        (
            {
                "exact": False,
                "jaccard": 0.1,
                "work_in_query": 0.95,
                "query_in_work": 0.1,
                "shared": 10,
            },
            None,
        ),
        (
            {
                "exact": False,
                "jaccard": 0.2,
                "work_in_query": 0.3,
                "query_in_work": 0.3,
                "shared": 50,
            },
            None,
        ),
    ],
)
def test_classify_text(kwargs: dict[str, float], kind: str | None) -> None:
    verdict = ix.classify_text(**kwargs)  # type: ignore[arg-type]
    assert (verdict[0] if verdict else None) == kind


BAND_KEYS_V1 = [66103016287027480, 1826499966906962999, 339462518825752354]
