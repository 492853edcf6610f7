"""The committed contract artifact is what the committed source compiles to."""

from __future__ import annotations

import json

import pytest
import vyper

from copyseal.adapters.chain.compile import (
    EVM_VERSION,
    CompiledContract,
    compile_contract,
    load_artifact,
    load_source,
)
from copyseal.errors import MalformedDocument


@pytest.fixture(scope="module")
def fresh() -> CompiledContract:
    return compile_contract()


def test_the_committed_artifact_matches_a_fresh_compile(fresh: CompiledContract) -> None:
    committed = load_artifact()
    assert committed == fresh, "run `python -m copyseal.adapters.chain.compile` and commit"
    assert committed.vyper_version == vyper.__version__


def test_the_artifact_round_trips_through_json(fresh: CompiledContract) -> None:
    assert CompiledContract.from_json(fresh.to_json()) == fresh


def test_the_bytecode_avoids_opcodes_newer_than_the_pinned_evm() -> None:
    assert EVM_VERSION == "paris"
    assert "# pragma evm-version paris" in load_source()
    opcodes = vyper.compile_code(load_source(), output_formats=["opcodes"])["opcodes"]
    assert not {"PUSH0", "MCOPY", "TSTORE", "TLOAD"} & set(opcodes.split())


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"schema": "copyseal/contract-artifact/v0"}),
        json.dumps({"schema": "copyseal/contract-artifact/v1", "name": "x"}),
    ],
)
def test_a_broken_artifact_is_malformed(text: str) -> None:
    with pytest.raises(MalformedDocument):
        CompiledContract.from_json(text)
