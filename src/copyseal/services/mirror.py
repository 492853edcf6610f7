"""Mirroring a remote copyseal log, verifying everything it serves.

The mirror reads the remote's C2SP ``tlog-tiles`` (checkpoint and entry bundles) through a
``Fetch`` function, so the same code mirrors over HTTP or from files. For each sync it:

1. verifies the remote checkpoint's signature with the log key it was told to trust;
2. refuses a checkpoint smaller than the last one it mirrored (a rollback) or of the same
   size with another root (a fork);
3. fetches the new entries, checks every leaf holds a validly signed claim, and checks that
   the entries it already holds are served unchanged;
4. recomputes the tree and accepts the remote checkpoint only if its root is the root of
   the old entries plus the new ones.

The whole sync is one store transaction: if any check fails nothing is kept, and the error
is an :class:`InconsistencyError` carrying the evidence (both signed checkpoints, and the
entry that differs), which anyone can check with the log's public key.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from copyseal.core import merkle
from copyseal.core.claims import parse_leaf
from copyseal.core.encoding import parse_canonical_json
from copyseal.core.kinds import content_of
from copyseal.core.note import Checkpoint, Note, NoteVerifier, open_checkpoint
from copyseal.domain.log import Entry, LogStore, LogWriter, StoredCheckpoint
from copyseal.errors import CopysealError, InconsistencyError, MalformedDocument
from copyseal.services.tiles import TILE_WIDTH, tile_path

Fetch = Callable[[str], bytes]


@dataclass(frozen=True)
class SyncReport:
    old_size: int
    new_size: int
    fetched: int
    root_hash: str


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
        raise MalformedDocument(f"entry bundle holds {len(leaves)} entries, not {count}")
    return leaves


def entry_from_leaf(index: int, leaf: bytes) -> Entry:
    """Check a served leaf holds a validly signed claim, and index it like the log does."""
    try:
        claim, logged_at = parse_leaf(parse_canonical_json(leaf))
        claim.verify()
    except CopysealError as exc:
        raise InconsistencyError(
            f"the log serves entry {index} without a valid signed claim: {exc.message}",
            index=index,
            leaf=leaf.decode("utf-8", "replace"),
        ) from exc
    return Entry.of(index, leaf, claim, logged_at, content=content_of(claim))


class Mirror:
    def __init__(self, *, store: LogStore, log: NoteVerifier, fetch: Fetch) -> None:
        self.store = store
        self.log = log
        self.fetch = fetch

    def sync(self, *, progress: Callable[[int, int], None] | None = None) -> SyncReport:
        signed = self.fetch("checkpoint")
        remote, _ = open_checkpoint(signed, self.log)
        note = signed.decode("utf-8")
        with self.store.sequencer() as writer:
            old_size = writer.tree_size()
            mine = self.store.latest_checkpoint()
            self._check_not_rolled_back(mine, remote, note)
            try:
                root = self._extend(writer, old_size, remote, progress)
            except InconsistencyError as exc:
                # Whatever was found, the two signed checkpoints are the evidence.
                exc.details.setdefault("mirrored_checkpoint", None if mine is None else mine.note)
                exc.details.setdefault("remote_checkpoint", note)
                raise
            if mine is None or remote.size > mine.size:
                writer.append([], {}, StoredCheckpoint(remote.size, note, ""))
        return SyncReport(old_size, remote.size, remote.size - old_size, root.hex())

    def _extend(
        self,
        writer: LogWriter,
        size: int,
        remote: Checkpoint,
        progress: Callable[[int, int], None] | None,
    ) -> bytes:
        while size < remote.size:
            size = self._append_tile(writer, size, remote.size)
            if progress is not None:
                progress(size, remote.size)
        root = merkle.root(remote.size, writer.read_node)
        if root != remote.root_hash:
            raise InconsistencyError(
                "the log's checkpoint does not commit to the entries it serves:"
                " its history was rewritten or its tree was forked",
                computed_root=root.hex(),
            )
        return root

    def _check_not_rolled_back(
        self, mine: StoredCheckpoint | None, remote: Checkpoint, note: str
    ) -> None:
        if mine is None:
            return
        ours = Checkpoint.from_text(Note.from_text(mine.note).text)
        if remote.size < ours.size:
            raise InconsistencyError(
                f"the log rolled back from size {ours.size} to {remote.size}",
                mirrored_checkpoint=mine.note,
                remote_checkpoint=note,
            )
        if remote.size == ours.size and remote.root_hash != ours.root_hash:
            raise InconsistencyError(
                f"the log signed two different trees of size {ours.size}: a fork",
                mirrored_checkpoint=mine.note,
                remote_checkpoint=note,
            )

    def _append_tile(self, writer: LogWriter, size: int, target: int) -> int:
        """Fetch the entry bundle holding index ``size``; append its new entries."""
        tile = size // TILE_WIDTH
        first = tile * TILE_WIDTH
        width = min(TILE_WIDTH, target - first)
        path = tile_path("entries", tile, None if width == TILE_WIDTH else width)
        leaves = parse_bundle(self.fetch(path), width)
        for offset, leaf in enumerate(leaves[: size - first]):
            held = merkle.leaf_hash(leaf)
            ours = writer.read_node(0, first + offset)
            if held != ours:
                raise InconsistencyError(
                    f"the log now serves a different entry {first + offset}",
                    index=first + offset,
                    mirrored_leaf_hash=ours.hex(),
                    served_leaf=leaf.decode("utf-8", "replace"),
                )
        entries = [entry_from_leaf(first + i, leaf) for i, leaf in enumerate(leaves)][
            size - first :
        ]
        new_size, nodes = merkle.append_nodes(
            size, writer.read_node, (e.leaf_hash for e in entries)
        )
        try:
            writer.append(entries, nodes, None)
        except CopysealError as exc:
            raise InconsistencyError(
                f"the log serves entries the registry would have refused: {exc.message}"
            ) from exc
        return new_size
