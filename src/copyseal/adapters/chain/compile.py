"""Compile copyseal's Vyper contracts offline, and load their committed artifacts.

The artifact ``copyseal/contracts/NAME.json`` records the ABI, the deployment bytecode, the
compiler and EVM versions and the SHA-256 of the source it was built from. Deployments use
the artifact, so they need no compiler and always deploy reviewed bytes; a test compiles the
source afresh and requires the artifact to match. Regenerate after editing a ``.vy`` file::

    python -m copyseal.adapters.chain.compile

The EVM version is pinned twice on purpose: in the source's ``# pragma evm-version`` (so the
plain ``vyper`` command line builds the same bytes) and here (so a mismatch fails loudly).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from copyseal.errors import MalformedDocument

# "paris": no PUSH0/MCOPY/TSTORE, so the bytecode runs on chains and consortium clients
# that lag behind Ethereum mainnet forks; the newer opcodes save this contract ~16 gas an anchor.
EVM_VERSION = "paris"
OPTIMIZE = "gas"
ARTIFACT_SCHEMA = "copyseal/contract-artifact/v1"
CHECKPOINT_ANCHOR = "CheckpointAnchor"


@dataclass(frozen=True)
class CompiledContract:
    """A compiled contract: what a deployment and a client need, and where it came from."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: str
    vyper_version: str
    evm_version: str
    optimize: str
    source_sha256: str

    def to_json(self) -> str:
        """The artifact file's text: stable key order, one trailing newline."""
        doc = {
            "schema": ARTIFACT_SCHEMA,
            "name": self.name,
            "vyper_version": self.vyper_version,
            "evm_version": self.evm_version,
            "optimize": self.optimize,
            "source_sha256": self.source_sha256,
            "abi": list(self.abi),
            "bytecode": self.bytecode,
        }
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> CompiledContract:
        try:
            doc = json.loads(text)
            if doc["schema"] != ARTIFACT_SCHEMA:
                raise MalformedDocument(f"unknown contract artifact schema {doc['schema']!r}")
            return cls(
                name=str(doc["name"]),
                abi=tuple(doc["abi"]),
                bytecode=str(doc["bytecode"]),
                vyper_version=str(doc["vyper_version"]),
                evm_version=str(doc["evm_version"]),
                optimize=str(doc["optimize"]),
                source_sha256=str(doc["source_sha256"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedDocument(f"unreadable contract artifact: {exc}") from exc


def _contracts() -> Any:
    return resources.files("copyseal.contracts")


def load_source(name: str = CHECKPOINT_ANCHOR) -> str:
    """The Vyper source of contract ``name`` as shipped with copyseal."""
    text: str = _contracts().joinpath(f"{name}.vy").read_text(encoding="utf-8")
    return text


def compile_contract(name: str = CHECKPOINT_ANCHOR) -> CompiledContract:
    """Compile ``name`` now with the installed ``vyper`` package (offline, a few seconds)."""
    import vyper
    from vyper.compiler.settings import OptimizationLevel, Settings

    # The source's `# pragma version` makes any other vyper refuse to build it.
    source = load_source(name)
    settings = Settings(evm_version=EVM_VERSION, optimize=OptimizationLevel.from_string(OPTIMIZE))
    out = vyper.compile_code(
        source,
        contract_path=f"{name}.vy",
        output_formats=["abi", "bytecode"],
        settings=settings,
    )
    return CompiledContract(
        name=name,
        abi=tuple(out["abi"]),
        bytecode=out["bytecode"],
        vyper_version=str(vyper.__version__),
        evm_version=EVM_VERSION,
        optimize=OPTIMIZE,
        source_sha256=hashlib.sha256(source.encode("utf-8")).hexdigest(),
    )


def load_artifact(name: str = CHECKPOINT_ANCHOR) -> CompiledContract:
    """The committed artifact of ``name``; raises if it was built from another source."""
    text = _contracts().joinpath(f"{name}.json").read_text(encoding="utf-8")
    artifact = CompiledContract.from_json(text)
    source_sha256 = hashlib.sha256(load_source(name).encode("utf-8")).hexdigest()
    if artifact.source_sha256 != source_sha256:
        raise MalformedDocument(
            f"{name}.json was built from another version of {name}.vy",
            hint="Regenerate it with `python -m copyseal.adapters.chain.compile`.",
        )
    return artifact


def save_artifact(contract: CompiledContract, directory: Path) -> Path:
    path = directory / f"{contract.name}.json"
    path.write_text(contract.to_json(), encoding="utf-8")
    return path


def main() -> None:
    """Rebuild every committed artifact from its source (a developer's command)."""
    directory = Path(str(_contracts()))
    for source in sorted(directory.glob("*.vy")):
        path = save_artifact(compile_contract(source.stem), directory)
        sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
