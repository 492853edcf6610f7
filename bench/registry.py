"""Registry figures: registrations per second (batch and one at a time), verifications/s."""

from __future__ import annotations

import os
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Figure, median_rate
from copyseal.adapters.home import Home
from copyseal.core.certificate import Certificate
from copyseal.core.claims import Claim
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from copyseal.services.registry import Registry
from copyseal.services.verification import check_certificate

WORDS = (
    "light rain on the window the cat sleeps a kettle hums far away a train calls out "
    "under the bridge old letters wait in a drawer we said nothing and the night went on"
).split()


def texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = f"{i}"
        while len(text) < 280:
            text += " " + rng.choice(WORDS)
        out.append(text[:280])
    return out


def _now() -> datetime:
    return datetime.now(UTC)


class _Bench:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs = 0

    def registry(self) -> tuple[Home, Registry]:
        self.runs += 1
        home = Home.init(
            self.root / f"h{self.runs}",
            origin="bench.copyseal/log",
            log_seed=os.urandom(32),
            creator_seed=os.urandom(32),
        )
        return home, Registry(store=home.open_store(), log_signer=home.log_signer, clock=_now)

    def claims(self, home: Home, n: int, corpus: list[str] | None = None) -> list[Claim]:
        corpus = corpus or texts(n, seed=self.runs)
        works = [WorkInput(t.encode(), TEXT_MEDIA_TYPE, "bench") for t in corpus[:n]]
        return prepare_register_claims(
            works,
            home.keys.load("default"),
            clock=_now,
            random_bytes=os.urandom,
            max_bytes=1 << 20,
        )


def run(n: int = 10_000) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        bench = _Bench(Path(tmp))
        figures = []

        corpus = texts(n, seed=0)

        def batch() -> None:
            home, reg = bench.registry()
            claims = bench.claims(home, n, corpus)
            for start in range(0, n, 5000):
                reg.register(claims[start : start + 5000])
            reg.close()

        figures.append(
            Figure(
                "registrations/s, 10k texts of 280 chars, durable, batch path (sign + log)",
                median_rate(n, batch),
                "/s",
                "≥ 5,000",
            )
        )

        single = n // 5

        def one_by_one() -> None:
            home, reg = bench.registry()
            for claim in bench.claims(home, single, corpus):
                reg.register_one(claim)
            reg.close()

        figures.append(
            Figure(
                f"registrations/s, one at a time ({single} texts, one commit each)",
                median_rate(single, one_by_one),
                "/s",
                "≥ 1,000",
            )
        )

        home, reg = bench.registry()
        certs: list[bytes] = []
        claims = bench.claims(home, n)
        for start in range(0, n, 1000):
            for outcome in reg.register(claims[start : start + 1000]):
                assert isinstance(outcome.certificate, Certificate)  # type: ignore[union-attr]
                certs.append(outcome.certificate.to_json())  # type: ignore[union-attr]
        reg.close()
        log = home.log_signer.verifier

        def verify() -> None:
            cache: dict = {}  # type: ignore[type-arg]
            for data in certs:
                assert check_certificate(data, trusted_log=log, verified_notes=cache).ok

        figures.append(
            Figure(
                "certificate verifications/s (10k certificates, 10 checkpoints)",
                median_rate(len(certs), verify),
                "/s",
                "≥ 5,000",
            )
        )
        return figures
