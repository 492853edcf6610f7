"""Text quality benchmark: edited copies of registered fortunes among ≥ 100k distractors.

Method (all random choices from one seeded generator):

1. The fortunes corpus (``corpus.py``), near-duplicates removed, is split into sources
   (registered, then edited into queries), a filler pool (never registered; the surrounding
   text of "embed" queries), a negative pool (never registered; unrelated queries that must
   match nothing), and distractors (registered).
2. Distractors are the remaining fortunes plus, until there are at least ``min_distractors``,
   single sentences or lines (≥ 40 characters) of those distractor fortunes — real text that
   shares nothing with the sources.
3. Sources and distractors are registered in random order into a :class:`KeyIndex`, from
   their v1 signatures alone, as the store would.
4. Each query is fingerprinted, its band keys (and window keys) looked up, the candidates
   verified with :func:`score_text`, and ranked with :func:`rank_matches`.

recall@1: the top match is the query's source. precision: of the queries that returned any
match, the share whose top match is the source. false matches: queries whose match list
holds any work other than the source.
"""

from __future__ import annotations

import random
import re
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, replace

import numpy as np

from bench.similarity import edits
from bench.similarity.corpus import Text, load_corpus, load_texts
from copyseal.errors import InvalidInput
from copyseal.fingerprint import text as tfp
from copyseal.fingerprint.index import (
    EXACT,
    TEXT_THRESHOLDS,
    KeyIndex,
    Match,
    TextThresholds,
    classify_text,
    rank_matches,
    score_text,
    text_query_keys,
)
from copyseal.fingerprint.index import text_band_keys as band_keys

_SPLIT = re.compile(r"(?<=[.!?。！？])\s+|\n+")


LOOSE = TextThresholds(
    near_jaccard=0.2, near_min_shared=0, partial_containment=0.4, partial_min_shared=8
)
"""Candidates kept for the threshold sweep: anything a plausible setting could report."""

SWEEP = [
    TextThresholds(near_jaccard=j, near_min_shared=ns, partial_containment=c, partial_min_shared=ps)
    for j in (0.30, 0.35, 0.40)
    for ns in (0, 16, 24)
    for c in (0.6, 0.7, 0.8)
    for ps in (24, 32, 48)
]


@dataclass
class Query:
    edit: str
    cjk: bool
    source: int
    fingerprintable: bool
    candidates: int
    matches: list[Match]
    text: str = ""


def evaluate(queries: list[Query], thresholds: TextThresholds) -> dict[str, dict[str, float]]:
    """Per edit type: recall@1, precision, false-match share, kinds, under ``thresholds``."""
    tally: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for q in queries:
        for name in (q.edit, *([f"CJK: {q.edit}"] if q.cjk else [])):
            row = tally[name]
            row["queries"] += 1
            row["candidates"] += q.candidates
            row["unfingerprintable"] += not q.fingerprintable
            kept = _kept(q.matches, thresholds)
            ranked = rank_matches(kept)
            if ranked:
                row["answered"] += 1
                row["hits"] += ranked[0].work == q.source
                row["false"] += any(m.work != q.source for m in ranked)
                row[f"kind:{ranked[0].kind}"] += ranked[0].work == q.source
    out = {}
    for name, row in tally.items():
        n = row["queries"]
        out[name] = {
            "queries": int(n),
            "recall@1": row["hits"] / n,
            "precision": row["hits"] / row["answered"] if row["answered"] else 1.0,
            "false_match_queries": row["false"] / n,
            "unfingerprintable": int(row["unfingerprintable"]),
            "mean_candidates": row["candidates"] / n,
            **{k: v / n for k, v in sorted(row.items()) if k.startswith("kind:")},
        }
    return out


def summarise(rows: dict[str, dict[str, float]]) -> dict[str, float]:
    """The figures the targets speak of, for comparing threshold settings."""
    edited = {k: v for k, v in rows.items() if not k.startswith(("CJK", "unrelated"))}
    upto20 = [v["recall@1"] for k, v in edited.items() if k[-3:] in (" 5%", "10%", "20%")]
    return {
        "min_recall_upto_20": min(upto20),
        "recall_mix_30": edited["mix 30%"]["recall@1"],
        "min_recall_30": min(v["recall@1"] for k, v in edited.items() if k.endswith("30%")),
        "min_precision": min(v["precision"] for v in edited.values()),
        "negatives_false": rows["unrelated (negatives)"]["false_match_queries"],
        "recall_embed": edited["embed in longer"]["recall@1"],
        "recall_truncate": edited["truncate 60%"]["recall@1"],
    }


@dataclass
class Registry:
    """The registered works: signatures, counts and hashes as the claims record them."""

    minhash: np.ndarray
    shingles: np.ndarray
    sha: list[str]
    index: KeyIndex


def _signatures(bodies: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    sigs = tfp.text_fingerprints_v1(bodies, iscc=False)
    return (
        np.stack([s.minhash for s in sigs]),
        np.array([s.shingles for s in sigs], dtype=np.int64),
        [s.sha256_norm for s in sigs],
    )


def _distractor_sentences(pool: list[Text], have: set[str], need: int, elsewhere: str) -> list[str]:
    """Sentences of distractor fortunes that occur nowhere in ``elsewhere`` (the normalised
    sources, fillers and negatives), lest a distractor be a genuine quote of a query."""
    out: list[str] = []
    for text in pool:
        for piece in _SPLIT.split(text.body):
            piece = piece.strip()
            norm = tfp.normalise_text_v1(piece)
            if (
                len(piece) >= 40
                and norm not in have
                and norm not in elsewhere
                and tfp.shingle_hashes_v1(norm).size >= tfp.MIN_SHINGLES
            ):
                have.add(norm)
                out.append(piece)
                if len(out) >= need:
                    return out
    return out


def check(registry: Registry, query: str) -> tuple[int, list[Match]]:
    """Candidates looked up and the loosely verified matches (unranked)."""
    features = tfp.text_features_v1(query)
    works, _ = registry.index.lookup(text_query_keys(features))
    matches = score_text(
        features,
        works.tolist(),
        works.tolist(),
        registry.minhash[works],
        registry.shingles[works],
        [registry.sha[w] for w in works],
        thresholds=LOOSE,
    )
    return works.size, matches


def run(
    root: object, *, seed: int = 20261123, sources: int = 2000, min_distractors: int = 100_000
) -> dict[str, object]:
    rng = random.Random(seed)
    t0 = time.perf_counter()
    corpus = load_corpus(root)  # type: ignore[arg-type]
    order = list(range(len(corpus)))
    rng.shuffle(order)
    src = [corpus[i] for i in order[:sources]]
    fillers = [corpus[i].body for i in order[sources : sources + 2000]]
    negatives = [corpus[i].body for i in order[sources + 2000 : sources + 4000]]
    pool = [corpus[i] for i in order[sources + 4000 :]]
    have = {tfp.normalise_text_v1(t.body) for t in corpus}
    elsewhere = "\n".join(
        tfp.normalise_text_v1(t) for t in [t.body for t in src] + fillers + negatives
    )
    extra = _distractor_sentences(pool, have, max(0, min_distractors - len(pool)), elsewhere)
    distractors = [t.body for t in pool] + extra
    vocab: dict[str, list[str]] = defaultdict(list)
    for t in pool[:40_000]:
        vocab[t.lang].extend(edits.tokens(t.body))

    bodies = [t.body for t in src] + distractors
    perm = list(range(len(bodies)))
    rng.shuffle(perm)  # registration order: sources are not all first
    bodies = [bodies[i] for i in perm]
    where = {p: i for i, p in enumerate(perm)}  # original position → work number
    minhash, shingles, sha = _signatures(bodies)
    registry = Registry(minhash, shingles, sha, KeyIndex.build(band_keys(minhash)))
    setup = time.perf_counter() - t0

    queries: list[Query] = []
    for s_i, text in enumerate(src):
        table = edits.text_edits(vocab[text.lang], fillers)
        for name, edit in table.items():
            query = edit(text.body, random.Random(f"{seed}/{s_i}/{name}"))
            queries.append(_run_query(registry, query, name, text.lang == "zh", where[s_i]))
    for body in negatives:
        queries.append(_run_query(registry, body, "unrelated (negatives)", False, -1))
    sweep = [(t, summarise(evaluate(queries, t))) for t in SWEEP]
    return {
        "corpus": len(corpus),
        "sources": len(src),
        "distractors": len(distractors),
        "distractor_sentences": len(extra),
        "cjk_sources": sum(t.lang == "zh" for t in src),
        "registered": len(bodies),
        "setup_seconds": setup,
        "check_seconds_mean": (time.perf_counter() - t0 - setup) / len(queries),
        "rows": evaluate(queries, TEXT_THRESHOLDS),
        "wrong_top1": _wrong(queries, bodies),
        "sweep": [(asdict(t), figures) for t, figures in sweep],
    }


def _wrong(queries: list[Query], bodies: list[str], limit: int = 40) -> list[dict[str, object]]:
    """Queries whose best match is another work: what was asked, what was answered."""
    out: list[dict[str, object]] = []
    for q in queries:
        ranked = rank_matches(_kept(q.matches, TEXT_THRESHOLDS))
        if ranked and ranked[0].work != q.source and len(out) < limit:
            out.append(
                {
                    "edit": q.edit,
                    "query": q.text[:300],
                    "source": bodies[q.source][:300] if q.source >= 0 else None,
                    "answer": bodies[ranked[0].work][:300],
                    "match": ranked[0].to_dict(),
                }
            )
    return out


def _kept(matches: list[Match], thresholds: TextThresholds) -> list[Match]:
    """The matches that count under ``thresholds``, with the kind and score they get there."""
    kept = []
    for m in matches:
        d = m.details
        verdict = classify_text(
            exact=m.kind == EXACT,
            jaccard=d["jaccard"],
            work_in_query=d["containment"],
            query_in_work=d["containment_of_query"],
            shared=d["shared"],
            thresholds=thresholds,
        )
        if verdict is not None:
            kept.append(replace(m, kind=verdict[0], score=verdict[1]))
    return kept


def _run_query(registry: Registry, query: str, edit: str, cjk: bool, source: int) -> Query:
    try:
        candidates, matches = check(registry, query)
    except InvalidInput:
        return Query(edit, cjk, source, False, 0, [], query)
    return Query(edit, cjk, source, True, candidates, matches, query)


def throughput(root: object, n: int = 20_000) -> dict[str, float]:
    """Texts fingerprinted per second on real fortunes (one core)."""
    texts = [t.body for t in load_texts(root)[:n]]  # type: ignore[arg-type]
    out: dict[str, float] = {}
    start = time.perf_counter()
    tfp.text_fingerprints_v1(texts, iscc=False)
    out["minhash_batch"] = len(texts) / (time.perf_counter() - start)
    start = time.perf_counter()
    for t in texts:
        tfp.text_fingerprint_v1(t, iscc=False)
    out["minhash_one_by_one"] = len(texts) / (time.perf_counter() - start)
    few = texts[:2000]
    start = time.perf_counter()
    tfp.text_fingerprints_v1(few, iscc=True)
    out["with_iscc"] = len(few) / (time.perf_counter() - start)
    try:
        from datasketch import MinHash

        start = time.perf_counter()
        for t in few:
            m = MinHash(num_perm=128)
            norm = tfp.normalise_text_v1(t)
            m.update_batch([norm[i : i + 4].encode() for i in range(max(1, len(norm) - 3))])
        out["datasketch_128"] = len(few) / (time.perf_counter() - start)
    except ImportError:
        pass
    return out
