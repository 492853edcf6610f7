"""Helpers for the core tests: vector loading, in-memory trees and certificate building.

Certificates are built here without the storage layer: a tree of leaf hashes in memory
(``merkle.append_nodes``), a checkpoint signed with ``note.sign_note`` and a
``Certificate(...)`` constructed directly, exactly as the registry assembles one.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from copyseal.core import merkle
from copyseal.core.certificate import Certificate
from copyseal.core.claims import Claim, leaf_bytes
from copyseal.core.encoding import parse_canonical_json
from copyseal.core.keys import Signer
from copyseal.core.kinds import sign_claim
from copyseal.core.kinds.register import register_body
from copyseal.core.note import Checkpoint, NoteSigner, sign_note
from copyseal.core.workid import compute_work_id

VECTORS = Path(__file__).resolve().parents[2] / "vectors"

# Deterministic property runs: the same examples on every machine and every run, no
# example database, no deadline (tests never depend on timing).
PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)

# Text that may hold anything a Python str can, lone surrogates included.
any_text = st.text(st.characters() | st.characters(categories=["Cs"]) | st.sampled_from("\n+ —"))


@cache
def load_vector(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def load_build() -> ModuleType:
    """``tests/vectors/build.py`` as a module (it is a script, not a package member)."""
    spec = importlib.util.spec_from_file_location("copyseal_vector_build", VECTORS / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def b64_list(items: Sequence[str] | None) -> list[bytes]:
    return [b64(x) for x in items or []]


def hexes(items: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in items]


# -- in-memory trees ---------------------------------------------------------------------------


def no_reads(level: int, index: int) -> bytes:
    raise AssertionError(f"unexpected read of node ({level}, {index})")


def filler_hash(i: int) -> bytes:
    return merkle.leaf_hash(b"filler %d" % i)


@dataclass
class Tree:
    """Complete-subtree hashes held in a dict, read the way a store is read."""

    size: int
    nodes: dict[tuple[int, int], bytes]

    @classmethod
    def of(cls, leaf_hashes: Sequence[bytes]) -> Tree:
        size, nodes = merkle.append_nodes(0, no_reads, leaf_hashes)
        return cls(size, nodes)

    def read(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def append(self, leaf_hashes: Sequence[bytes]) -> None:
        self.size, new = merkle.append_nodes(self.size, self.read, leaf_hashes)
        self.nodes.update(new)

    def root(self, size: int | None = None) -> bytes:
        return merkle.root(self.size if size is None else size, self.read)


def recording(read: merkle.NodeReader) -> tuple[merkle.NodeReader, list[tuple[int, int]]]:
    seen: list[tuple[int, int]] = []

    def wrapped(level: int, index: int) -> bytes:
        seen.append((level, index))
        return read(level, index)

    return wrapped, seen


def reference_root(hashes: Sequence[bytes]) -> bytes:
    """MTH by the RFC 9162 §2.1.1 recursion, the oracle for the store-based code."""
    n = len(hashes)
    if n == 0:
        return merkle.EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return merkle.node_hash(reference_root(hashes[:k]), reference_root(hashes[k:]))


# -- certificates ------------------------------------------------------------------------------

CREATOR = Signer.from_seed(hashlib.sha256(b"test creator").digest())
LOG = NoteSigner("test.copyseal.example/log", hashlib.sha256(b"test log").digest())
OTHER_LOG = NoteSigner("other.copyseal.example/log", hashlib.sha256(b"other log").digest())
CONTENT = b"a short poem\nabout trees\n"


def make_claim(content: bytes = CONTENT, *, nonce: bytes = bytes(16), title: str = "") -> Claim:
    body = register_body(
        sha256=hashlib.sha256(content).digest(),
        size=len(content),
        media_type="text/plain",
        title=title or None,
    )
    return sign_claim(CREATOR, "register", body, nonce=nonce, created="2026-11-23T12:00:00Z")


@dataclass
class Issued:
    cert: Certificate
    tree: Tree
    log: NoteSigner
    content: bytes


def issue(
    size: int,
    index: int,
    *,
    log: NoteSigner = LOG,
    content: bytes = CONTENT,
    logged_at: str = "2026-11-23T12:00:01Z",
    filler: Callable[[int], bytes] = filler_hash,
    title: str = "",
) -> Issued:
    """A certificate for a claim at ``index`` in a tree of ``size`` leaves."""
    claim = make_claim(content, nonce=index.to_bytes(16, "big"), title=title)
    leaf = leaf_bytes(claim, logged_at)
    leaf_hash = merkle.leaf_hash(leaf)
    tree = Tree.of([leaf_hash if i == index else filler(i) for i in range(size)])
    checkpoint = Checkpoint(log.name, size, tree.root())
    cert = Certificate(
        work_id=compute_work_id(index, leaf_hash),
        log_vkey=log.verifier.to_vkey(),
        index=index,
        leaf_hash=leaf_hash,
        leaf=parse_canonical_json(leaf),
        tree_size=size,
        proof=tuple(merkle.inclusion_proof(index, size, tree.read)),
        checkpoint=sign_note(checkpoint.to_text(), [log]).to_text(),
    )
    return Issued(cert, tree, log, content)
