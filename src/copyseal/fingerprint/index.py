"""The pure parts of the similarity index: index keys, candidate lookup, scoring, ranking.

The store keeps the index as integer rows, e.g. in SQLite::

    CREATE TABLE fp_keys (key INTEGER NOT NULL, work INTEGER NOT NULL,
                          PRIMARY KEY (key, work)) WITHOUT ROWID;

(with a small write buffer of the same shape in front of it, ``fp_recent``; see
``docs/architecture.md``) written in the same transaction as the registration, from the
claim's fingerprints only, so ``copyseal index rebuild`` can recompute every row from the
log. A check computes the query's
keys here, fetches the works that share at least one key (one index seek per key), loads their
signatures, and hands them back to :func:`score_text` / :func:`score_image` and
:func:`rank_matches`. Memory stays in the store's page cache: nothing here holds per-work state
except :class:`KeyIndex`, an in-memory equivalent used by the benchmark and the tests.

Keys (v1):

- Text: LSH over the 192-value MinHash, 64 bands of 3 values, one 62-bit key per band. A work
  with Jaccard J to the query shares a band with probability 1 - (1 - J³)⁶⁴: 0.83 at J = 0.3,
  0.98 at 0.4, 0.9997 at 0.5, while unrelated texts (J ≈ 0.02) collide with 1 in 2,000.
  Long queries also look up windows of their shingles, so a work quoted inside a long post
  is found although its Jaccard with the whole post is small.
- Image: multi-index hashing of 64-bit perceptual hashes, 4 chunks of 16 bits. Two hashes
  within Hamming distance 3 share a chunk exactly (pigeonhole); probing every chunk at
  distance ≤ 1 as well (17 probes a chunk) finds all hashes within distance 7. A work
  stores the keys of its 12 pHashes (whole, crops, rotations); a query probes with 4 (whole
  and middle, each as given and mirrored).
- Audio: see :func:`copyseal.fingerprint.audio.audio_index_keys`. The three key spaces are
  disjoint (text < 2⁶² ≤ image < 3·2⁶¹ ≤ audio < 2⁶³), so one table holds them all.

The key derivations are frozen like the fingerprints: rows written by one version must be
found by the next, or the index must be rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from copyseal.fingerprint.image import ImageQuery, ImageSignature
from copyseal.fingerprint.text import (
    NUM_PERM,
    TextFeatures,
    TextSignature,
    _splitmix64,
    distinct,
    estimate_overlap,
    minhash_batch_v1,
)

I64 = npt.NDArray[np.int64]

TEXT_BANDS = 64
TEXT_ROWS = 3
assert TEXT_BANDS * TEXT_ROWS == NUM_PERM

WINDOW_SIZES = (48, 96, 192)
"""Shingle windows a long query is also looked up by (stride: half a window)."""
MAX_WINDOWS = 40


@dataclass(frozen=True)
class TextThresholds:
    """When a verified text candidate counts as a match. Defaults: :data:`TEXT_THRESHOLDS`."""

    near_jaccard: float
    """Estimated Jaccard at or above which a text is a near-duplicate of a work..."""
    near_min_shared: int
    """...provided they share at least this many shingles (short proverbs share phrases)."""
    partial_containment: float
    """Estimated containment (either way) at or above which a text is a partial copy..."""
    partial_min_shared: int
    """...provided they share at least this many shingles (about as many characters)."""


# Chosen from bench/similarity (docs/similarity.md has the sweep and the figures).
TEXT_THRESHOLDS = TextThresholds(
    near_jaccard=0.35, near_min_shared=0, partial_containment=0.8, partial_min_shared=24
)

IMAGE_CHUNKS = 4
IMAGE_CHUNK_BITS = 16


@dataclass(frozen=True)
class ImageThresholds:
    """When a verified image candidate counts as a match. Defaults: :data:`IMAGE_THRESHOLDS`.

    ``phash`` is the smallest pHash distance between the query (or its mirror image) and the
    work's whole, cropped and rotated hashes; ``dhash`` the whole-image dHash distance.
    """

    phash: int
    """A match at or below this pHash distance, whatever the dHash says..."""
    phash_confirmed: int
    """...or at or below this one when the dHash distance is at most ``dhash``."""
    dhash: int


IMAGE_THRESHOLDS = ImageThresholds(phash=8, phash_confirmed=10, dhash=10)

_TEXT_KEY_SALT = 0x7A3F_51C2_0B64_9D17
_IMAGE_KEY_TAG = 1 << 62


# -- keys --------------------------------------------------------------------------------------


def text_band_keys(signature: npt.NDArray[np.uint32]) -> I64:
    """The 64 LSH band keys (non-negative int64) of a 192-value text MinHash signature."""
    sig = np.asarray(signature, dtype=np.uint64).reshape(-1, TEXT_BANDS, TEXT_ROWS)
    acc = np.arange(TEXT_BANDS, dtype=np.uint64) * np.uint64(_TEXT_KEY_SALT)
    acc = np.broadcast_to(acc, sig.shape[:2])
    for r in range(TEXT_ROWS):
        acc = _splitmix64(acc ^ sig[..., r])
    keys = (acc >> np.uint64(2)).astype(np.int64)  # text keys < 2**62 ≤ image keys
    return keys.reshape(-1) if np.ndim(signature) == 1 else keys


def query_windows(sequence: npt.NDArray[np.uint64]) -> list[npt.NDArray[np.uint64]]:
    """Shingle hashes of windows over a long query, for finding works quoted inside it.

    Repeats are kept: a MinHash is the same over a window's shingles and over their set."""
    out: list[npt.NDArray[np.uint64]] = []
    for size in WINDOW_SIZES:
        if sequence.size <= size * 3 // 2:
            break
        step = size // 2
        for start in range(0, sequence.size - step, step):
            out.append(sequence[start : start + size])
    if len(out) > MAX_WINDOWS:  # spread the budget evenly over the text
        pick = np.linspace(0, len(out) - 1, MAX_WINDOWS).round().astype(int)
        out = [out[i] for i in pick]
    return out


def text_query_keys(features: TextFeatures) -> I64:
    """Distinct band keys to look up for a query: its own, and its windows' if long."""
    return text_query_keys_many([features])[0]


def text_query_keys_many(queries: Sequence[TextFeatures]) -> list[I64]:
    """:func:`text_query_keys` of many queries, their windows MinHashed in one pass."""
    windows = [query_windows(q.sequence) for q in queries]
    flat = [w for each in windows for w in each]
    window_keys = text_band_keys(minhash_batch_v1(flat)) if flat else None
    own = [text_band_keys(q.signature.minhash) for q in queries]
    out, pos = [], 0
    for keys, each in zip(own, windows, strict=True):
        if each:
            assert window_keys is not None
            keys = np.concatenate((keys, window_keys[pos : pos + len(each)].reshape(-1)))
            pos += len(each)
        out.append(distinct(keys))
    return out


def image_hash_keys(value: int) -> list[int]:
    """The 4 multi-index keys of a 64-bit image hash: chunk number and 16-bit chunk value."""
    mask = (1 << IMAGE_CHUNK_BITS) - 1
    return [
        _IMAGE_KEY_TAG | (j << IMAGE_CHUNK_BITS) | ((value >> (IMAGE_CHUNK_BITS * j)) & mask)
        for j in range(IMAGE_CHUNKS)
    ]


def image_probe_keys(value: int, *, radius: int = 1) -> list[int]:
    """Keys to look up for a query hash: every chunk within ``radius`` (0 or 1) bit flips.

    Radius 0 finds every stored hash within Hamming distance 3, radius 1 within 7.
    """
    keys = set(image_hash_keys(value))
    if radius >= 1:
        for bit in range(64):
            keys.update(image_hash_keys(value ^ (1 << bit)))
    return sorted(keys)


# -- in-memory index ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyIndex:
    """Sorted (key, work) pairs: the SQLite table's content as two numpy arrays.

    8 + 4 bytes per row; used by the benchmark and tests, and usable as a read-only cache.
    """

    keys: I64
    works: npt.NDArray[np.int32]

    @classmethod
    def build(cls, rows: npt.NDArray[np.int64]) -> KeyIndex:
        """From a (works, keys_per_work) matrix; row i belongs to work i."""
        rows = np.asarray(rows, dtype=np.int64)
        works = np.repeat(np.arange(rows.shape[0], dtype=np.int32), rows.shape[1])
        return cls.from_pairs(rows.reshape(-1), works)

    @classmethod
    def from_pairs(cls, keys: npt.ArrayLike, works: npt.ArrayLike) -> KeyIndex:
        """From parallel sequences of keys and work numbers (the table's rows)."""
        flat = np.asarray(keys, dtype=np.int64)
        order = np.argsort(flat, kind="stable")
        return cls(keys=flat[order], works=np.asarray(works, dtype=np.int32)[order])

    def lookup(self, keys: npt.ArrayLike) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """Works sharing at least one key with ``keys``, and how many keys each shares."""
        keys = distinct(np.asarray(keys, dtype=np.int64))
        lo = np.searchsorted(self.keys, keys, side="left")
        hi = np.searchsorted(self.keys, keys, side="right")
        if not (hi > lo).any():
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
        hits = np.concatenate([self.works[a:b] for a, b in zip(lo, hi, strict=True) if b > a])
        works, counts = np.unique(hits, return_counts=True)
        return works, counts


# -- scoring and ranking -----------------------------------------------------------------------

EXACT = "exact"
NEAR_DUPLICATE = "near-duplicate"
PARTIAL = "partial"


@dataclass(frozen=True)
class Match:
    """One registered work that a query copies or nearly copies.

    ``work`` is whatever the caller uses to name works (a work ID, a log index); ``order`` is
    its registration order (log index), which decides who was first. ``copies`` are the
    earlier-registered matches of the same query that this work copies (set by
    :func:`rank_matches`); a work that copies none of them is ``original``.
    """

    work: Any
    order: int
    kind: str
    score: float
    details: dict[str, float]
    original: bool = False
    copies: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "work": self.work,
            "kind": self.kind,
            "score": round(self.score, 4),
            "original": self.original,
            **{k: round(v, 4) for k, v in self.details.items()},
        }


def classify_text(
    *,
    exact: bool,
    jaccard: float,
    work_in_query: float,
    query_in_work: float,
    shared: float,
    thresholds: TextThresholds = TEXT_THRESHOLDS,
) -> tuple[str, float] | None:
    """The kind and score of a text match, or None below every threshold.

    ``exact`` here is the same normal form, which the work's claim declares
    (``text_sha256_norm_v1``); a check calls a match exact only when the content hash
    matches too (``services/search.py``)."""
    if exact:
        return EXACT, 1.0
    if jaccard >= thresholds.near_jaccard and shared >= thresholds.near_min_shared:
        return NEAR_DUPLICATE, jaccard
    containment = max(work_in_query, query_in_work)
    if containment >= thresholds.partial_containment and shared >= thresholds.partial_min_shared:
        return PARTIAL, containment
    return None


def score_text(
    query: TextFeatures,
    works: Sequence[Any],
    orders: Sequence[int],
    minhashes: npt.NDArray[np.uint32],
    shingles: npt.ArrayLike,
    sha256_norms: Sequence[str],
    *,
    thresholds: TextThresholds = TEXT_THRESHOLDS,
) -> list[Match]:
    """Verify text candidates against the query; the matches, unranked.

    The candidates' data are what their claims record (``text_minhash_v1``,
    ``text_shingles_v1``, ``text_sha256_norm_v1``), so the check needs no stored content.
    """
    if not len(works):
        return []
    overlap = estimate_overlap(query, minhashes, np.asarray(shingles, dtype=np.int64))
    out = []
    for i, work in enumerate(works):
        verdict = classify_text(
            exact=sha256_norms[i] == query.signature.sha256_norm,
            jaccard=float(overlap.jaccard[i]),
            work_in_query=float(overlap.work_in_query[i]),
            query_in_work=float(overlap.query_in_work[i]),
            shared=float(overlap.shared[i]),
            thresholds=thresholds,
        )
        if verdict is not None:
            details = {
                "jaccard": float(overlap.jaccard[i]),
                "containment": float(overlap.work_in_query[i]),
                "containment_of_query": float(overlap.query_in_work[i]),
                "shared": float(overlap.shared[i]),
            }
            out.append(Match(work, int(orders[i]), verdict[0], verdict[1], details))
    return out


Related = Callable[[Match, Sequence[Match]], Sequence[bool] | npt.NDArray[np.bool_]]
"""Which of some earlier-registered matches of a query a match copies (:func:`rank_matches`)."""


def rank_matches(
    matches: Sequence[Match],
    *,
    top: int | None = None,
    related: Related | None = None,
) -> list[Match]:
    """Best first (kind, then score, then earliest registration), originals marked.

    A match copies the earlier-registered matches it is ``related`` to (by default, every
    earlier match of the query); a match that copies none is ``original``. Relations are
    taken pair by pair, not chained: a post that quotes two unrelated works, registered after
    both, copies both, and both are originals. Copies are looked for only for the matches
    returned (among all of them), so ranking costs ``top`` × matches comparisons.
    """
    rank = {EXACT: 0, NEAR_DUPLICATE: 1, PARTIAL: 2}
    ordered = sorted(matches, key=lambda m: (rank[m.kind], -round(m.score, 6), m.order))
    marked = []
    for match in ordered if top is None else ordered[:top]:
        earlier = sorted((e for e in ordered if e.order < match.order), key=lambda e: e.order)
        if related is not None and earlier:
            found = related(match, earlier)
            earlier = [e for e, copied in zip(earlier, found, strict=True) if copied]
        copies = tuple(e.work for e in earlier)
        marked.append(replace(match, copies=copies, original=not copies))
    return marked


def image_distances(query: ImageQuery, work: ImageSignature) -> dict[str, float]:
    """The closest pairing of the query's hashes with the work's.

    The query's whole-image hash meets the work's whole and cropped hashes; its middle-90 %
    hash meets the work's middle crop and rotated hashes; both as given and mirrored.
    ``region`` is 0 (whole), 1 (crop) or 2 (rotated); ``mirrored`` 0 or 1.
    """
    best = (65, 65, 0, 0)
    middle = len(work.crops) // 2
    for mirrored, view in enumerate(query.views):
        dh = (view.dhash ^ work.dhash).bit_count()
        pairs = [(view.phash, work.phash, 0)]
        pairs += [(view.phash, c, 1) for c in work.crops]
        pairs += [(view.centre, work.crops[middle], 1)]
        pairs += [(view.centre, r, 2) for r in work.rotations]
        for mine, theirs, region in pairs:
            candidate = ((mine ^ theirs).bit_count(), dh, mirrored, region)
            if candidate[:2] < best[:2]:
                best = candidate
    return {
        "phash_distance": best[0],
        "dhash_distance": best[1],
        "mirrored": best[2],
        "region": best[3],
    }


def classify_image(
    distances: dict[str, float], thresholds: ImageThresholds = IMAGE_THRESHOLDS
) -> tuple[str, float] | None:
    """The kind and score of an image match, or None.

    Every image match is a near-duplicate (``region`` in the details tells a crop or a turn);
    the score is 1 at pHash distance 0 and 0 at 32, the distance of unrelated images, and the
    dHash distance only breaks ties (it moves the score by less than one pHash step).
    """
    ph, dh = distances["phash_distance"], distances["dhash_distance"]
    if ph <= thresholds.phash or (ph <= thresholds.phash_confirmed and dh <= thresholds.dhash):
        return NEAR_DUPLICATE, 1.0 - ph / 32.0 - dh / 4096.0
    return None


def score_image(
    query: ImageQuery,
    works: Sequence[Any],
    orders: Sequence[int],
    signatures: Sequence[ImageSignature],
    *,
    thresholds: ImageThresholds = IMAGE_THRESHOLDS,
) -> list[Match]:
    """Verify image candidates against the query; the matches, unranked. (Byte-identical
    copies are the caller's ``exact`` matches, found by content hash.)"""
    out = []
    for work, order, signature in zip(works, orders, signatures, strict=True):
        distances = image_distances(query, signature)
        verdict = classify_image(distances, thresholds)
        if verdict is not None:
            out.append(Match(work, int(order), verdict[0], verdict[1], distances))
    return out


def image_query_keys(query: ImageQuery) -> list[int]:
    """Multi-index keys to look up for a query image and its mirror image."""
    return sorted({k for h in query.phashes for k in image_probe_keys(h)})


def image_work_keys(signature: ImageSignature) -> list[int]:
    """The index rows of an image work: 4 keys for each of its 12 pHashes (deduplicated)."""
    return sorted({k for h in signature.index_hashes for k in image_hash_keys(h)})


def text_related(
    signatures: Mapping[Any, TextSignature], *, thresholds: TextThresholds = TEXT_THRESHOLDS
) -> Related:
    """``related`` for :func:`rank_matches` over text matches (``work`` keys ``signatures``):
    the earlier works whose claimed signatures match the work's own (:func:`text_relations`)."""

    def related(match: Match, earlier: Sequence[Match]) -> npt.NDArray[np.bool_]:
        others = [signatures[e.work] for e in earlier]
        return text_relations(signatures[match.work], others, thresholds=thresholds)

    return related


def text_relations(
    work: TextSignature,
    others: Sequence[TextSignature],
    *,
    thresholds: TextThresholds = TEXT_THRESHOLDS,
) -> npt.NDArray[np.bool_]:
    """Which of ``others`` match ``work``, from the claims' signatures alone.

    The rule of :func:`classify_text` between a query and a work, with both sides estimated
    from MinHash: Jaccard from the share of equal values, the shared shingles from Jaccard
    and the two shingle counts, containment (either way) from those."""
    if not others:
        return np.zeros(0, dtype=np.bool_)
    jaccard = (np.stack([o.minhash for o in others]) == work.minhash).mean(axis=1)
    count = np.array([o.shingles for o in others], dtype=np.float64)
    shared = jaccard / (1.0 + jaccard) * (count + work.shingles)
    contained = shared / np.minimum(count, work.shingles)
    same = np.array([o.sha256_norm == work.sha256_norm for o in others])
    near = (jaccard >= thresholds.near_jaccard) & (shared >= thresholds.near_min_shared)
    partial = (contained >= thresholds.partial_containment) & (
        shared >= thresholds.partial_min_shared
    )
    return np.asarray(same | near | partial, dtype=np.bool_)
