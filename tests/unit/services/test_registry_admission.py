"""The registry's admission: each claim it will not log, or cannot derive data for, fails in
its own slot; the rest of the batch, and of the group commit, is logged. Leaves logged
before these rules still parse and audit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from copyseal.core.claims import Claim, parse_leaf
from copyseal.core.encoding import parse_canonical_json
from copyseal.core.keys import Signer
from copyseal.errors import CopysealError, InvalidInput
from copyseal.services import registry as registry_module
from copyseal.services.admission import Assessment
from copyseal.services.audit import audit_log
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims
from copyseal.services.registry import Registration, Registry
from tests.support import FakeClock, log_unadmitted, seeded_bytes, unchecked_claim


def text_claim(signer: Signer, text: str, seed: int, title: str | None = None) -> Claim:
    work = WorkInput(text.encode(), TEXT_MEDIA_TYPE, "t", title)
    return prepare_register_claims(
        [work], signer, clock=FakeClock(), random_bytes=seeded_bytes(seed), max_bytes=1 << 20
    )[0]


def outcome_kinds(outcomes: Sequence[Registration | CopysealError]) -> list[str]:
    return [type(o).__name__ for o in outcomes]


def test_a_claim_with_malformed_fingerprints_fails_alone(
    registry: Registry, creator: Signer
) -> None:
    bad = unchecked_claim(creator, 1, fingerprints={"text_minhash_v1": "AAAA"})
    claims = [text_claim(creator, "the first honest poem", 2), bad]
    claims.append(text_claim(creator, "the second honest poem", 3))
    outcomes = registry.register(claims)
    assert outcome_kinds(outcomes) == ["Registration", "MalformedDocument", "Registration"]
    assert "text fingerprints lack" in str(outcomes[1])
    assert registry.store.tree_size() == 2


@pytest.mark.parametrize(
    "body",
    [
        {"title": "invoice\u202egpj.exe"},
        {"title": "two\nlines"},
        {"fingerprints": {"text_minhash_v2": "AAAA"}},
    ],
)
def test_self_custody_claims_are_held_to_the_admission_rules(
    registry: Registry, creator: Signer, body: dict[str, Any]
) -> None:
    [outcome] = registry.register([unchecked_claim(creator, 4, **body)])
    assert isinstance(outcome, InvalidInput)
    assert registry.store.tree_size() == 0


def test_a_fault_deriving_one_claims_index_keys_fails_that_claim_alone(
    registry: Registry, creator: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    honest = registry_module._admitted

    def derive(claim: Claim, kind: Any, assessment: Assessment) -> Any:
        if claim.body.get("title") == "poison":
            raise ValueError("a bug met by one claim")
        return honest(claim, kind, assessment)

    monkeypatch.setattr(registry_module, "_admitted", derive)
    claims = [
        text_claim(creator, f"work number {i} of three", i, title)
        for i, title in enumerate(["fine", "poison", "fine"])
    ]
    outcomes = registry.register(claims)
    assert outcome_kinds(outcomes) == ["Registration", "CopysealError", "Registration"]
    assert outcomes[1].http_status == 500  # type: ignore[union-attr]


class PolicyWithAFault:
    """A policy that fails on any batch holding the claim titled "poison"."""

    def assess_many(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None]
    ) -> list[Assessment]:
        if any(c.body.get("title") == "poison" for c in claims):
            raise KeyError("a bug met by one claim")
        return [Assessment() for _ in claims]


def test_a_policy_fault_on_one_claim_fails_that_claim_alone(
    registry: Registry, creator: Signer
) -> None:
    registry.policies = [PolicyWithAFault()]
    titles = ["fine", "poison", "fine", "fine"]
    claims = [text_claim(creator, f"work {i} of four", i, t) for i, t in enumerate(titles)]
    outcomes = registry.register(claims)
    assert outcome_kinds(outcomes) == ["Registration", "CopysealError", *["Registration"] * 2]
    assert registry.store.tree_size() == 3


def test_leaves_logged_before_the_admission_rules_still_parse_and_audit(
    registry: Registry, creator: Signer
) -> None:
    """A log written by an earlier registry may hold what admission now refuses."""
    old = [
        unchecked_claim(creator, 5, title="invoice\u202egpj.exe\x1b[2J"),
        unchecked_claim(creator, 6, fingerprints={"text_minhash_v1": "AAAA", "colour_v1": "red"}),
    ]
    logged = log_unadmitted(registry, old)
    for reg, claim in zip(logged, old, strict=True):
        entry = registry.store.entry(reg.certificate.index)
        assert entry is not None
        assert parse_leaf(parse_canonical_json(entry.leaf))[0] == claim
    assert registry.work(logged[0].certificate.work_id)["title"].startswith("invoice\u202e")
    assert audit_log(registry.store, registry.log_signer.verifier).ok
    # The folds went past them: fingerprints no index key can come from give none.
    assert registry.follower is not None
    assert registry.follower.catch_up() == 2
    assert all(f.store.through() == 2 for f in registry.follower.folds.values())
