"""RFC 9162 Merkle tree hashing, proofs and their verification.

Pure: no I/O. Stored trees are read through a ``NodeReader``: ``read(level, index)`` returns the
hash of the complete subtree that covers leaves ``[index * 2**level, (index + 1) * 2**level)``.
Those complete-subtree hashes are the only tree state a store needs; any root, inclusion proof
or consistency proof for any tree size is composed from them with O(log n) reads.

Changing anything here changes the bytes of issued proofs: it is pinned by the published
RFC 6962/9162 vectors in ``tests/vectors``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from copyseal.errors import VerificationError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeReader = Callable[[int, int], bytes]


def leaf_hash(entry: bytes) -> bytes:
    """MTH of a one-leaf tree: SHA-256(0x00 ‖ entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) computed from the leaf hashes, for tests and rebuilds."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    # Pairwise reduction carries an odd last node up unchanged, which yields the same root
    # as the RFC's recursive split on the largest power of two.
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


# -- reading subtree hashes from a store ------------------------------------------------------


def range_hash(begin: int, end: int, read: NodeReader) -> bytes:
    """MTH(D[begin:end]) where ``begin`` is aligned to the subtree that the RFC's split yields.

    Every range met while building proofs is either a complete aligned subtree (one read) or
    a right edge ``[begin, size)``, which decomposes into at most log2(n) complete subtrees.
    """
    size = end - begin
    if size <= 0:
        raise ValueError("empty range")
    if size & (size - 1) == 0 and begin % size == 0:
        return read(size.bit_length() - 1, begin // size)
    # MTH splits on the largest power of two below the size, so a right edge is a chain of
    # complete subtrees of decreasing size, folded from the right.
    parts: list[bytes] = []
    pos = begin
    while pos < end:
        step = 1 << ((end - pos).bit_length() - 1)
        while pos % step:
            step >>= 1
        parts.append(read(step.bit_length() - 1, pos // step))
        pos += step
    acc = parts[-1]
    for h in reversed(parts[:-1]):
        acc = node_hash(h, acc)
    return acc


def root(size: int, read: NodeReader) -> bytes:
    """MTH of the first ``size`` leaves."""
    return EMPTY_ROOT if size == 0 else range_hash(0, size, read)


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    """PATH(index, D[size]) per RFC 9162 §2.1.3.1, leaf to root order."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    proof: list[bytes] = []
    begin, end = 0, size
    while end - begin > 1:
        k = _split(end - begin)
        if index < begin + k:
            proof.append(range_hash(begin + k, end, read))
            end = begin + k
        else:
            proof.append(range_hash(begin, begin + k, read))
            begin += k
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, read: NodeReader) -> list[bytes]:
    """PROOF(old_size, D[new_size]) per RFC 9162 §2.1.4.1."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"cannot prove {old_size} against {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    begin, end, m, complete = 0, new_size, old_size, True
    while True:
        n = end - begin
        if m == n:
            if not complete:
                proof.append(range_hash(begin, end, read))
            break
        k = _split(n)
        if m <= k:
            proof.append(range_hash(begin + k, end, read))
            end = begin + k
        else:
            proof.append(range_hash(begin, begin + k, read))
            begin += k
            m -= k
            complete = False
    proof.reverse()
    return proof


# -- appending --------------------------------------------------------------------------------


def frontier(size: int) -> list[tuple[int, int]]:
    """The (level, index) of the complete subtrees a tree of ``size`` leaves is made of,
    largest first. Appending leaves to it, and proving the new leaves, reads no other
    stored node: a writer can fetch them all at once."""
    nodes, begin = [], 0
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            nodes.append((level, begin >> level))
            begin += 1 << level
    return nodes


def append_nodes(
    size: int, read: NodeReader, hashes: Iterable[bytes]
) -> tuple[int, dict[tuple[int, int], bytes]]:
    """Append leaf hashes to a tree of ``size`` leaves.

    Returns the new size and every complete-subtree node the appends created, keyed by
    ``(level, index)``; the caller stores them. Reads only the existing right-edge nodes.
    """
    new: dict[tuple[int, int], bytes] = {}

    def get(level: int, index: int) -> bytes:
        found = new.get((level, index))
        return found if found is not None else read(level, index)

    for h in hashes:
        index, level = size, 0
        new[(0, index)] = h
        # Each trailing 1-bit of the new leaf's index closes one more complete subtree.
        while index & 1:
            h = node_hash(get(level, index - 1), h)
            index >>= 1
            level += 1
            new[(level, index)] = h
        size += 1
    return size, new


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -------------------------------------------


def _check_hashes(*hashes: bytes) -> None:
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise VerificationError("a hash is not 32 bytes", check="proof")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for ``leaf`` at ``index``; raises if it is malformed."""
    if not 0 <= index < size:
        raise VerificationError(
            f"index {index} is outside a tree of size {size}", check="inclusion"
        )
    _check_hashes(leaf, *proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is too long", check="inclusion")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion proof is too short", check="inclusion")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """Raise :class:`VerificationError` unless ``leaf`` is at ``index`` under ``root_hash``."""
    _check_hashes(root_hash)
    if root_from_inclusion_proof(index, size, leaf, proof) != root_hash:
        raise VerificationError("inclusion proof does not lead to the root", check="inclusion")


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Raise :class:`VerificationError` unless the tree ``old_root`` is a prefix of ``new_root``."""
    _check_hashes(old_root, new_root, *proof)
    fail = "consistency"
    if not 0 <= old_size <= new_size:
        raise VerificationError(f"old size {old_size} exceeds new size {new_size}", check=fail)
    if old_size == new_size:
        if proof:
            raise VerificationError("proof between equal sizes must be empty", check=fail)
        if old_root != new_root:
            raise VerificationError("equal sizes with different roots", check=fail)
        return
    if old_size == 0:
        if proof:
            raise VerificationError("proof from the empty tree must be empty", check=fail)
        return
    if not proof:
        raise VerificationError("consistency proof is empty", check=fail)
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is too long", check=fail)
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("consistency proof is too short", check=fail)
    if fr != old_root or sr != new_root:
        raise VerificationError("consistency proof does not match the roots", check=fail)
