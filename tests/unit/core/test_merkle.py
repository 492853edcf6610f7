"""RFC 9162 Merkle trees: published vectors, copyseal's own tree, and properties."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copyseal.core import merkle
from copyseal.errors import VerificationError
from tests.unit.core.helpers import (
    PROPERTY,
    Tree,
    b64,
    b64_list,
    filler_hash,
    hexes,
    load_vector,
    recording,
    reference_root,
)

CONSTANTS = load_vector("transparency-dev-merkle-constants.json")
INCLUSION = load_vector("transparency-dev-merkle-inclusion.json")["cases"]
CONSISTENCY = load_vector("transparency-dev-merkle-consistency.json")["cases"]
VERIFY_TEST = load_vector("transparency-dev-merkle-verify-test.json")
ARGON = load_vector("golang-mod-tlog-argon2020.json")

LEAVES = [merkle.leaf_hash(bytes.fromhex(x)) for x in CONSTANTS["leaf_inputs"]]
TREE8 = Tree.of(LEAVES)


# -- hashing: testonly/constants.go ------------------------------------------------------------


def test_empty_root() -> None:
    assert merkle.EMPTY_ROOT.hex() == CONSTANTS["root_hashes"][0]
    assert merkle.root_from_leaf_hashes([]) == merkle.EMPTY_ROOT
    assert merkle.root(0, TREE8.read) == merkle.EMPTY_ROOT


def test_every_complete_subtree_hash() -> None:
    expected = {
        (level, index): bytes.fromhex(h)
        for level, row in enumerate(CONSTANTS["node_hashes"])
        for index, h in enumerate(row)
    }
    assert TREE8.nodes == expected


@pytest.mark.parametrize("size", range(9))
def test_root_of_every_prefix(size: int) -> None:
    want = bytes.fromhex(CONSTANTS["root_hashes"][size])
    assert merkle.root(size, TREE8.read) == want
    assert merkle.root_from_leaf_hashes(LEAVES[:size]) == want
    assert reference_root(LEAVES[:size]) == want


@pytest.mark.parametrize("size", range(1, 9))
def test_root_reads_only_the_compact_range(size: int) -> None:
    read, seen = recording(TREE8.read)
    merkle.root(size, read)
    assert sorted(seen) == sorted(tuple(x) for x in CONSTANTS["compact_trees"][size])


@pytest.mark.parametrize("size", range(9))
def test_frontier_is_the_compact_range(size: int) -> None:
    assert sorted(merkle.frontier(size)) == sorted(
        tuple(x) for x in CONSTANTS["compact_trees"][size]
    )


@PROPERTY
@given(st.integers(0, 300), st.integers(1, 40))
def test_appending_and_proving_new_leaves_read_only_the_frontier(start: int, count: int) -> None:
    """What lets a writer fetch, in one query, every stored node a batch needs."""
    leaves = [filler_hash(i) for i in range(start + count)]
    old = Tree.of(leaves[:start])
    read, seen = recording(old.read)
    size, created = merkle.append_nodes(start, read, leaves[start:])

    def overlay(level: int, index: int) -> bytes:
        return created[(level, index)] if (level, index) in created else read(level, index)

    root = merkle.root(size, overlay)
    assert root == merkle.root_from_leaf_hashes(leaves)
    for index in range(start, size):
        proof = merkle.inclusion_proof(index, size, overlay)
        merkle.verify_inclusion(index, size, created[(0, index)], proof, root)
    assert set(seen) <= set(merkle.frontier(start))


def test_hash_domains_differ() -> None:
    assert merkle.leaf_hash(b"") != merkle.node_hash(b"", b"")
    assert merkle.leaf_hash(b"") == bytes.fromhex(CONSTANTS["node_hashes"][0][0])


# -- inclusion: testdata/inclusion -------------------------------------------------------------


def _inclusion_id(case: dict[str, Any]) -> str:
    return str(case["file"])


@pytest.mark.parametrize("case", INCLUSION, ids=_inclusion_id)
def test_published_inclusion_vectors(case: dict[str, Any]) -> None:
    index, size = case["leafIdx"], case["treeSize"]
    leaf, root, proof = b64(case["leafHash"]), b64(case["root"]), b64_list(case["proof"])
    if case["wantErr"]:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(index, size, leaf, proof, root)
        return
    merkle.verify_inclusion(index, size, leaf, proof, root)
    assert merkle.root_from_inclusion_proof(index, size, leaf, proof) == root
    assert merkle.inclusion_proof(index, size, TREE8.read) == proof


def test_every_inclusion_vector_directory_has_a_happy_path() -> None:
    happy = {c["file"].split("/")[0] for c in INCLUSION if not c["wantErr"]}
    assert happy == {"0", "1", "2", "3", "4"}
    assert sum(c["wantErr"] for c in INCLUSION) == len(INCLUSION) - 5


@pytest.mark.parametrize("vector", VERIFY_TEST["inclusion_proofs"], ids=str)
def test_verify_test_inclusion_proofs(vector: dict[str, Any]) -> None:
    index, size = vector["leaf"] - 1, vector["size"]
    proof = hexes(vector["proof"])
    assert merkle.inclusion_proof(index, size, TREE8.read) == proof
    root = bytes.fromhex(CONSTANTS["root_hashes"][size])
    merkle.verify_inclusion(index, size, LEAVES[index], proof, root)


def test_single_entry_tree() -> None:
    h = merkle.leaf_hash(VERIFY_TEST["single_entry_data"].encode())
    merkle.verify_inclusion(0, 1, h, [], h)
    for root, leaf in [(h, b""), (b"", h), (b"", b"")]:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(0, 1, leaf, [], root)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_empty_proof_never_verifies_a_wrong_root(index: int, size: int) -> None:
    some = bytes.fromhex(VERIFY_TEST["some_hash"])
    for leaf, root in [(some, b""), (b"", merkle.EMPTY_ROOT), (some, merkle.EMPTY_ROOT)]:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(index, size, leaf, [], root)


@pytest.mark.parametrize(("index", "size"), [(-1, 4), (4, 4), (0, 0)])
def test_inclusion_proof_rejects_out_of_range(index: int, size: int) -> None:
    with pytest.raises(ValueError):
        merkle.inclusion_proof(index, size, TREE8.read)


# -- consistency: testdata/consistency ---------------------------------------------------------


@pytest.mark.parametrize("case", CONSISTENCY, ids=_inclusion_id)
def test_published_consistency_vectors(case: dict[str, Any]) -> None:
    size1, size2 = case["size1"], case["size2"]
    root1, root2, proof = b64(case["root1"]), b64(case["root2"]), b64_list(case["proof"])
    if case["wantErr"]:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(size1, size2, root1, root2, proof)
        return
    merkle.verify_consistency(size1, size2, root1, root2, proof)
    assert merkle.consistency_proof(size1, size2, TREE8.read) == proof


@pytest.mark.parametrize("vector", VERIFY_TEST["consistency_proofs"], ids=str)
def test_verify_test_consistency_proofs(vector: dict[str, Any]) -> None:
    size1, size2 = vector["size1"], vector["size2"]
    proof = hexes(vector["proof"])
    assert merkle.consistency_proof(size1, size2, TREE8.read) == proof
    roots = hexes(CONSTANTS["root_hashes"])
    merkle.verify_consistency(size1, size2, roots[size1], roots[size2], proof)


@pytest.mark.parametrize("case", VERIFY_TEST["consistency_edge_cases"], ids=str)
def test_consistency_edge_cases(case: dict[str, Any]) -> None:
    root1, root2 = bytes.fromhex(case["root1"]), bytes.fromhex(case["root2"])
    proof = hexes(case["proof"])
    # copyseal also refuses any hash that is not 32 bytes, even where the sizes alone would
    # make the proof trivially acceptable (the source's 12-byte "don't care" roots).
    malformed = any(len(h) != merkle.HASH_SIZE for h in (root1, root2, *proof))
    if case["wantErr"] or malformed:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(case["size1"], case["size2"], root1, root2, proof)
    else:
        merkle.verify_consistency(case["size1"], case["size2"], root1, root2, proof)


def test_consistency_edge_cases_with_real_hashes() -> None:
    roots = hexes(CONSTANTS["root_hashes"])
    merkle.verify_consistency(0, 0, roots[0], roots[0], [])
    merkle.verify_consistency(0, 5, roots[0], roots[5], [])
    merkle.verify_consistency(3, 3, roots[3], roots[3], [])
    with pytest.raises(VerificationError):
        merkle.verify_consistency(3, 3, roots[3], roots[4], [])


@pytest.mark.parametrize(("old", "new"), [(-1, 3), (4, 3)])
def test_consistency_proof_rejects_bad_sizes(old: int, new: int) -> None:
    with pytest.raises(ValueError):
        merkle.consistency_proof(old, new, TREE8.read)


# -- a real log: the Argon 2020 CT log ---------------------------------------------------------


def test_argon2020_inclusion() -> None:
    leaf = merkle.leaf_hash(b64(ARGON["leaf_input"]))
    size, root = ARGON["sth"]["tree_size"], b64(ARGON["sth"]["sha256_root_hash"])
    proof = b64_list(ARGON["audit_path"])
    merkle.verify_inclusion(ARGON["entry_index"], size, leaf, proof, root)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(ARGON["entry_index"] + 1, size, leaf, proof, root)


def test_argon2020_consistency() -> None:
    size, root = ARGON["sth"]["tree_size"], b64(ARGON["sth"]["sha256_root_hash"])
    old_size, old_root = ARGON["consistency_first"], b64(ARGON["consistency_first_root"])
    proof = b64_list(ARGON["consistency"])
    merkle.verify_consistency(old_size, size, old_root, root, proof)
    with pytest.raises(VerificationError):
        merkle.verify_consistency(old_size + 1, size, old_root, root, proof)


@pytest.mark.parametrize("position", range(30))
def test_argon2020_every_audit_path_element_matters(position: int) -> None:
    leaf = merkle.leaf_hash(b64(ARGON["leaf_input"]))
    proof = b64_list(ARGON["audit_path"])
    proof[position] = bytes([proof[position][0] ^ 1]) + proof[position][1:]
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(
            ARGON["entry_index"],
            ARGON["sth"]["tree_size"],
            leaf,
            proof,
            b64(ARGON["sth"]["sha256_root_hash"]),
        )


# -- copyseal's own tree (tests/vectors/copyseal.json) -----------------------------------------


def test_copyseal_tree_vectors(copyseal_vectors: Any) -> None:
    tree_vec = copyseal_vectors["tree"]
    inputs = copyseal_vectors["inputs"]
    tree = Tree.of(hexes(tree_vec["leaf_hashes"]))
    assert [tree.root(n).hex() for n in range(tree.size + 1)] == tree_vec["roots"]
    proof = merkle.inclusion_proof(inputs["index"], tree.size, tree.read)
    assert [p.hex() for p in proof] == tree_vec["inclusion_proof"]
    consistency = merkle.consistency_proof(inputs["old_size"], tree.size, tree.read)
    assert [p.hex() for p in consistency] == tree_vec["consistency_proof"]


def test_copyseal_tree_section_is_unchanged(copyseal_vectors: Any, rebuilt_vectors: Any) -> None:
    assert rebuilt_vectors["tree"] == copyseal_vectors["tree"]


# -- properties --------------------------------------------------------------------------------

_TREES: dict[int, Tree] = {}


def _tree(size: int) -> Tree:
    """Prefixes of one growing tree, shared across examples to keep the run fast."""
    big = _TREES.get(0)
    if big is None or big.size < size:
        big = Tree.of([filler_hash(i) for i in range(max(size, 400))])
        _TREES[0] = big
    return big


@PROPERTY
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_every_inclusion_proof_verifies(size_index: tuple[int, int]) -> None:
    size, index = size_index
    tree = _tree(size)
    root = tree.root(size)
    proof = merkle.inclusion_proof(index, size, tree.read)
    merkle.verify_inclusion(index, size, filler_hash(index), proof, root)
    assert len(proof) <= size.bit_length()
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(index, size, filler_hash(index + 1), proof, root)
    if proof:
        bad = [*proof[:-1], bytes(32)]
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(index, size, filler_hash(index), bad, root)


@PROPERTY
@given(st.integers(0, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_consistency_holds_for_any_prefix(sizes: tuple[int, int]) -> None:
    old, new = sizes
    tree = _tree(new)
    old_root, new_root = tree.root(old), tree.root(new)
    proof = merkle.consistency_proof(old, new, tree.read)
    merkle.verify_consistency(old, new, old_root, new_root, proof)
    if proof:
        for i in range(len(proof)):
            bad = list(proof)
            bad[i] = bytes([bad[i][0] ^ 0x80]) + bad[i][1:]
            with pytest.raises(VerificationError):
                merkle.verify_consistency(old, new, old_root, new_root, bad)
    if 0 < old < new:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(old, new, tree.root(old - 1), new_root, proof)


@PROPERTY
@given(st.integers(0, 200))
def test_store_root_equals_the_rfc_recursion(size: int) -> None:
    hashes = [filler_hash(i) for i in range(size)]
    want = reference_root(hashes)
    assert merkle.root_from_leaf_hashes(hashes) == want
    assert _tree(size).root(size) == want


@PROPERTY
@given(st.integers(0, 300).flatmap(lambda n: st.lists(st.integers(0, n), max_size=12)), st.data())
def test_any_batch_split_equals_one_by_one(cuts: list[int], data: st.DataObject) -> None:
    size = data.draw(st.integers(max(cuts, default=0), 300))
    hashes = [filler_hash(i) for i in range(size)]
    one_by_one = Tree(0, {})
    for h in hashes:
        one_by_one.append([h])
    batched = Tree(0, {})
    bounds = sorted({0, size, *cuts})
    for lo, hi in itertools.pairwise(bounds):
        batched.append(hashes[lo:hi])
    assert batched.size == one_by_one.size == size
    assert batched.nodes == one_by_one.nodes == Tree.of(hashes).nodes


@PROPERTY
@given(st.integers(1, 300), st.integers(1, 40))
def test_append_reads_only_existing_right_edge(size: int, extra: int) -> None:
    tree = Tree.of([filler_hash(i) for i in range(size)])
    read, seen = recording(tree.read)
    merkle.append_nodes(tree.size, read, [filler_hash(size + i) for i in range(extra)])
    assert len(seen) <= size.bit_length()
    assert all(index << level < size for level, index in seen)


@PROPERTY
@given(
    st.integers(0, 2**64),
    st.integers(0, 2**64),
    st.lists(st.binary(min_size=0, max_size=40), max_size=70),
    st.binary(max_size=40),
    st.binary(max_size=40),
)
def test_verifiers_raise_only_verification_errors(
    a: int, b: int, proof: list[bytes], h1: bytes, h2: bytes
) -> None:
    with contextlib.suppress(VerificationError):
        merkle.verify_inclusion(a, b, h1, proof, h2)
    with contextlib.suppress(VerificationError):
        merkle.verify_consistency(a, b, h1, h2, proof)
