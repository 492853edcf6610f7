"""The witness use-case: what it cosigns, what it refuses, and the evidence it returns."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from copyseal.core.merkle import EMPTY_ROOT
from copyseal.core.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Checkpoint,
    Note,
    NoteSigner,
    NoteVerifier,
    sign_note,
    verify_note,
)
from copyseal.domain.witness import WitnessedCheckpoint
from copyseal.errors import (
    ConflictError,
    Forbidden,
    InconsistencyError,
    InvalidInput,
    MalformedDocument,
    NotFound,
    VerificationError,
)
from copyseal.services.witness import Witness
from tests.unit.core.helpers import load_vector
from tests.witness_support import (
    LOG_ORIGIN,
    NOW,
    FakeLog,
    MemoryWitnessStore,
    witness_signer,
)

WITNESS_KEY = witness_signer().verifier


def make_witness(*logs: FakeLog, store: Any = None) -> Witness:
    trusted = {log.signer.name: [log.signer.verifier] for log in logs}
    return Witness(store=store or MemoryWitnessStore(), signer=witness_signer(), logs=trusted)


def cosigned(signed: str, lines: list[Any]) -> Note:
    return Note.from_text(signed).with_signatures(lines)


def test_first_checkpoint_is_accepted_with_old_size_zero() -> None:
    log = FakeLog().grow(5)
    witness = make_witness(log)
    lines = witness.add_checkpoint(0, [], log.checkpoint(), now=NOW)
    assert len(lines) == 1 and lines[0].timestamp == NOW
    note = cosigned(log.checkpoint(), lines)
    assert verify_note(note, [log.signer.verifier, WITNESS_KEY]) == [
        log.signer.verifier,
        WITNESS_KEY,
    ]
    latest = witness.latest(LOG_ORIGIN)
    assert latest == WitnessedCheckpoint(LOG_ORIGIN, 5, log.root(), log.checkpoint())


def test_cosignature_verifies_with_the_witness_vkey_alone() -> None:
    log = FakeLog().grow(2)
    witness = make_witness(log)
    vkey = witness.verifier.to_vkey()
    assert vkey.startswith("test.copyseal/witness+")
    assert NoteVerifier.from_vkey(vkey).alg == ALG_COSIGNATURE_V1
    lines = witness.add_checkpoint(0, [], log.checkpoint(), now=NOW)
    only_witness = Note(Note.from_text(log.checkpoint()).text, tuple(lines))
    assert verify_note(only_witness, [NoteVerifier.from_vkey(vkey)]) == [WITNESS_KEY]


@pytest.mark.parametrize(("first", "then"), [(1, 2), (3, 7), (4, 8), (5, 5), (7, 300)])
def test_growth_with_a_valid_proof(first: int, then: int) -> None:
    log = FakeLog().grow(first)
    witness = make_witness(log)
    witness.add_checkpoint(0, [], log.checkpoint(), now=NOW)
    log.grow(then)
    lines = witness.add_checkpoint(first, log.proof(first), log.checkpoint(), now=NOW + 1)
    verify_note(cosigned(log.checkpoint(), lines), [WITNESS_KEY])
    latest = witness.latest(LOG_ORIGIN)
    assert latest is not None and (latest.size, latest.root_hash) == (then, log.root())


def test_a_bad_proof_is_refused_and_nothing_changes() -> None:
    log = FakeLog().grow(3)
    witness = make_witness(log)
    witness.add_checkpoint(0, [], log.checkpoint(), now=NOW)
    log.grow(7)
    proof = log.proof(3)
    proof[0] = hashlib.sha256(b"not a node").digest()
    with pytest.raises(VerificationError) as caught:
        witness.add_checkpoint(3, proof, log.checkpoint(), now=NOW)
    assert caught.value.check == "consistency"
    assert caught.value.http_status == 422
    assert caught.value.details["witnessed_checkpoint"] == log.checkpoint(3)
    assert witness.latest(LOG_ORIGIN) == WitnessedCheckpoint(
        LOG_ORIGIN, 3, log.root(3), log.checkpoint(3)
    )


@pytest.mark.parametrize(
    "proof",
    [
        [],  # missing
        [hashlib.sha256(b"x").digest()],  # from size zero a proof must be empty
    ],
)
def test_proof_shape_is_checked(proof: list[bytes]) -> None:
    log = FakeLog().grow(3)
    witness = make_witness(log)
    if proof:
        with pytest.raises(VerificationError):
            witness.add_checkpoint(0, proof, log.checkpoint(), now=NOW)
        return
    witness.add_checkpoint(0, [], log.checkpoint(), now=NOW)
    log.grow(6)
    with pytest.raises(VerificationError):
        witness.add_checkpoint(3, proof, log.checkpoint(), now=NOW)


def test_a_branch_beyond_the_witnessed_size_cannot_be_proven() -> None:
    honest = FakeLog().grow(4)
    witness = make_witness(honest)
    witness.add_checkpoint(0, [], honest.checkpoint(), now=NOW)
    rewritten = FakeLog(branch="rewritten").grow(9)
    with pytest.raises(VerificationError) as caught:
        witness.add_checkpoint(4, rewritten.proof(4), rewritten.checkpoint(), now=NOW)
    assert caught.value.details["submitted_checkpoint"] == rewritten.checkpoint()
    assert witness.latest(LOG_ORIGIN).size == 4  # type: ignore[union-attr]


def test_a_fork_at_the_same_size_is_refused_with_both_checkpoints() -> None:
    honest = FakeLog().grow(6)
    witness = make_witness(honest)
    witness.add_checkpoint(0, [], honest.checkpoint(), now=NOW)
    fork = FakeLog().grow(4).grow(6, branch="fork")
    with pytest.raises(InconsistencyError) as caught:
        witness.add_checkpoint(6, [], fork.checkpoint(), now=NOW)
    evidence = caught.value.details
    assert caught.value.http_status == 409
    assert evidence["origin"] == LOG_ORIGIN and evidence["size"] == 6
    assert evidence["witnessed_checkpoint"] == honest.checkpoint()
    assert evidence["submitted_checkpoint"] == fork.checkpoint()
    assert evidence["proof"] == []
    # The evidence stands alone: both notes verify with the log's key and disagree.
    log_key = honest.signer.verifier
    a = Note.from_text(evidence["witnessed_checkpoint"])
    b = Note.from_text(evidence["submitted_checkpoint"])
    verify_note(a, [log_key])
    verify_note(b, [log_key])
    cp_a, cp_b = Checkpoint.from_text(a.text), Checkpoint.from_text(b.text)
    assert (cp_a.origin, cp_a.size) == (cp_b.origin, cp_b.size)
    assert cp_a.root_hash != cp_b.root_hash
    assert witness.latest(LOG_ORIGIN).root_hash == honest.root()  # type: ignore[union-attr]


def test_a_rollback_is_refused() -> None:
    log = FakeLog().grow(8)
    witness = make_witness(log)
    witness.add_checkpoint(0, [], log.checkpoint(), now=NOW)
    with pytest.raises(InvalidInput):  # old size 8 > checkpoint size 5
        witness.add_checkpoint(8, [], log.checkpoint(5), now=NOW)
    with pytest.raises(ConflictError) as caught:  # claims the witness was at 5
        witness.add_checkpoint(5, [], log.checkpoint(5), now=NOW)
    assert caught.value.details["latest_size"] == 8
    with pytest.raises(ConflictError):
        witness.add_checkpoint(0, [], log.checkpoint(5), now=NOW)
    assert witness.latest(LOG_ORIGIN).size == 8  # type: ignore[union-attr]


def test_a_stale_old_size_is_a_conflict_carrying_the_latest_size() -> None:
    log = FakeLog().grow(5)
    witness = make_witness(log)
    witness.add_checkpoint(0, [], log.checkpoint(), now=NOW)
    log.grow(9)
    with pytest.raises(ConflictError) as caught:
        witness.add_checkpoint(0, [], log.checkpoint(), now=NOW)
    assert caught.value.details["latest_size"] == 5
    # The log retries from the size the witness named.
    size = caught.value.details["latest_size"]
    witness.add_checkpoint(size, log.proof(size), log.checkpoint(), now=NOW)


def test_a_never_seen_log_is_at_size_zero() -> None:
    log = FakeLog().grow(5)
    witness = make_witness(log)
    with pytest.raises(ConflictError) as caught:
        witness.add_checkpoint(3, log.proof(3), log.checkpoint(), now=NOW)
    assert caught.value.details["latest_size"] == 0


def test_the_same_checkpoint_is_cosigned_again() -> None:
    log = FakeLog().grow(5)
    witness = make_witness(log)
    first = witness.add_checkpoint(0, [], log.checkpoint(), now=NOW)
    again = witness.add_checkpoint(5, [], log.checkpoint(), now=NOW + 60)
    assert again[0].timestamp == NOW + 60 and again != first


def test_an_unknown_origin_is_not_found() -> None:
    witness = make_witness(FakeLog())
    stranger = FakeLog(origin="other.example/log").grow(2)
    with pytest.raises(NotFound) as caught:
        witness.add_checkpoint(0, [], stranger.checkpoint(), now=NOW)
    assert caught.value.http_status == 404


@pytest.mark.parametrize("how", ["other key, same name", "no trusted line", "tampered"])
def test_a_bad_log_signature_is_forbidden(how: str) -> None:
    log = FakeLog().grow(3)
    witness = make_witness(log)
    impostor = NoteSigner(LOG_ORIGIN, hashlib.sha256(b"impostor").digest())
    if how == "other key, same name":
        signed = sign_note(log.body(), [impostor]).to_text()
    elif how == "no trusted line":
        signed = sign_note(log.body(), [NoteSigner("someone.else", bytes(32))]).to_text()
    else:
        good = Note.from_text(log.checkpoint())
        sig = good.signatures[0]
        bad = type(sig)(sig.name, sig.key_id, bytes([sig.signature[0] ^ 1]) + sig.signature[1:])
        signed = Note(good.text, (bad,)).to_text()
    with pytest.raises(Forbidden) as caught:
        witness.add_checkpoint(0, [], signed, now=NOW)
    assert caught.value.http_status == 403
    assert witness.latest(LOG_ORIGIN) is None


def test_old_size_above_the_checkpoint_is_invalid() -> None:
    log = FakeLog().grow(3)
    witness = make_witness(log)
    with pytest.raises(InvalidInput) as caught:
        witness.add_checkpoint(4, [], log.checkpoint(), now=NOW)
    assert caught.value.http_status == 400


def test_checks_follow_the_protocol_order() -> None:
    """Origin, then signature, then old ≤ new, then old = latest, then the proof."""
    log = FakeLog().grow(3)
    witness = make_witness(log)
    stranger = FakeLog(origin="other.example/log").grow(3)
    with pytest.raises(NotFound):  # unknown origin beats everything else
        witness.add_checkpoint(9, [b"x" * 32], stranger.checkpoint(), now=NOW)
    forged = sign_note(log.body(), [NoteSigner(LOG_ORIGIN, bytes(32))]).to_text()
    with pytest.raises(Forbidden):  # a bad signature beats a bad old size
        witness.add_checkpoint(9, [], forged, now=NOW)
    with pytest.raises(InvalidInput):  # old > new beats a stale old size
        witness.add_checkpoint(9, [], log.checkpoint(), now=NOW)
    with pytest.raises(ConflictError):  # a stale old size beats a bad proof
        witness.add_checkpoint(2, [b"x" * 32], log.checkpoint(), now=NOW)


def test_a_size_zero_checkpoint_must_have_the_empty_root() -> None:
    log = FakeLog()
    witness = make_witness(log)
    witness.add_checkpoint(0, [], log.checkpoint(), now=NOW)
    assert witness.latest(LOG_ORIGIN).root_hash == EMPTY_ROOT  # type: ignore[union-attr]
    bogus = sign_note(Checkpoint(LOG_ORIGIN, 0, b"\x01" * 32).to_text(), [log.signer]).to_text()
    with pytest.raises(InconsistencyError):
        witness.add_checkpoint(0, [], bogus, now=NOW)
    with pytest.raises(VerificationError):
        make_witness(log).add_checkpoint(0, [], bogus, now=NOW)


def test_extension_lines_are_cosigned() -> None:
    log = FakeLog(extensions=("— grass", "timestamp 1700000000")).grow(4)
    witness = make_witness(log)
    lines = witness.add_checkpoint(0, [], log.checkpoint(), now=NOW)
    verify_note(cosigned(log.checkpoint(), lines), [WITNESS_KEY])
    stripped = Note(FakeLog().grow(4).body(), tuple(lines))
    with pytest.raises(VerificationError):
        verify_note(stripped, [WITNESS_KEY])


def test_any_trusted_key_of_a_log_will_do() -> None:
    old = FakeLog().grow(3)
    rotated = FakeLog(seed=hashlib.sha256(b"rotated").digest()).grow(3)
    keys = [old.signer.verifier, rotated.signer.verifier]
    witness = Witness(store=MemoryWitnessStore(), signer=witness_signer(), logs={LOG_ORIGIN: keys})
    witness.add_checkpoint(0, [], old.checkpoint(), now=NOW)
    witness.add_checkpoint(3, [], rotated.checkpoint(), now=NOW)


@pytest.mark.parametrize("bad", [b"not a note", "origin\n1\n\n— x AAAA\n"])
def test_malformed_checkpoints_are_invalid_input(bad: bytes | str) -> None:
    with pytest.raises(MalformedDocument):
        make_witness(FakeLog()).add_checkpoint(0, [], bad, now=NOW)


def test_bounds_on_arguments() -> None:
    log = FakeLog().grow(3)
    witness = make_witness(log)
    with pytest.raises(InvalidInput):
        witness.add_checkpoint(0, [b"\x00" * 32] * 64, log.checkpoint(), now=NOW)
    with pytest.raises(InvalidInput):
        witness.add_checkpoint(-1, [], log.checkpoint(), now=NOW)
    for now in (-1, 1 << 63):
        with pytest.raises(InvalidInput):
            witness.add_checkpoint(0, [], log.checkpoint(), now=now)


def test_keys_must_have_the_right_types() -> None:
    log = FakeLog()
    plain = NoteSigner("test.copyseal/witness", bytes(32), ALG_ED25519)
    with pytest.raises(InvalidInput):
        Witness(store=MemoryWitnessStore(), signer=plain, logs={})
    with pytest.raises(InvalidInput):
        Witness(store=MemoryWitnessStore(), signer=witness_signer(), logs={LOG_ORIGIN: []})
    with pytest.raises(InvalidInput):
        Witness(
            store=MemoryWitnessStore(),
            signer=witness_signer(),
            logs={log.signer.name: [witness_signer().verifier]},
        )


class RacingStore(MemoryWitnessStore):
    """A store in which another submission lands between the witness's read and its write."""

    def __init__(self, rival: WitnessedCheckpoint) -> None:
        super().__init__()
        self.rival: WitnessedCheckpoint | None = rival

    def compare_and_swap(
        self, expected: WitnessedCheckpoint | None, new: WitnessedCheckpoint
    ) -> bool:
        if self.rival is not None:
            rival, self.rival = self.rival, None
            assert super().compare_and_swap(expected, rival)
        return super().compare_and_swap(expected, new)


def test_a_lost_race_is_a_conflict_and_never_a_rollback() -> None:
    log = FakeLog().grow(9)
    rival = WitnessedCheckpoint(LOG_ORIGIN, 9, log.root(9), log.checkpoint(9))
    store = RacingStore(rival)
    witness = make_witness(log, store=store)
    with pytest.raises(ConflictError) as caught:
        witness.add_checkpoint(0, [], log.checkpoint(4), now=NOW)
    assert caught.value.details["latest_size"] == 9
    assert store.latest(LOG_ORIGIN) == rival


# -- copyseal's own vector: the witness's bytes are pinned -------------------------------------


def test_the_witness_reproduces_the_vector_cosignature() -> None:
    vec = load_vector("copyseal.json")
    inp = vec["inputs"]
    signer = NoteSigner(inp["witness_name"], bytes.fromhex(inp["witness_seed"]), 0x04)
    log_key = NoteVerifier.from_vkey(vec["keys"]["log_vkey"])
    log_signer = NoteSigner.from_skey(vec["keys"]["log_skey"])
    old = inp["old_size"]
    old_body = Checkpoint(inp["origin"], old, bytes.fromhex(vec["tree"]["roots"][old])).to_text()
    witness = Witness(store=MemoryWitnessStore(), signer=signer, logs={inp["origin"]: [log_key]})
    witness.add_checkpoint(0, [], sign_note(old_body, [log_signer]).to_text(), now=1)
    proof = [bytes.fromhex(h) for h in vec["tree"]["consistency_proof"]]
    lines = witness.add_checkpoint(old, proof, vec["checkpoint"]["signed"], now=inp["witness_time"])
    assert signer.verifier.to_vkey() == vec["keys"]["witness_vkey"]
    expected = Note.from_text(vec["checkpoint"]["cosigned"]).signatures[1]
    assert lines == [expected]
