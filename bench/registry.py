"""Registry figures: registrations per second (batch and one at a time), verifications/s."""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Figure, median_rate
from copyseal.adapters.home import Home
from copyseal.core.certificate import Certificate
from copyseal.core.claims import Claim
from copyseal.core.kinds import sign_claim
from copyseal.core.kinds.register import register_body
from copyseal.domain.stores import Stores
from copyseal.services.assembly import assemble, follower_for
from copyseal.services.creator import TEXT_MEDIA_TYPE
from copyseal.services.registry import Registry, format_time
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
        self.opened: list[Stores] = []

    def close(self) -> None:
        for stores in self.opened:
            stores.close()

    def registry(self, *, policy: bool = False) -> tuple[Home, Registry]:
        """A registry on a new home, with its folds; with ``policy``, also the admission rules
        the interfaces wire (claims without content: held to their exact hash, checked before
        and again inside the sequencer)."""
        self.runs += 1
        home = Home.init(
            self.root / f"h{self.runs}",
            origin="bench.copyseal/log",
            log_seed=os.urandom(32),
            creator_seed=os.urandom(32),
        )
        stores = home.open_stores()
        self.opened.append(stores)
        if policy:
            return home, assemble(stores, log_signer=home.log_signer, clock=_now).registry
        follower = follower_for(stores)
        return home, Registry(
            store=stores.log, log_signer=home.log_signer, clock=_now, follower=follower
        )

    def claims(self, home: Home, n: int, corpus: list[str] | None = None) -> list[Claim]:
        """Register claims by exact hash, the registry's own path (issue 2); fingerprinting
        is measured with search (bench/search.py)."""
        corpus = corpus or texts(n, seed=self.runs)
        signer = home.keys.load("default")
        created = format_time(_now())
        out = []
        for text in corpus[:n]:
            content = text.encode()
            body = register_body(
                sha256=hashlib.sha256(content).digest(),
                size=len(content),
                media_type=TEXT_MEDIA_TYPE,
            )
            out.append(sign_claim(signer, "register", body, nonce=os.urandom(16), created=created))
        return out


def run(n: int = 10_000) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        bench = _Bench(Path(tmp))
        figures = []

        corpus = texts(n, seed=0)

        def batch(policy: bool = False) -> None:
            home, reg = bench.registry(policy=policy)
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
        figures.append(
            Figure(
                "registrations/s, the same with the anti-squatting policy (exact hashes)",
                median_rate(n, lambda: batch(policy=True)),
                "/s",
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
        bench.close()
        return figures
