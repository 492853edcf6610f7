"""Registration, idempotency, replay, group commit, proofs and the audit."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copyseal.adapters.home import Home
from copyseal.core import merkle
from copyseal.core.certificate import verify_certificate
from copyseal.core.claims import Claim, sign_envelope
from copyseal.core.keys import Signer
from copyseal.core.kinds import sign_claim
from copyseal.core.note import NoteSigner
from copyseal.errors import (
    ConflictError,
    NotAccepted,
    NotFound,
    UnsupportedVersion,
    VerificationError,
)
from copyseal.services.audit import audit_log
from copyseal.services.creator import WorkInput, prepare_register_claims
from copyseal.services.registry import Registration, Registry
from tests.support import FakeClock, seeded_bytes

CREATED = "2026-01-01T00:00:00Z"


def claims_for(signer: Signer, texts: list[str], seed: int = 0) -> list[Claim]:
    works = [
        WorkInput(t.encode(), "text/plain; charset=utf-8", f"t{i}") for i, t in enumerate(texts)
    ]
    return prepare_register_claims(
        works, signer, clock=FakeClock(), random_bytes=seeded_bytes(seed), max_bytes=1 << 20
    )


def test_registered_work_has_a_verifying_certificate(registry: Registry, creator: Signer) -> None:
    [claim] = claims_for(creator, ["a short poem"])
    reg = registry.register_one(claim)
    assert reg.created
    report = verify_certificate(
        reg.certificate, trusted_log=registry.log_signer.verifier, content=b"a short poem"
    )
    assert report.ok, report.to_dict()
    assert registry.certificate(reg.certificate.work_id).work_id == reg.certificate.work_id
    work = registry.work(reg.certificate.work_id.lower())
    assert work["owner"] == creator.did
    assert work["content"]["size"] == len(b"a short poem")


def test_same_creator_same_bytes_is_idempotent(registry: Registry, creator: Signer) -> None:
    first = registry.register_one(claims_for(creator, ["haiku"], seed=1)[0])
    again = registry.register_one(claims_for(creator, ["haiku"], seed=2)[0])
    assert not again.created
    assert again.certificate.work_id == first.certificate.work_id
    assert registry.store.tree_size() == 1


def test_duplicates_inside_one_batch_collapse(registry: Registry, creator: Signer) -> None:
    claims = claims_for(creator, ["x", "y", "x"])
    results = registry.register(claims)
    ids = [r.certificate.work_id for r in results if not isinstance(r, Exception)]
    assert ids[0] == ids[2] != ids[1]
    assert registry.store.tree_size() == 2


def test_replayed_claim_is_not_logged_twice(registry: Registry, creator: Signer) -> None:
    [claim] = claims_for(creator, ["replay me"])
    registry.register_one(claim)
    again = registry.register_one(claim)
    assert not again.created
    assert registry.store.tree_size() == 1


def test_reused_nonce_for_other_content_is_a_conflict(registry: Registry, creator: Signer) -> None:
    [first] = claims_for(creator, ["one"], seed=5)
    [second] = claims_for(creator, ["two"], seed=5)
    assert first.nonce == second.nonce
    registry.register_one(first)
    with pytest.raises(ConflictError):
        registry.register_one(second)
    assert registry.store.tree_size() == 1


def test_bad_signature_fails_only_its_slot(registry: Registry, creator: Signer) -> None:
    good, bad = claims_for(creator, ["good", "bad"])
    forged = Claim(**{**bad.__dict__, "body": {**bad.body, "title": "forged"}})
    results = registry.register([good, forged])
    assert not isinstance(results[0], Exception)
    assert isinstance(results[1], VerificationError)
    assert registry.store.tree_size() == 1


def test_concurrent_registrations_all_land(registry: Registry) -> None:
    signers = [Signer.from_seed(bytes([i + 1]) * 32) for i in range(8)]
    results: dict[int, list[str]] = {}

    def worker(n: int) -> None:
        claims = claims_for(signers[n], [f"work {n}-{i}" for i in range(40)], seed=n)
        results[n] = [registry.register_one(c).certificate.work_id for c in claims]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [w for ws in results.values() for w in ws]
    assert len(set(ids)) == 320 == registry.store.tree_size()
    assert audit_log(registry.store, registry.log_signer.verifier).ok


def _fresh_registry(path: Path) -> Registry:
    home = Home.init(path, origin="t.example/log", log_seed=b"\x03" * 32, creator_seed=b"\x04" * 32)
    fixed = datetime(2026, 11, 1, tzinfo=UTC)
    return Registry(store=home.open_store(), log_signer=home.log_signer, clock=lambda: fixed)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=25, unique=True),
    cuts=st.lists(st.integers(min_value=1, max_value=25), max_size=6),
)
def test_batches_equal_one_by_one(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], cuts: list[int]
) -> None:
    creator = Signer.from_seed(b"\x09" * 32)
    claims = claims_for(creator, [f"work {t}" for t in texts])
    one = _fresh_registry(tmp_path_factory.mktemp("one"))
    many = _fresh_registry(tmp_path_factory.mktemp("many"))
    for c in claims:
        one.register_one(c)
    bounds = sorted({0, len(claims), *(c for c in cuts if c < len(claims))})
    for a, b in itertools.pairwise(bounds):
        many.register(claims[a:b])
    n = len(claims)
    assert one.store.entries(0, n) == many.store.entries(0, n)
    assert merkle.root(n, one.store.read_node) == merkle.root(n, many.store.read_node)
    for r in (one, many):
        r.close()
        r.store.close()


def test_proofs_verify(registry: Registry, creator: Signer) -> None:
    for i in range(5):
        registry.register(claims_for(creator, [f"p{i}-{j}" for j in range(i + 1)], seed=i))
    size = registry.store.tree_size()
    assert size == 15
    for index in range(size):
        p = registry.inclusion_proof(index, size)
        merkle.verify_inclusion(
            index,
            size,
            bytes.fromhex(p["leaf_hash"]),
            [bytes.fromhex(h) for h in p["proof"]],
            bytes.fromhex(p["root_hash"]),
        )
    for old in range(size + 1):
        c = registry.consistency_proof(old, size)
        merkle.verify_consistency(
            old,
            size,
            bytes.fromhex(c["old_root"]),
            bytes.fromhex(c["new_root"]),
            [bytes.fromhex(h) for h in c["proof"]],
        )
    with pytest.raises(NotFound):
        registry.inclusion_proof(size)
    with pytest.raises(NotFound):
        registry.consistency_proof(3, size + 1)


def test_certificate_from_earlier_checkpoint_still_verifies(
    registry: Registry, creator: Signer
) -> None:
    first = registry.register_one(claims_for(creator, ["early"], seed=1)[0]).certificate
    registry.register(claims_for(creator, [f"later {i}" for i in range(10)], seed=2))
    report = verify_certificate(first, trusted_log=registry.log_signer.verifier)
    assert report.ok and first.tree_size == 1
    refreshed = registry.certificate(first.work_id)
    assert refreshed.tree_size == 11
    assert verify_certificate(refreshed, trusted_log=registry.log_signer.verifier).ok


@pytest.mark.parametrize(
    ("sql", "kind", "where"),
    [
        (
            "UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), '2026-11-01', "
            "'2026-10-01') AS BLOB) WHERE idx = 3",
            "entry",
            3,
        ),
        ("UPDATE entries SET leaf_hash = zeroblob(32) WHERE idx = 5", "entry", 5),
        ("UPDATE nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 2", "node", "1/2"),
        (
            "UPDATE checkpoints SET note = replace(note, 'test.copyseal', 'evil.copyseal')"
            " WHERE size = 4",
            "checkpoint",
            4,
        ),
    ],
)
def test_audit_names_the_first_tampered_record(
    registry: Registry, home: Home, creator: Signer, sql: str, kind: str, where: object
) -> None:
    registry.register(claims_for(creator, [f"poem {i}" for i in range(4)], seed=1))
    registry.register(claims_for(creator, [f"poem {i}" for i in range(4, 9)], seed=2))
    verifier = registry.log_signer.verifier
    assert audit_log(registry.store, verifier).ok
    with sqlite3.connect(home.path / "copyseal.db") as db:
        assert db.execute(sql).rowcount == 1
    report = audit_log(registry.store, verifier)
    assert not report.ok
    first = report.problems[0]
    assert (first["kind"], first["where"]) == (kind, where)


def test_audit_catches_a_rewritten_history(registry: Registry, home: Home, creator: Signer) -> None:
    """An operator who rewrites a leaf and recomputes every hash still contradicts the
    checkpoints it signed before."""
    registry.register(claims_for(creator, [f"poem {i}" for i in range(4)], seed=1))
    registry.register(claims_for(creator, [f"poem {i}" for i in range(4, 8)], seed=2))
    forger = Signer.from_seed(b"\x66" * 32)
    with sqlite3.connect(home.path / "copyseal.db") as db:
        leaf = db.execute("SELECT leaf FROM entries WHERE idx = 0").fetchone()[0]
        entries = [bytes(r[0]) for r in db.execute("SELECT leaf FROM entries ORDER BY idx")]
        entries[0] = bytes(leaf).replace(creator.did.encode(), forger.did.encode())
        hashes = [merkle.leaf_hash(e) for e in entries]
        _, nodes = merkle.append_nodes(0, lambda level, i: b"", hashes)
        db.execute(
            "UPDATE entries SET leaf = ?, leaf_hash = ? WHERE idx = 0", (entries[0], hashes[0])
        )
        db.executemany(
            "UPDATE nodes SET hash = ? WHERE level = ? AND idx = ?",
            [(h, lv, i) for (lv, i), h in nodes.items()],
        )
    report = audit_log(registry.store, registry.log_signer.verifier)
    kinds = {p["kind"] for p in report.problems}
    assert {"entry", "checkpoint"} <= kinds  # the forged signature, and both old checkpoints
    assert [p["where"] for p in report.problems if p["kind"] == "checkpoint"] == [4, 8]


def test_other_log_signer_cannot_pass_audit(registry: Registry, creator: Signer) -> None:
    registry.register(claims_for(creator, ["a"]))
    other = NoteSigner("test.copyseal/home", b"\x05" * 32).verifier
    report = audit_log(registry.store, other)
    assert [p["kind"] for p in report.problems] == ["checkpoint"]


def test_claim_of_unknown_type_cannot_be_signed(creator: Signer) -> None:
    with pytest.raises(UnsupportedVersion, match="unknown to this copyseal"):
        sign_claim(creator, "teleport", {}, nonce=b"\x00" * 16, created="2026-01-01T00:00:00Z")


def test_a_kind_the_registry_does_not_accept_is_refused_in_its_slot(
    registry: Registry, creator: Signer
) -> None:
    """A well-signed claim of a kind this log does not take: a clear error, the rest logged."""
    foreign = sign_envelope(
        creator, "teleport", {"to": "mars"}, version=1, nonce=b"\x01" * 16, created=CREATED
    )
    good = claims_for(creator, ["kept"])[0]
    refused, kept = registry.register([foreign, good])
    assert isinstance(refused, NotAccepted) and refused.http_status == 422
    assert refused.exit_code == 3
    assert "claim type 'teleport' is not accepted by this log" in refused.message
    assert isinstance(kept, Registration) and kept.created
    assert registry.store.tree_size() == 1


def test_a_known_kind_in_an_unknown_body_version_is_refused(
    registry: Registry, creator: Signer
) -> None:
    good = claims_for(creator, ["x"])[0]
    newer = sign_envelope(
        creator, "register", good.body, version=2, nonce=b"\x02" * 16, created=CREATED
    )
    (refused,) = registry.register([newer])
    assert isinstance(refused, UnsupportedVersion)
    assert registry.store.tree_size() == 0
