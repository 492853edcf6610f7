"""``copyseal serve --workers 2``: two processes register into one store at once."""

from __future__ import annotations

import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from copyseal.adapters.home import Home
from copyseal.core.certificate import Certificate, verify_certificate
from copyseal.core.keys import Signer
from copyseal.services.assembly import follower_for
from copyseal.services.audit import audit_log
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from tests.e2e.server_support import running_server

POSTS = 120


def _claims() -> list[dict[str, object]]:
    signer = Signer.from_seed(os.urandom(32))
    works = [
        WorkInput(
            f"Post {i}: the lantern by the {i}th bridge hums of rain and harbour bells.".encode(),
            TEXT_MEDIA_TYPE,
            f"post {i}",
        )
        for i in range(POSTS)
    ]
    claims = prepare_register_claims(
        works, signer, clock=lambda: datetime.now(UTC), random_bytes=os.urandom, max_bytes=1 << 20
    )
    return [c.to_dict() for c in claims]


def test_two_workers_share_one_log(tmp_path: Path) -> None:
    path = tmp_path / "home"
    home = Home.init(
        path, origin="test.copyseal/workers", log_seed=os.urandom(32), creator_seed=os.urandom(32)
    )
    claims = _claims()
    with running_server(path, "--workers", "2", "--no-rate-limit") as base:

        def register(claim: dict[str, object]) -> dict[str, Any]:
            # A connection per request, so the kernel spreads them over both workers.
            with httpx.Client(base_url=base, timeout=30) as http:
                response = http.post("/api/v1/register", json={"claim": claim})
                assert response.status_code == 201, response.text
                return dict(response.json())

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(register, claims))
        # Registering a claim again is idempotent whichever worker answers.
        with httpx.Client(base_url=base) as http:
            again = http.post("/api/v1/register", json={"claim": claims[7]})
            assert again.status_code == 200
            assert again.json()["work_id"] == results[7]["work_id"]

    assert len({r["work_id"] for r in results}) == POSTS
    stores = home.open_stores()
    store = stores.log
    try:
        assert store.tree_size() == POSTS
        assert audit_log(store, home.log_signer.verifier).ok
        for result in results[:: POSTS // 10]:
            cert = Certificate.from_dict(result["certificate"])
            assert verify_certificate(cert, trusted_log=home.log_signer.verifier).ok
        # Both workers folded their batches as they logged them (each span once), exactly
        # as a rebuild from the log makes the index.
        assert stores.similarity.through() == POSTS
        before = _index_rows(path)
        assert len(before) == 64 * POSTS
        follower_for(stores).rebuild()
        assert _index_rows(path) == before
    finally:
        stores.close()


def _index_rows(home: Path) -> set[tuple[int, int]]:
    with sqlite3.connect(home / "copyseal.db") as db:
        return set(
            db.execute("SELECT key, entry FROM fp_keys UNION SELECT key, entry FROM fp_recent")
        )
