"""The anti-squatting policy over a batch: every claim gets its own verdict, the same verdict
it gets alone, although the batch's texts are checked together."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

import pytest

from copyseal.adapters.home import Home
from copyseal.adapters.storage import open_stores
from copyseal.core.claims import Claim
from copyseal.core.keys import Signer
from copyseal.core.kinds import sign_claim
from copyseal.core.kinds.register import register_body
from copyseal.errors import ConflictError, EmptyContent, NotFound
from copyseal.services.admission import AllOf, Assessment
from copyseal.services.assembly import assemble
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from copyseal.services.fingerprints import fingerprint_fields
from copyseal.services.parallel import WorkerPool
from copyseal.services.registry import Registration
from tests.support import FakeClock, png_bytes, seeded_bytes

POEM = (
    "Under the bridge the river keeps its own counsel, carrying the lanterns of a festival "
    "nobody remembers, and the old ferryman hums the tune his mother taught him."
)
NOTE = "A shopping list: flour, eggs, a jar of honey, lamp oil and a new broom for the hall."


def _claims(signer: Signer, texts: list[str], seed: int, **extra: object) -> list[Claim]:
    works = [WorkInput(t.encode(), TEXT_MEDIA_TYPE, f"text {i}") for i, t in enumerate(texts)]
    return prepare_register_claims(
        works,
        signer,
        clock=FakeClock(),
        random_bytes=seeded_bytes(seed),
        max_bytes=1 << 20,
        **extra,  # type: ignore[arg-type]
    )


def _by_hash_only(signer: Signer, content: bytes) -> Claim:
    body = register_body(
        sha256=hashlib.sha256(content).digest(), size=len(content), media_type=TEXT_MEDIA_TYPE
    )
    return sign_claim(signer, "register", body, nonce=b"\x07" * 16, created="2026-11-23T00:00:00Z")


@pytest.mark.parametrize(
    ("workers", "fingerprinted"),
    [(0, False), (2, False), (2, True)],
    ids=["in-process", "worker-processes", "checked-when-fingerprinted"],
)
def test_each_claim_of_a_batch_gets_its_own_verdict(
    tmp_path: Path, workers: int, fingerprinted: bool
) -> None:
    """The same verdicts whether this process checks the batch, worker processes do, or the
    workers checked the texts when they fingerprinted them."""
    home = Home.init(
        tmp_path / "home", origin="test.copyseal/policy", log_seed=bytes(32), creator_seed=bytes(32)
    )
    stores = home.open_stores()
    pool = (
        WorkerPool(partial(open_stores, home.store_url, base=home.path), workers)
        if workers
        else None
    )
    node = assemble(stores, log_signer=home.log_signer, clock=FakeClock(), squatting=pool)
    registry = node.registry
    policy = AllOf(registry.policies)
    alice, bob = Signer.from_seed(b"a" * 32), Signer.from_seed(b"b" * 32)
    try:
        [first] = registry.register(_claims(alice, [POEM], 1), [POEM.encode()])
        assert isinstance(first, Registration)
        poem_id = first.certificate.work_id

        copy = POEM.replace("festival", "carnival")
        edited = POEM.replace("river", "stream")
        texts = [copy, NOTE, edited, "Hi there"]
        claims = _claims(bob, texts[:2], 2) + _claims(alice, texts[2:], 3)
        claims.append(_by_hash_only(bob, POEM.encode()))
        claims.append(_by_hash_only(bob, b"   \n"))
        [declared] = _claims(bob, [copy + " (my remix)"], 4, derivative_of=[poem_id])
        [dangling] = _claims(bob, [NOTE + " Again."], 5, derivative_of=["000099-AAAA"])
        claims += [declared, dangling]
        contents: list[bytes | None] = [t.encode() for t in texts]
        contents += [None, b"   \n", (copy + " (my remix)").encode(), (NOTE + " Again.").encode()]

        if fingerprinted:
            assert pool is not None
            pool.fingerprints([(b, TEXT_MEDIA_TYPE) for b in contents if b and b.strip()])
            assert len(pool._checked) == 6
        verdicts = policy.assess_many(claims, contents)
        if fingerprinted:  # the plain registrations' matches were used, and only once
            assert pool is not None and len(pool._checked) == 2
        alone = [policy.assess_many([c], [b])[0] for c, b in zip(claims, contents, strict=True)]
        assert [_summary(v) for v in alone] == [_summary(v) for v in verdicts]

        squat, note, version, short, exact, empty, derivative, missing = verdicts
        assert (
            isinstance(squat.refusal, ConflictError) and squat.refusal.details["earlier"] == poem_id
        )
        assert note.refusal is None and note.links == ()
        assert version.refusal is None and version.links == ((0, "version"),)
        assert short.refusal is None and short.links == ()  # too short: exact copies only
        assert isinstance(exact.refusal, ConflictError)  # no content: held to its exact hash
        assert isinstance(empty.refusal, EmptyContent)
        assert derivative.refusal is None
        assert isinstance(missing.refusal, NotFound)

        # The registry logs exactly the claims the policy let through.
        results = registry.register(claims, contents)
        logged = [isinstance(r, Registration) for r in results]
        assert logged == [False, True, True, True, False, False, True, False]
    finally:
        node.close()
        if pool is not None:
            pool.close()
        stores.close()


def test_worker_processes_compute_the_same_fingerprints(tmp_path: Path) -> None:
    works = [(t.encode(), TEXT_MEDIA_TYPE) for t in (POEM, NOTE, "Hi there")]
    works.append((png_bytes(3, size=64), "image/png"))
    home = Home.init(
        tmp_path / "home", origin="test.copyseal/policy", log_seed=bytes(32), creator_seed=bytes(32)
    )
    pool = WorkerPool(partial(open_stores, home.store_url, base=home.path), 2)
    try:
        assert pool.fingerprints(works) == [fingerprint_fields(*w) for w in works]
        with pytest.raises(EmptyContent):  # raised where the work was fingerprinted
            pool.fingerprints([*works, (b" ... !!! ", TEXT_MEDIA_TYPE)])
    finally:
        pool.close()


def _summary(verdict: Assessment) -> tuple[object, ...]:
    refusal = verdict.refusal
    return (type(refusal), refusal and refusal.message, verdict.links)
