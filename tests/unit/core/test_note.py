"""C2SP signed notes, checkpoints and cosignatures: Go's vectors, real logs, properties."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copyseal.core import merkle
from copyseal.core.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    EM_DASH,
    MAX_TREE_SIZE,
    Checkpoint,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    cosignature_message,
    open_checkpoint,
    sign_note,
    verify_note,
)
from copyseal.errors import CopysealError, MalformedDocument, VerificationError
from tests.unit.core.helpers import PROPERTY, any_text, b64, load_vector

GO = load_vector("golang-mod-note-test.json")
TLOG = load_vector("golang-mod-tlog-note-test.json")
FORMATS = load_vector("transparency-dev-formats-log.json")
COSIG = load_vector("transparency-dev-formats-cosigv1.json")
C2SP = load_vector("c2sp-signed-note.json")

PETER = NoteVerifier.from_vkey(GO["peter_vkey"])
ENOCH = NoteVerifier.from_vkey(GO["enoch_vkey"])
WITNESS = NoteSigner("witness.test", hashlib.sha256(b"witness").digest(), ALG_COSIGNATURE_V1)
ROOT = hashlib.sha256(b"root").digest()


# -- keys: golang.org/x/mod/sumdb/note ---------------------------------------------------------


def test_go_verifier_key() -> None:
    assert PETER.name == "PeterNeumann"
    assert PETER.alg == ALG_ED25519
    assert PETER.key_id.hex() == GO["peter_key_id"]
    assert PETER.to_vkey() == GO["peter_vkey"]
    assert ENOCH.key_id.hex() == GO["enoch_key_id"]


def test_go_signer_key() -> None:
    signer = NoteSigner.from_skey(GO["peter_skey"])
    assert signer.to_skey() == GO["peter_skey"]
    assert signer.verifier == PETER


def _manglings(key: str) -> list[str]:
    proper_substrings = [key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1)]
    increments = [key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))]
    return [k for k in proper_substrings + increments if k != key]


def test_every_mangled_verifier_key_is_rejected() -> None:
    for mangled in _manglings(GO["peter_vkey"]) + GO["bad_vkeys"]:
        with pytest.raises(MalformedDocument):
            NoteVerifier.from_vkey(mangled)


def test_every_mangled_signer_key_is_rejected() -> None:
    for mangled in _manglings(GO["peter_skey"]):
        with pytest.raises(MalformedDocument):
            NoteSigner.from_skey(mangled)


@pytest.mark.parametrize("name", sorted(FORMATS["keys"]))
def test_formats_key_pairs_match(name: str) -> None:
    pair = FORMATS["keys"][name]
    signer = NoteSigner.from_skey(pair["skey"])
    assert signer.name == name
    assert signer.verifier.to_vkey() == pair["vkey"]
    assert NoteVerifier.from_vkey(pair["vkey"]) == signer.verifier


@pytest.mark.parametrize("case", COSIG["good_vkeys"], ids=lambda c: c["name"])
def test_cosignature_verifier_keys(case: dict[str, Any]) -> None:
    verifier = NoteVerifier.from_vkey(case["vkey"])
    assert verifier.alg == case["alg"]
    assert verifier.to_vkey() == case["vkey"]


@pytest.mark.parametrize("case", COSIG["bad_vkeys"], ids=lambda c: c["name"])
def test_bad_cosignature_verifier_keys(case: dict[str, Any]) -> None:
    with pytest.raises(MalformedDocument):
        NoteVerifier.from_vkey(case["vkey"])


@pytest.mark.parametrize(
    "name", ["", "a b", "a+b", "tab\there", "nbsp\u00a0", "ideographic\u3000", "lone\ud800"]
)
def test_bad_key_names(name: str) -> None:
    with pytest.raises(MalformedDocument):
        NoteSigner(name, bytes(32))


# -- signing and opening: golang.org/x/mod/sumdb/note ------------------------------------------


def test_go_deterministic_signature() -> None:
    signer = NoteSigner.from_skey(GO["peter_skey"])
    note = sign_note(GO["text"], [signer])
    assert note.to_text() == GO["signed"]
    (sig,) = note.signatures
    assert sig.to_line() == GO["peter_sig_line"]
    assert base64.b64encode(sig.key_id + sig.signature).decode() == GO["peter_signature_b64"]


def test_go_signed_note_round_trip() -> None:
    note = Note.from_text(GO["signed"])
    assert note.text == GO["text"]
    assert note.to_text() == GO["signed"]
    assert Note.from_text(GO["signed"].encode()) == note
    assert verify_note(note, [PETER]) == [PETER]


def test_signature_by_unknown_key_is_ignored() -> None:
    note = Note.from_text(GO["text"] + "\n" + GO["peter_sig_line"] + GO["enoch_sig_line"])
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    assert note.signatures[1].key_id.hex() == GO["enoch_key_id"]
    assert verify_note(note, [PETER]) == [PETER]
    assert verify_note(note, [PETER, ENOCH]) == [PETER, ENOCH]
    assert verify_note(note, [ENOCH]) == [ENOCH]
    with pytest.raises(VerificationError):
        verify_note(note, [])


def test_a_known_key_that_fails_rejects_the_note() -> None:
    note = Note.from_text(GO["invalid_signature_note"])
    with pytest.raises(VerificationError):
        verify_note(note, [PETER])


def test_repeated_signatures_count_once() -> None:
    note = Note.from_text(GO["duplicated_note"])
    assert verify_note(note, [PETER]) == [PETER]
    unverified = [
        base64.b64encode(s.key_id + s.signature).decode()
        for s in note.signatures
        if s.name == "EnochRoot"
    ]
    assert unverified[0] == GO["enoch_signature_b64"]
    assert unverified[-1] == GO["enoch_abcd_signature_b64"]


@pytest.mark.parametrize("text", GO["malformed_notes"])
def test_go_malformed_notes(text: str) -> None:
    with pytest.raises(MalformedDocument):
        Note.from_text(text)


@pytest.mark.parametrize("hex_bytes", GO["malformed_notes_bytes_hex"])
def test_go_malformed_note_bytes(hex_bytes: str) -> None:
    with pytest.raises(MalformedDocument):
        Note.from_text(bytes.fromhex(hex_bytes))


def test_signature_count_limit() -> None:
    many = GO["too_many_signatures"]
    with pytest.raises(MalformedDocument):
        Note.from_text(GO["text"] + "\n" + GO["peter_sig_line"] * many)
    note = Note.from_text(GO["text"] + "\n" + GO["peter_sig_line"] * (many - 1))
    assert verify_note(note, [PETER]) == [PETER]
    assert len(note.signatures) >= C2SP["max_signatures_at_least"]


@pytest.mark.parametrize("line_key", ["misnamed_sig_line", "wrong_hash_sig_line"])
def test_lines_matching_name_or_id_but_not_both_are_unknown(line_key: str) -> None:
    note = Note.from_text(GO["text"] + "\n" + GO[line_key])
    with pytest.raises(VerificationError, match="no signature by a trusted key"):
        verify_note(note, [PETER])


def test_c2sp_example_note() -> None:
    note = Note.from_text(C2SP["note"])
    assert note.text == C2SP["text"]
    assert [s.name for s in note.signatures] == [C2SP["signer"]]
    assert note.to_text() == C2SP["note"]
    with pytest.raises(VerificationError):
        verify_note(note, [PETER])


@pytest.mark.parametrize("case", FORMATS["parse_checkpoint_cases"], ids=lambda c: c["desc"])
def test_formats_parse_checkpoint_signatures(case: dict[str, Any]) -> None:
    keys = FORMATS["keys"]
    signers = [NoteSigner.from_skey(keys[name]["skey"]) for name in case["signers"]]
    log, *witnesses = (
        NoteVerifier.from_vkey(keys[n]["vkey"]) for n in ("Log", "Known", "KnownAgain")
    )
    signed = sign_note(FORMATS["parse_checkpoint_body"], signers).to_text()
    try:
        verified = verify_note(Note.from_text(signed), [log, *witnesses])
        if log not in verified:
            raise VerificationError("the log did not sign", check="checkpoint")
    except CopysealError:
        assert case["want_err"]
        return
    assert not case["want_err"]
    assert len(verified) == case["want_sigs"]


# -- checkpoints -------------------------------------------------------------------------------


def test_sum_golang_org_signed_tree_head() -> None:
    sumdb = NoteVerifier.from_vkey(FORMATS["sumdb_vkey"])
    note = Note.from_text(FORMATS["sumdb_note"])
    assert verify_note(note, [sumdb]) == [sumdb]
    checkpoint = Checkpoint.from_text(note.text)
    assert checkpoint.origin == FORMATS["sumdb_origin"]
    assert checkpoint.size == FORMATS["sumdb_size"]
    assert checkpoint.to_text() == note.text
    # copyseal insists that a log's key name is its origin; sum.golang.org's is not.
    with pytest.raises(VerificationError):
        open_checkpoint(FORMATS["sumdb_note"], sumdb)


def test_sum_golang_org_with_witness_signatures() -> None:
    sumdb = NoteVerifier.from_vkey(FORMATS["sumdb_vkey"])
    witnesses = [NoteVerifier.from_vkey(v) for v in FORMATS["benchmark_verifiers"]]
    signed = FORMATS["sumdb_note"] + "".join(line + "\n" for line in FORMATS["benchmark_sig_lines"])
    note = Note.from_text(signed)
    assert verify_note(note, [sumdb, *witnesses]) == [sumdb, *witnesses]
    assert verify_note(note, witnesses[:1]) == witnesses[:1]


def test_tampered_sum_golang_org_tree_head() -> None:
    sumdb = NoteVerifier.from_vkey(FORMATS["sumdb_vkey"])
    for old, new in [("6476701", "6476702"), ("mb8Q", "nb8Q")]:
        with pytest.raises(VerificationError):
            verify_note(Note.from_text(FORMATS["sumdb_note"].replace(old, new, 1)), [sumdb])


def test_go_tlog_tree_body() -> None:
    checkpoint = Checkpoint.from_text(TLOG["body"])
    assert checkpoint.origin == "go.sum database tree"
    assert checkpoint.size == TLOG["size"]
    assert checkpoint.root_hash == merkle.leaf_hash(TLOG["record"].encode())
    assert checkpoint.to_text() == TLOG["body"]


def test_go_tlog_bad_tree_bodies() -> None:
    first, *bad = TLOG["bad_bodies"]
    # Go rejects the first only for its origin; copyseal checks origins against the log key.
    assert Checkpoint.from_text(first).origin == "not-go.sum database tree"
    for body in bad:
        with pytest.raises(MalformedDocument):
            Checkpoint.from_text(body)


@pytest.mark.parametrize("case", FORMATS["marshal"], ids=lambda c: c["origin"])
def test_formats_checkpoint_marshal(case: dict[str, Any]) -> None:
    checkpoint = Checkpoint(case["origin"], case["size"], case["hash_text"].encode())
    assert checkpoint.to_text() == case["want"]


@pytest.mark.parametrize("case", FORMATS["unmarshal"], ids=lambda c: c["desc"])
def test_formats_checkpoint_unmarshal(case: dict[str, Any]) -> None:
    # Every root here is shorter or longer than 32 bytes, which copyseal refuses; the cases
    # Go accepts must parse once the root is replaced by a 32-byte one.
    with pytest.raises(MalformedDocument):
        Checkpoint.from_text(case["m"])
    if case["want_err"]:
        return
    origin, size, _root, *rest = case["m"].split("\n")
    text = f"{origin}\n{size}\n{base64.b64encode(ROOT).decode()}\n" + "\n".join(rest)
    if case.get("want_rest", "").startswith("\n"):
        with pytest.raises(MalformedDocument, match="extension lines"):
            Checkpoint.from_text(text)
        return
    checkpoint = Checkpoint.from_text(text)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root_hash) == (origin, int(size), ROOT)
    assert "".join(line + "\n" for line in checkpoint.extensions) == case.get("want_rest", "")
    assert checkpoint.to_text() == text


@pytest.mark.parametrize(
    "size", ["", "01", "-1", "+1", "1.0", "0x10", "１", "٣", str(MAX_TREE_SIZE + 1), "9" * 5000]
)
def test_checkpoint_size_must_be_a_canonical_uint64(size: str) -> None:
    with pytest.raises(MalformedDocument):
        Checkpoint.from_text(f"log\n{size}\n{base64.b64encode(ROOT).decode()}\n")


def test_largest_checkpoint_size() -> None:
    text = f"log\n{MAX_TREE_SIZE}\n{base64.b64encode(ROOT).decode()}\n"
    assert Checkpoint.from_text(text).size == MAX_TREE_SIZE


# -- cosignatures ------------------------------------------------------------------------------


def test_cosignature_timestamp() -> None:
    raw = b64(COSIG["timestamp_signature_b64"])
    sig = NoteSignature("witness", raw[:4], raw[4:])
    assert sig.timestamp == COSIG["timestamp"]
    other = b64(COSIG["not_a_cosignature_b64"])
    with pytest.raises(MalformedDocument):
        _ = NoteSignature("witness", other[:4], other[4:]).timestamp
    with pytest.raises(MalformedDocument):
        Note.from_text("body\n\n" + EM_DASH + " witness " + COSIG["gibberish_signature"] + "\n")


def test_cosignature_round_trip() -> None:
    body = Checkpoint("log.test", 10, ROOT).to_text()
    line = WITNESS.cosign_line(body, 1_700_000_000)
    assert line.timestamp == 1_700_000_000
    note = Note.from_text(Note(body, (line,)).to_text())
    assert verify_note(note, [WITNESS.verifier]) == [WITNESS.verifier]
    message = cosignature_message(1_700_000_000, body)
    assert message == b"cosignature/v1\ntime 1700000000\n" + body.encode()
    assert WITNESS.verifier.verify_raw(message, line.signature[8:])


def test_cosignature_covers_time_and_extension_lines() -> None:
    body = COSIG["extension_checkpoint"]
    line = WITNESS.cosign_line(body, 1_700_000_000)
    later = NoteSignature(
        line.name, line.key_id, (1_700_000_001).to_bytes(8, "big") + line.signature[8:]
    )
    with pytest.raises(VerificationError):
        verify_note(Note(body, (later,)), [WITNESS.verifier])
    signed = Note(body, (line,)).to_text()
    tampered = signed.replace("Extendo\n", "Extend@\n")
    with pytest.raises(VerificationError):
        verify_note(Note.from_text(tampered), [WITNESS.verifier])


def test_cosignature_and_plain_keys_are_distinct() -> None:
    body = Checkpoint("log.test", 10, ROOT).to_text()
    plain = NoteSigner(WITNESS.name, WITNESS.seed)
    assert plain.verifier.key_id != WITNESS.verifier.key_id
    note = Note(body, (WITNESS.cosign_line(body, 5),))
    with pytest.raises(VerificationError, match="no signature by a trusted key"):
        verify_note(note, [plain.verifier])
    with pytest.raises(ValueError):
        plain.cosign_line(body, 5)
    with pytest.raises(ValueError):
        WITNESS.sign_line(body)


def test_truncated_cosignature_fails() -> None:
    body = Checkpoint("log.test", 10, ROOT).to_text()
    line = WITNESS.cosign_line(body, 5)
    short = NoteSignature(line.name, line.key_id, line.signature[:-1])
    with pytest.raises(VerificationError):
        verify_note(Note(body, (short,)), [WITNESS.verifier])


# -- copyseal's own checkpoints (tests/vectors/copyseal.json) ----------------------------------


def test_copyseal_checkpoint_vectors(copyseal_vectors: Any) -> None:
    vec, keys = copyseal_vectors["checkpoint"], copyseal_vectors["keys"]
    log = NoteVerifier.from_vkey(keys["log_vkey"])
    witness = NoteVerifier.from_vkey(keys["witness_vkey"])
    assert NoteSigner.from_skey(keys["log_skey"]).verifier == log
    checkpoint, note = open_checkpoint(vec["signed"], log)
    assert checkpoint.to_text() == vec["body"] == note.text
    assert (
        sign_note(vec["body"], [NoteSigner.from_skey(keys["log_skey"])]).to_text() == vec["signed"]
    )
    cosigned = Note.from_text(vec["cosigned"])
    assert verify_note(cosigned, [log, witness]) == [log, witness]
    assert cosigned.signatures[1].timestamp == copyseal_vectors["inputs"]["witness_time"]


def test_copyseal_key_and_checkpoint_sections_are_unchanged(
    copyseal_vectors: Any, rebuilt_vectors: Any
) -> None:
    for section in ("keys", "checkpoint"):
        assert rebuilt_vectors[section] == copyseal_vectors[section]


# -- properties --------------------------------------------------------------------------------

names = st.text(
    st.characters(exclude_categories=["Cs", "Zs", "Zl", "Zp", "Cc"], exclude_characters="+"),
    min_size=1,
    max_size=20,
).filter(lambda s: not any(c.isspace() for c in s))
note_texts = st.lists(
    st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=30), min_size=1, max_size=5
).map(lambda lines: "".join(line + "\n" for line in lines))
signatures = st.builds(
    NoteSignature, names, st.binary(min_size=4, max_size=4), st.binary(min_size=1, max_size=80)
)
line_text = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30)


@PROPERTY
@given(note_texts, st.lists(signatures, min_size=1, max_size=20))
def test_note_round_trip(text: str, sigs: list[NoteSignature]) -> None:
    note = Note(text, tuple(sigs))
    assert Note.from_text(note.to_text()) == note
    assert Note.from_text(note.to_text().encode()) == note


@PROPERTY
@given(
    line_text,
    st.integers(0, MAX_TREE_SIZE),
    st.binary(min_size=32, max_size=32),
    st.lists(line_text, max_size=4),
)
def test_checkpoint_round_trip(origin: str, size: int, root: bytes, ext: list[str]) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(ext))
    assert Checkpoint.from_text(checkpoint.to_text()) == checkpoint


@PROPERTY
@given(
    names, st.sampled_from([ALG_ED25519, ALG_COSIGNATURE_V1]), st.binary(min_size=32, max_size=32)
)
def test_key_strings_round_trip(name: str, alg: int, seed: bytes) -> None:
    signer = NoteSigner(name, seed, alg)
    assert NoteSigner.from_skey(signer.to_skey()) == signer
    verifier = signer.verifier
    assert NoteVerifier.from_vkey(verifier.to_vkey()) == verifier
    assert (
        verifier.key_id
        == hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + verifier.public_key).digest()[:4]
    )


@PROPERTY
@given(note_texts, names)
def test_signed_notes_verify_and_resist_edits(text: str, name: str) -> None:
    signer = NoteSigner(name, hashlib.sha256(name.encode()).digest())
    note = sign_note(text, [signer])
    assert verify_note(Note.from_text(note.to_text()), [signer.verifier]) == [signer.verifier]
    edited = Note(text + "x\n", note.signatures)
    with pytest.raises(VerificationError):
        verify_note(edited, [signer.verifier])


def _only_copyseal_errors(call: Any, *args: Any) -> None:
    with contextlib.suppress(CopysealError):
        call(*args)


@PROPERTY
@given(st.binary(max_size=300))
def test_random_bytes_give_only_copyseal_errors(data: bytes) -> None:
    _only_copyseal_errors(Note.from_text, data)


@PROPERTY
@given(any_text)
def test_random_text_gives_only_copyseal_errors(text: str) -> None:
    for decoder in (
        Note.from_text,
        Checkpoint.from_text,
        NoteVerifier.from_vkey,
        NoteSigner.from_skey,
    ):
        _only_copyseal_errors(decoder, text)
    _only_copyseal_errors(NoteVerifier.from_vkey, "name+" + text)
    _only_copyseal_errors(NoteSigner.from_skey, "PRIVATE+KEY+" + text)


@PROPERTY
@given(st.integers(0, len(GO["signed"]) - 1), any_text)
def test_edited_signed_notes_give_only_copyseal_errors(position: int, insert: str) -> None:
    signed = GO["signed"]
    for edited in (
        signed[:position] + insert + signed[position:],
        signed[:position] + insert + signed[position + 1 :],
    ):
        try:
            verify_note(Note.from_text(edited), [PETER])
            Checkpoint.from_text(Note.from_text(edited).text)
        except CopysealError:
            pass
