"""Anti-squatting decided by log order: a later claim, whatever it declares, never blocks the
creator of the earlier work nor outranks it in a check; and two creators registering the same
new content at once cannot both get it."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import pytest

from copyseal.adapters.home import Home
from copyseal.core.claims import Claim
from copyseal.core.keys import Signer
from copyseal.core.kinds import sign_claim
from copyseal.core.kinds.register import register_body
from copyseal.domain.log import Entry
from copyseal.errors import ConflictError, CopysealError
from copyseal.services.admission import Assessment
from copyseal.services.antisquatting import AntiSquatting
from copyseal.services.assembly import Assembly, assemble
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from copyseal.services.fingerprints import fingerprint_fields
from copyseal.services.registry import Registration, Registry
from tests.support import FakeClock, seeded_bytes

POEM = (
    "Under the bridge the river keeps its own counsel, carrying the lanterns of a festival "
    "nobody remembers, and the old ferryman hums the tune his mother taught him."
)
REVISION = POEM.replace("old ferryman", "tired ferryman")
OTHER = "Bob's own verse: salt on the harbour wall, gulls arguing over the last of the light."

ALICE = Signer.from_seed(b"a" * 32)
MALLORY = Signer.from_seed(b"m" * 32)
CAROL = Signer.from_seed(b"c" * 32)

_seeds = iter(range(1000, 10**6))


def signed(signer: Signer, text: str, **extra: object) -> Claim:
    """A register claim as the creator's side makes it (content hash and fingerprints)."""
    work = WorkInput(text.encode(), TEXT_MEDIA_TYPE, "t")
    return prepare_register_claims(
        [work],
        signer,
        clock=FakeClock(),
        random_bytes=seeded_bytes(next(_seeds)),
        max_bytes=1 << 20,
        **extra,  # type: ignore[arg-type]
    )[0]


def declaring(signer: Signer, content: bytes, fingerprints: dict[str, object]) -> Claim:
    """A claim over ``content`` that declares ``fingerprints`` (e.g. another work's)."""
    body = register_body(
        sha256=hashlib.sha256(content).digest(),
        size=len(content),
        media_type=TEXT_MEDIA_TYPE,
        fingerprints=fingerprints,
    )
    nonce = seeded_bytes(next(_seeds))(16)
    return sign_claim(signer, "register", body, nonce=nonce, created="2026-11-23T00:00:00Z")


def register(registry: Registry, claim: Claim, content: bytes | None) -> Registration:
    [outcome] = registry.register([claim], [content])
    if isinstance(outcome, CopysealError):
        raise outcome
    return outcome


def test_a_later_self_custody_near_copy_does_not_block_the_author(registry: Registry) -> None:
    original = register(registry, signed(ALICE, POEM), POEM.encode())
    # Mallory signs the poem plus a full stop and submits the claim alone: the registry sees
    # its hash and the fingerprints it declares, not its content.
    squat = register(registry, signed(MALLORY, POEM + "."), None)
    assert squat.created

    again = register(registry, signed(ALICE, POEM), POEM.encode())
    assert not again.created
    assert again.certificate.work_id == original.certificate.work_id

    revision = register(registry, signed(ALICE, REVISION), REVISION.encode())
    assert revision.created
    work = registry.work(revision.certificate.work_id)
    assert work["version_of"] == [original.certificate.work_id]

    # Anyone else's copy is still refused, naming the earlier work, not the squat.
    copy = POEM.replace("festival", "carnival")
    [refused] = registry.register([signed(CAROL, copy)], [copy.encode()])
    assert isinstance(refused, ConflictError)
    assert refused.details["earlier"] == original.certificate.work_id


def test_copied_fingerprints_are_neither_exact_nor_original(
    registry: Registry, assembly: Assembly
) -> None:
    original = register(registry, signed(ALICE, POEM), POEM.encode())
    fields = registry.work(original.certificate.work_id)["fingerprints"]
    squat = register(registry, declaring(MALLORY, b"something else entirely", fields), None)
    assert squat.created

    search = assembly.search
    found = search.check(POEM.encode(), TEXT_MEDIA_TYPE)
    assert [(m.work_id, m.kind, m.original) for m in found] == [
        (original.certificate.work_id, "exact", True),
        (squat.certificate.work_id, "near-duplicate", False),
    ]
    # An edited copy meets both with the same score: the earlier registration ranks first.
    edited = POEM.replace("lanterns", "paper lanterns")
    first, second = search.check(edited.encode(), TEXT_MEDIA_TYPE)
    assert (first.work_id, first.original) == (original.certificate.work_id, True)
    assert (second.work_id, second.original) == (squat.certificate.work_id, False)

    again = register(registry, signed(ALICE, POEM), POEM.encode())
    assert again.certificate.work_id == original.certificate.work_id
    revision = register(registry, signed(ALICE, REVISION), REVISION.encode())
    assert registry.work(revision.certificate.work_id)["version_of"] == [
        original.certificate.work_id
    ]


def test_an_earlier_work_of_the_signer_does_not_cover_an_unrelated_later_one(
    registry: Registry,
) -> None:
    """Log order excuses a foreign match only when it copies the signer's own earlier work:
    a compilation of the signer's old poem and someone else's newer one is still refused."""
    mine = register(registry, signed(ALICE, POEM), POEM.encode())
    theirs = register(registry, signed(CAROL, OTHER), OTHER.encode())
    both = POEM + " " + OTHER
    [refused] = registry.register([signed(ALICE, both)], [both.encode()])
    assert isinstance(refused, ConflictError)
    assert refused.details["earlier"] == theirs.certificate.work_id
    declared = signed(ALICE, both, derivative_of=[theirs.certificate.work_id])
    accepted = register(registry, declared, both.encode())
    work = registry.work(accepted.certificate.work_id)
    assert work["version_of"] == [mine.certificate.work_id]
    assert work["derivative_of"] == [theirs.certificate.work_id]


def test_a_check_marks_the_original_of_each_work_a_post_quotes(
    registry: Registry, assembly: Assembly
) -> None:
    """A post quoting two unrelated works: each is the original of its part; a later copy of
    one of them is not."""
    poem = register(registry, signed(ALICE, POEM), POEM.encode())
    other = register(registry, signed(CAROL, OTHER), OTHER.encode())
    squat = register(registry, signed(MALLORY, OTHER + "!"), None)
    post = "Two I love. " + POEM + " And this one: " + OTHER
    found = {m.work_id: m.original for m in assembly.search.check(post.encode(), TEXT_MEDIA_TYPE)}
    assert found == {
        poem.certificate.work_id: True,
        other.certificate.work_id: True,
        squat.certificate.work_id: False,
    }


def test_same_new_content_of_two_creators_in_one_batch(registry: Registry) -> None:
    results = registry.register(
        [signed(ALICE, POEM), signed(MALLORY, POEM), signed(CAROL, POEM)], [POEM.encode()] * 3
    )
    first, second, third = results
    assert isinstance(first, Registration) and first.created
    for refused in (second, third):
        assert isinstance(refused, ConflictError)
        assert "registered earlier by" in refused.message
        assert refused.details["earlier"] == first.certificate.work_id
        assert refused.details["owner"] == ALICE.did
    assert registry.store.tree_size() == 1


def test_same_content_without_content_in_one_batch(registry: Registry) -> None:
    """Self-custody claims, held to their exact hash: the same inside one batch."""
    results = registry.register([signed(ALICE, POEM), signed(MALLORY, POEM)], [None, None])
    assert isinstance(results[0], Registration)
    assert isinstance(results[1], ConflictError)
    assert results[1].details["earlier"] == results[0].certificate.work_id


class _Gate:
    """The real policy, then a barrier: every caller has been checked against the log before
    any of them is sequenced, the widest window a race can have."""

    def __init__(self, policy: AntiSquatting, parties: int) -> None:
        self.policy = policy
        self.barrier = threading.Barrier(parties, timeout=30)

    def assess_many(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None]
    ) -> list[Assessment]:
        verdicts = self.policy.assess_many(claims, contents)
        self.barrier.wait()
        return verdicts

    def in_sequence(
        self, claim: Claim, links: Sequence[tuple[int, str]], same: Sequence[Entry]
    ) -> CopysealError | None:
        return self.policy.in_sequence(claim, links, same)


@pytest.mark.parametrize("with_content", [True, False], ids=["content", "claim-only"])
def test_two_creators_racing_for_the_same_content(
    home: Home, assembly: Assembly, with_content: bool
) -> None:
    signers = [ALICE, MALLORY]
    gate = _Gate(AntiSquatting(assembly.search), len(signers))
    made = assemble(assembly.stores, log_signer=home.log_signer, clock=FakeClock(), squatting=gate)
    registry = made.registry
    outcomes: list[Registration | CopysealError] = []

    def run(signer: Signer) -> None:
        [outcome] = registry.register(
            [signed(signer, POEM)], [POEM.encode() if with_content else None]
        )
        outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(s,)) for s in signers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        made.close()
    won = [o for o in outcomes if isinstance(o, Registration)]
    lost = [o for o in outcomes if isinstance(o, ConflictError)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert lost[0].details["earlier"] == won[0].certificate.work_id
    assert assembly.stores.log.tree_size() == 1


def test_a_creator_may_still_register_bytes_a_squat_logged_after_their_work(
    registry: Registry,
) -> None:
    """The sequencer's exact-copy rule is the policy's: bytes another creator logged after
    the signer's own matching work are a later copy of it, and do not block the signer."""
    original = register(registry, signed(ALICE, POEM), POEM.encode())
    register(registry, signed(MALLORY, POEM + "."), None)
    same_as_squat = register(registry, signed(ALICE, POEM + "."), (POEM + ".").encode())
    assert same_as_squat.created
    work = registry.work(same_as_squat.certificate.work_id)
    assert work["version_of"] == [original.certificate.work_id]


def test_fingerprint_fields_of_the_squat_match_the_original() -> None:
    """The squat of the first test declares real fingerprints of its own bytes, and those
    equal the poem's in everything but the content hash (the premise of that test)."""
    squat = fingerprint_fields((POEM + ".").encode(), TEXT_MEDIA_TYPE)
    mine = fingerprint_fields(POEM.encode(), TEXT_MEDIA_TYPE)
    assert squat["text_sha256_norm_v1"] == mine["text_sha256_norm_v1"]
    assert squat["text_minhash_v1"] == mine["text_minhash_v1"]
