"""Image quality benchmark: edited copies of registered photos among ≥ 100k distractors.

Method: the distinct photos of the wallpaper packages (``photos.py``) are split into two
folds. In each fold, the photos of one half are registered as sources; the other half is cut
into random tiles (20-60 % of the short side, ≤ 256 pixels), enough for ``min_distractors``
distractor works — real photographic content with nothing in common with the sources, since
a tile of a source would be a genuine partial copy. Every source is edited by every image
edit; each query's keys are looked up in a :class:`KeyIndex` built from the registered
signatures, and the candidates are verified and ranked. The folds then swap roles, so every
photo is a source once.

recall@1: the top match is the source. precision: of queries that returned any match, the
share whose top match is the source. false-positive rate: false matches / (queries ×
registered works other than the source), the rate among pairs of distinct works.
"""

from __future__ import annotations

import math
import pickle
import random
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from multiprocessing import Pool
from pathlib import Path

from PIL import Image

from bench.similarity.edits import IMAGE_EDITS
from bench.similarity.photos import load_photos, tiles
from copyseal.errors import InvalidInput
from copyseal.fingerprint.image import ImageSignature, image_fingerprint_v1, image_query_v1
from copyseal.fingerprint.index import (
    IMAGE_THRESHOLDS,
    ImageThresholds,
    KeyIndex,
    Match,
    classify_image,
    image_query_keys,
    image_work_keys,
    rank_matches,
    score_image,
)

LOOSE = ImageThresholds(phash=12, phash_confirmed=16, dhash=16)
SWEEP = [
    ImageThresholds(phash=p, phash_confirmed=c, dhash=d)
    for p in (6, 8, 10)
    for c in (10, 12, 14)
    for d in (8, 10, 12)
    if c >= p
]

_PHOTOS: list[Image.Image] = []


def _photos(root: Path) -> list[Image.Image]:
    cache = root.parent / "photos-v2.pickle"
    if cache.exists():
        with cache.open("rb") as fh:
            cached: list[Image.Image] = pickle.load(fh)
            return cached
    photos = load_photos(root)
    with cache.open("wb") as fh:
        pickle.dump(photos, fh)
    return photos


def _tile_signatures(job: tuple[int, int, int]) -> list[ImageSignature]:
    index, count, seed = job
    out = []
    for tile in tiles(_PHOTOS[index], count, random.Random(f"{seed}/tiles/{index}")):
        try:
            out.append(image_fingerprint_v1(tile, iscc=False))
        except InvalidInput:
            continue  # a blank tile (sky, flat colour)
    return out


@dataclass
class Query:
    edit: str
    source: int
    matches: list[Match]
    registered: int


def _run_fold(
    sources: list[int], others: list[int], seed: int, min_distractors: int, workers: int
) -> tuple[list[Query], int]:
    per = math.ceil(min_distractors * 1.02 / len(others))
    with Pool(workers) as pool:
        chunks = pool.map(_tile_signatures, [(i, per, seed) for i in others])
    distractors = [s for chunk in chunks for s in chunk]
    registered = [image_fingerprint_v1(_PHOTOS[i], iscc=False) for i in sources] + distractors
    rows = [(k, w) for w, sig in enumerate(registered) for k in image_work_keys(sig)]
    index = KeyIndex.from_pairs([k for k, _ in rows], [w for _, w in rows])
    queries = []
    rng = random.Random(f"{seed}/edits")
    for s_i, photo in enumerate(sources):
        for name, edit in IMAGE_EDITS.items():
            query = image_query_v1(edit(_PHOTOS[photo], rng))
            works, _ = index.lookup(image_query_keys(query))
            matches = score_image(
                query,
                works.tolist(),
                works.tolist(),
                [registered[w] for w in works],
                thresholds=LOOSE,
            )
            queries.append(Query(name, s_i, matches, len(registered)))
    return queries, len(distractors)


def evaluate(queries: list[Query], thresholds: ImageThresholds) -> dict[str, dict[str, float]]:
    tally: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for q in queries:
        row = tally[q.edit]
        kept = []
        for m in q.matches:
            verdict = classify_image(m.details, thresholds)
            if verdict is not None:
                kept.append(replace(m, kind=verdict[0], score=verdict[1]))
        ranked = rank_matches(kept, related=lambda _, earlier: [False] * len(earlier))
        row["queries"] += 1
        row["pairs"] += q.registered - 1
        if ranked:
            row["answered"] += 1
            row["hits"] += ranked[0].work == q.source
        wrong = sum(m.work != q.source for m in ranked)
        row["false_pairs"] += wrong
        row["false_queries"] += wrong > 0
    out = {}
    for name, row in tally.items():
        n = row["queries"]
        out[name] = {
            "queries": int(n),
            "recall@1": row["hits"] / n,
            "precision": row["hits"] / row["answered"] if row["answered"] else 1.0,
            "false_positive_rate": row["false_pairs"] / row["pairs"],
            "false_match_queries": row["false_queries"] / n,
        }
    return out


def summarise(rows: dict[str, dict[str, float]]) -> dict[str, float]:
    return {
        "min_recall_resize_jpeg_grey": min(
            rows[k]["recall@1"] for k in ("resize 50%", "jpeg q30", "grayscale")
        ),
        "min_recall_crop_overlay": min(rows[k]["recall@1"] for k in ("crop 10%", "text overlay")),
        "recall_rotate": rows["rotate 5°"]["recall@1"],
        "recall_flip": rows["flip"]["recall@1"],
        "max_fpr": max(v["false_positive_rate"] for v in rows.values()),
        "min_precision": min(v["precision"] for v in rows.values()),
    }


def run(
    root: Path, *, seed: int = 20261123, min_distractors: int = 100_000, workers: int = 2
) -> dict[str, object]:
    start = time.perf_counter()
    _PHOTOS[:] = _photos(root)
    order = list(range(len(_PHOTOS)))
    random.Random(seed).shuffle(order)
    folds = (order[0::2], order[1::2])
    queries: list[Query] = []
    distractors = []
    for sources, others in (folds, folds[::-1]):
        fold_queries, count = _run_fold(sources, others, seed, min_distractors, workers)
        queries += fold_queries  # sources are works 0..n-1 of their own fold's registry
        distractors.append(count)
    t = time.perf_counter()
    sample = [_PHOTOS[i] for i in order[:20]]
    for photo in sample:
        image_fingerprint_v1(photo, iscc=False)
    per_second = len(sample) / (time.perf_counter() - t)
    return {
        "photos": len(_PHOTOS),
        "distractors_per_fold": distractors,
        "seconds": time.perf_counter() - start,
        "fingerprints_per_second_1024px": per_second,
        "rows": evaluate(queries, IMAGE_THRESHOLDS),
        "sweep": [(asdict(t), summarise(evaluate(queries, t))) for t in SWEEP],
    }
