"""Search speed: registration with fingerprinting, fingerprint throughput, ``check`` latency
at 100k and 1M registered texts, index rebuild, and memory per registered work.

The registered texts are the real fortunes corpus (bench/similarity's Debian packages)
followed by distractors: random 40–60 word texts drawn from the corpus's own word
frequencies, so their shingles are as varied as real prose. Queries are corpus texts with
20 % of their words replaced. ``COPYSEAL_BENCH_WORKS`` sets the largest size (default 1M).
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import os
import random
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from bench.common import Figure, percentile
from bench.similarity.corpus import load_corpus
from bench.similarity.data import ensure_data
from copyseal.adapters.home import Home
from copyseal.adapters.storage import open_stores
from copyseal.core.claims import Claim
from copyseal.core.keys import Signer
from copyseal.core.kinds import sign_claim
from copyseal.core.kinds.register import register_body
from copyseal.fingerprint.text import text_fingerprints_v1
from copyseal.services.assembly import assemble, follower_for
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from copyseal.services.parallel import WorkerPool
from copyseal.services.registry import Registry, format_time
from copyseal.services.search import SimilaritySearch

BATCH = 5000
QUERIES = 300


def _now() -> datetime:
    return datetime.now(UTC)


def _distractors(corpus: list[str], rng: random.Random):  # type: ignore[no-untyped-def]
    counts = collections.Counter(w for text in corpus for w in text.split())
    words = list(counts)
    cumulative = list(itertools.accumulate(counts[w] for w in words))
    i = 0
    while True:
        i += 1
        picked = rng.choices(words, cum_weights=cumulative, k=rng.randint(40, 60))
        yield f"{i} " + " ".join(picked)


def _edited(text: str, rng: random.Random) -> str:
    words = text.split()
    for i in rng.sample(range(len(words)), max(1, len(words) // 5)):
        words[i] = rng.choice(["river", "lantern", "quietly", "seven", "under", "brass"])
    return " ".join(words)


def _rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _check_latency(search: SimilaritySearch, queries: list[str]) -> list[float]:
    latencies = []
    for query in queries:
        started = time.perf_counter()
        search.check(query.encode(), TEXT_MEDIA_TYPE, top_k=5)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def _bulk_claims(texts: list[str], signer: Signer) -> list[Claim]:
    """Distractor claims, fingerprinted in one vectorised batch (their ISCC codes are left
    out: the index and the checks never read them)."""
    created = format_time(_now())
    claims = []
    for text, signature in zip(texts, text_fingerprints_v1(texts, iscc=False), strict=True):
        content = text.encode()
        body = register_body(
            sha256=hashlib.sha256(content).digest(),
            size=len(content),
            media_type=TEXT_MEDIA_TYPE,
            fingerprints=signature.to_fields(),
        )
        claims.append(sign_claim(signer, "register", body, nonce=os.urandom(16), created=created))
    return claims


def _registration_rate(works: list[WorkInput], workers: int) -> Figure:
    """Registrations/s of ``works`` into a new log, in batches of 2,000, with the policy and
    the fingerprints in this process or (``workers`` > 1) in a :class:`WorkerPool`, which
    fingerprints and checks the next batch while one is registered (as ``register``)."""
    with tempfile.TemporaryDirectory() as tmp:
        home = _home(Path(tmp))
        stores = home.open_stores()
        opener = partial(open_stores, home.store_url, base=home.path)
        pool = WorkerPool(opener, workers) if workers > 1 else None
        node = assemble(stores, log_signer=home.log_signer, clock=_now, squatting=pool)
        registry = node.registry
        signer = home.keys.load("default")
        batches = [works[start : start + 2000] for start in range(0, len(works), 2000)]
        pairs = ([(w.content, w.media_type) for w in batch] for batch in batches)
        ahead = pool.fingerprints_ahead(pairs) if pool else None
        rates = []
        try:
            started = time.perf_counter()
            for batch in batches:
                fields = next(ahead) if ahead else None
                claims = prepare_register_claims(
                    batch,
                    signer,
                    clock=_now,
                    random_bytes=os.urandom,
                    max_bytes=1 << 20,
                    fingerprints=(lambda _, found=fields: found) if fields else None,
                )
                registry.register(claims, [w.content for w in batch])
                rates.append(len(batch) / (time.perf_counter() - started))
                started = time.perf_counter()
        finally:
            node.close()
            if pool:
                pool.close()
            stores.close()
    where = f"{workers} worker processes" if pool else "one process"
    return Figure(
        f"registrations/s with fingerprinting + anti-squatting check (real texts, {where})",
        statistics.median(rates),
        "/s",
        "≥ 2,000",
    )


def _home(path: Path) -> Home:
    return Home.init(
        path / "h",
        origin="bench.copyseal/search",
        log_seed=os.urandom(32),
        creator_seed=os.urandom(32),
    )


def run() -> list[Figure]:
    target = int(os.environ.get("COPYSEAL_BENCH_WORKS", "1000000"))
    rng = random.Random(11)
    corpus = [t.body for t in load_corpus(ensure_data()) if len(t.body) >= 40]
    queries = [_edited(t, rng) for t in rng.sample(corpus, QUERIES)]
    figures: list[Figure] = []

    sample = corpus[:5000]
    for iscc in (True, False):
        started = time.perf_counter()
        text_fingerprints_v1(sample, iscc=iscc)
        figures.append(
            Figure(
                f"fingerprint throughput, batch ({'MinHash + ISCC' if iscc else 'MinHash only'})",
                len(sample) / (time.perf_counter() - started),
                "texts/s",
                "report",
            )
        )
    # The whole path a creator's batch takes: fingerprint (with ISCC), sign, check for
    # squatting, log durably; in this process, then with worker processes.
    works = [WorkInput(t.encode(), TEXT_MEDIA_TYPE, "bench") for t in corpus[:20_000]]
    figures.append(_registration_rate(works, 1))
    if (workers := min(4, os.cpu_count() or 1)) > 1:
        figures.append(_registration_rate(works, workers))
    with tempfile.TemporaryDirectory() as tmp:
        home = _home(Path(tmp))
        stores = home.open_stores()
        store = stores.log
        follower = follower_for(stores)
        search = SimilaritySearch(store=store, index=stores.similarity, follower=follower)
        signer = home.keys.load("default")
        # Without anti-squatting (the distractors are random), with the folds a registry has.
        bulk = Registry(store=store, log_signer=home.log_signer, clock=_now, follower=follower)
        for start in range(0, 20_000, BATCH):  # the corpus texts the queries are edited from
            bulk.register(_bulk_claims(corpus[start : start + BATCH], signer))
        distractors = _distractors(corpus, rng)
        for size in sorted({min(100_000, target), target}):
            while store.tree_size() < size:
                n = min(BATCH, size - store.tree_size())
                bulk.register(_bulk_claims([next(distractors) for _ in range(n)], signer))
            latencies = _check_latency(search, queries)
            label = f"{size // 1000}k" if size < 1_000_000 else f"{size / 1e6:g}M"
            figures += [
                Figure(f"check latency p50 at {label} texts", statistics.median(latencies), "ms"),
                Figure(
                    f"check latency p95 at {label} texts",
                    percentile(latencies, 0.95),
                    "ms",
                    "≤ 20 ms" if size >= 1_000_000 else "report",
                ),
            ]
        registered = store.tree_size()
        started = time.perf_counter()
        follower.rebuild()
        figures.append(
            Figure(
                f"rebuild of every fold (index, lineage, owners, works) at {registered:,} works",
                time.perf_counter() - started,
                "s",
                "report",
            )
        )
        _check_latency(search, queries)
        figures.append(
            Figure(
                "process peak RSS per registered work (the index lives in SQLite)",
                _rss_kib() * 1024 / registered,
                "bytes",
                "≤ 1 KB",
            )
        )
        bulk.close()
        stores.close()
    return figures
