"""A remote log's tree as its C2SP tlog-tiles serve it, for evidence of a rewritten history.

A mirror never needs the remote's hash tiles to verify it: the remote's root must equal the
root the mirror computes from the hashes it holds plus the new entries, and any change to
an entry it holds breaks that. When the roots differ, these tiles say *which* entry the
remote now commits to instead, with an inclusion proof under the remote's own signed root.
That pair of proofs (the mirrored entry under the mirrored checkpoint, the other entry at
the same index under the new checkpoint) is a fork no honest log can produce.
"""

from __future__ import annotations

from collections.abc import Callable

from copyseal.core import merkle
from copyseal.core.merkle import HASH_SIZE, NodeReader
from copyseal.core.note import Checkpoint
from copyseal.errors import MalformedDocument
from copyseal.services.tiles import TILE_HEIGHT, TILE_WIDTH, bundle_bound, parse_bundle, tile_path

Fetch = Callable[[str, int], bytes]


class ServedTree:
    """The complete-subtree hashes of the remote's tree of ``size`` leaves (a ``NodeReader``),
    read from its hash tiles, each fetched once and held to exactly 32 bytes per hash."""

    def __init__(self, fetch: Fetch, size: int) -> None:
        self.fetch = fetch
        self.size = size
        self._tiles: dict[tuple[int, int], bytes] = {}

    def read_node(self, level: int, index: int) -> bytes:
        tile_level, height = divmod(level, TILE_HEIGHT)
        # A node below a tile's height is the root of 2**height aligned hashes of one tile.
        first, count = index << height, 1 << height
        tile = self._tile(tile_level, first // TILE_WIDTH)
        start = (first % TILE_WIDTH) * HASH_SIZE
        part = tile[start : start + count * HASH_SIZE]
        if len(part) != count * HASH_SIZE:
            raise MalformedDocument(f"node ({level}, {index}) is outside the served tiles")
        hashes = [part[i : i + HASH_SIZE] for i in range(0, len(part), HASH_SIZE)]
        return merkle.root_from_leaf_hashes(hashes)

    def _tile(self, level: int, index: int) -> bytes:
        found = self._tiles.get((level, index))
        if found is not None:
            return found
        width = min(TILE_WIDTH, (self.size >> (level * TILE_HEIGHT)) - index * TILE_WIDTH)
        if width <= 0:
            raise MalformedDocument(f"tile {level}/{index} is outside a tree of {self.size}")
        path = tile_path(level, index, width)
        data = self.fetch(path, width * HASH_SIZE)
        if len(data) != width * HASH_SIZE:
            raise MalformedDocument(
                f"the tile {path} holds {len(data)} bytes, not {width} hashes of 32 bytes"
            )
        self._tiles[(level, index)] = data
        return data


def first_difference(held: NodeReader, served: NodeReader, size: int) -> int | None:
    """The first leaf index below ``size`` where the two trees differ, or None.

    Descends from the complete subtrees that make up the tree of ``size`` (which the larger
    tree contains unchanged), only into subtrees whose hashes differ: O(log n) reads.
    """
    for level, index in merkle.frontier(size):
        if held(level, index) == served(level, index):
            continue
        while level > 0:
            level, index = level - 1, index * 2
            if held(level, index) == served(level, index):
                index += 1
        return index
    return None


def rewrite_evidence(
    fetch: Fetch, held: NodeReader, mirrored: Checkpoint, remote: Checkpoint
) -> tuple[int, dict[str, object]] | None:
    """The first entry of ``mirrored`` that ``remote`` commits to differently, and the
    evidence: that index's two leaf hashes, each proved under its checkpoint's root. None
    when the served tiles show no such entry under the remote's own root.

    ``held`` reads the mirror's own hashes (a tree of at least ``mirrored.size``).
    """
    served = ServedTree(fetch, remote.size)
    index = first_difference(held, served.read_node, mirrored.size)
    if index is None:
        return None
    tile, offset = divmod(index, TILE_WIDTH)
    width = min(TILE_WIDTH, remote.size - tile * TILE_WIDTH)
    bundle = fetch(tile_path("entries", tile, width), bundle_bound(width))
    leaf = parse_bundle(bundle, width)[offset]
    served_proof = merkle.inclusion_proof(index, remote.size, served.read_node)
    leaf_hash = merkle.leaf_hash(leaf)
    if leaf_hash == held(0, index) or (
        merkle.root_from_inclusion_proof(index, remote.size, leaf_hash, served_proof)
        != remote.root_hash
    ):
        return None  # the tiles contradict the remote's own checkpoint: no proof either way
    return index, {
        "index": index,
        "mirrored_leaf_hash": held(0, index).hex(),
        "mirrored_inclusion_proof": [
            h.hex() for h in merkle.inclusion_proof(index, mirrored.size, held)
        ],
        "served_leaf": leaf.decode("utf-8", "replace"),
        "served_leaf_hash": leaf_hash.hex(),
        "served_inclusion_proof": [h.hex() for h in served_proof],
    }
