"""The log's read API in the C2SP ``tlog-tiles`` layout.

- ``tile/<L>/<N>[.p/<W>]``: the hashes of the complete subtrees of height ``8·L`` with
  indices ``256·N`` to ``256·N + W − 1`` (W = 256 for a full tile), 32 bytes each, in order.
  These are exactly the ``nodes`` rows at level ``8·L``.
- ``tile/entries/<N>[.p/<W>]``: the leaves ``256·N`` … as an entry bundle, each leaf preceded
  by its length as a big-endian uint16.
- ``<N>`` is written in zero-padded groups of three digits, all but the last prefixed with
  ``x``: 1234067 is ``x001/x234/067``. Only that one spelling is accepted.

Only what the latest signed checkpoint covers is served, so every tile a client can fetch
is consistent with a checkpoint it can verify; and a tile's bytes never change, which is what
makes them cacheable for ever.
"""

from __future__ import annotations

import re
import struct

from copyseal.core.claims import parse_leaf
from copyseal.core.encoding import parse_json
from copyseal.core.kinds import read
from copyseal.domain.log import Entry, LogStore
from copyseal.domain.wording import counted
from copyseal.errors import CopysealError, MalformedDocument, NotFound

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF
_GROUP = re.compile(r"x[0-9]{3}")
_LAST = re.compile(r"([0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?")


def encode_tile_index(index: int) -> str:
    """The path spelling of tile index ``index``: 1234067 → ``x001/x234/067``."""
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def parse_tile_path(path: str) -> tuple[int, int | None]:
    """``<N>[.p/<W>]`` → (N, W or None); raises NotFound for any other spelling."""
    not_found = NotFound(f"no tile at {path[:80]!r}")
    parts = path.split("/")
    width: int | None = None
    if len(parts) >= 2 and parts[-2].endswith(".p"):
        parts = [*parts[:-2], f"{parts[-2]}/{parts[-1]}"]
    match = _LAST.fullmatch(parts[-1])
    if match is None or len(parts) > 7 or not all(_GROUP.fullmatch(p) for p in parts[:-1]):
        raise not_found
    digits = "".join(p.lstrip("x") for p in parts[:-1]) + match.group(1)
    index = int(digits)
    if match.group(2) is not None:
        width = int(match.group(2))
        if width >= TILE_WIDTH:
            raise not_found
    if encode_tile_index(index) != "/".join([*parts[:-1], match.group(1)]):
        raise not_found
    return index, width


def bundle_bound(width: int) -> int:
    """The most bytes an entry bundle of ``width`` leaves can hold: each leaf's length is a
    uint16, so a leaf is at most 65,535 bytes, whatever a registry admits today."""
    return width * (2 + MAX_ENTRY_BYTES)


def parse_bundle(data: bytes, count: int) -> list[bytes]:
    """Split a tlog-tiles entry bundle into exactly ``count`` leaves."""
    leaves, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise MalformedDocument("entry bundle is truncated")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        leaf = data[pos + 2 : pos + 2 + length]
        if len(leaf) != length:
            raise MalformedDocument("entry bundle is truncated")
        leaves.append(leaf)
        pos += 2 + length
    if len(leaves) != count:
        held = counted(len(leaves), "entry", "entries")
        raise MalformedDocument(f"entry bundle holds {held}, not {count}")
    return leaves


def tile_path(level: int | str, index: int, width: int | None = None) -> str:
    suffix = "" if width is None or width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_tile_index(index)}{suffix}"


class LogTiles:
    def __init__(self, store: LogStore) -> None:
        self.store = store

    def signed_size(self) -> int:
        checkpoint = self.store.latest_checkpoint()
        return 0 if checkpoint is None else checkpoint.size

    def _range(self, count_at_level: int, index: int, width: int | None) -> tuple[int, int]:
        start = index * TILE_WIDTH
        stop = start + (TILE_WIDTH if width is None else width)
        if stop > count_at_level:
            raise NotFound(
                f"tile {index} is not complete to width {stop - start} in the signed tree",
                hint="Fetch the checkpoint, then only the tiles it covers.",
            )
        return start, stop

    def tile(self, level: int, index: int, width: int | None = None) -> bytes:
        if not 0 <= level <= MAX_LEVEL:
            raise NotFound(f"no tile level {level}")
        height = level * TILE_HEIGHT
        count = self.signed_size() >> height if height < 64 else 0
        start, stop = self._range(count, index, width)
        return b"".join(self.store.read_nodes(height, start, stop))

    def entry_records(self, start: int, stop: int) -> list[dict[str, object]]:
        """Entries ``start ≤ index < stop`` of the signed tree, as JSON-ready records. Every
        entry has an ID; ``work_id`` is set for entries that register a work."""
        stop = min(stop, self.signed_size())
        return [_record(e) for e in self.store.entries(start, stop)]

    def entries(self, index: int, width: int | None = None) -> bytes:
        start, stop = self._range(self.signed_size(), index, width)
        out = bytearray()
        for entry in self.store.entries(start, stop):
            if len(entry.leaf) > MAX_ENTRY_BYTES:
                raise CopysealError(f"entry {entry.index} is too long for a tlog-tiles bundle")
            out += struct.pack(">H", len(entry.leaf)) + entry.leaf
        return bytes(out)


def _record(entry: Entry) -> dict[str, object]:
    leaf = parse_json(entry.leaf)
    return {
        "index": entry.index,
        "entry_id": entry.work_id,
        "work_id": entry.work_id if read(parse_leaf(leaf)[0]).work else None,
        "type": entry.type,
        "leaf_hash": entry.leaf_hash.hex(),
        "logged_at": entry.logged_at,
        "leaf": leaf,
    }
