"""Mirroring a remote copyseal log, verifying everything it serves.

The mirror reads the remote's C2SP ``tlog-tiles`` (checkpoint and entry bundles) through a
``Fetch`` function, so the same code mirrors over HTTP or from files. ``fetch(path,
max_bytes)`` is told how large each resource can be (a checkpoint, a bundle of W leaves, a
tile of W hashes) and refuses more while it reads. For each sync the mirror:

1. verifies the remote checkpoint's signature with the log key it was told to trust;
2. checks its own hashes still reproduce the checkpoint it mirrored last, so a damaged
   mirror is never mistaken for a lying log;
3. refuses a checkpoint smaller than the last one it mirrored (a rollback) or of the same
   size with another root (a fork);
4. fetches the new entries, checks every leaf holds a validly signed claim, and checks that
   the entries it already holds in a partial tile are served unchanged;
5. recomputes the tree from the hashes it holds (every entry mirrored before, full tiles
   included) plus the new entries, and accepts the remote checkpoint only if its root is
   that root. This is the consistency proof from the mirrored checkpoint to the new one,
   computed rather than trusted: a remote that rewrote any entry it served before cannot
   pass it.

The whole sync is one store transaction: if any check fails nothing is kept, and the error
is an :class:`InconsistencyError` carrying the evidence (both signed checkpoints and, for a
rewritten entry, that entry under both roots with both inclusion proofs; see
``served_tree``), which anyone can check with the log's public key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from copyseal.core import merkle
from copyseal.core.claims import parse_leaf
from copyseal.core.encoding import parse_canonical_json
from copyseal.core.kinds import content_of
from copyseal.core.note import Checkpoint, Note, NoteVerifier, open_checkpoint
from copyseal.domain.log import Entry, LogStore, LogWriter, StoredCheckpoint
from copyseal.errors import CopysealError, InconsistencyError
from copyseal.services.served_tree import rewrite_evidence
from copyseal.services.tiles import TILE_WIDTH, bundle_bound, parse_bundle, tile_path

Fetch = Callable[[str, int], bytes]
Progress = Callable[[int, int], None]

# A checkpoint is a few lines plus at most 100 signature lines (``core.note``); the same
# bound as a witness's whole add-checkpoint request.
MAX_CHECKPOINT_BYTES = 64 << 10

__all__ = ["MAX_CHECKPOINT_BYTES", "Fetch", "Mirror", "SyncReport", "parse_bundle"]


@dataclass(frozen=True)
class SyncReport:
    old_size: int
    new_size: int
    fetched: int
    root_hash: str


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

    def sync(self, *, progress: Progress | None = None) -> SyncReport:
        signed = self.fetch("checkpoint", MAX_CHECKPOINT_BYTES)
        remote, _ = open_checkpoint(signed, self.log)
        note = signed.decode("utf-8")
        with self.store.sequencer() as writer:
            old_size = writer.tree_size()
            mine = self.store.latest_checkpoint()
            ours = None if mine is None else Checkpoint.from_text(Note.from_text(mine.note).text)
            if mine is not None and ours is not None:
                _check_held(writer, ours)
                _check_not_rolled_back(ours, remote, mine, note)
            try:
                root = self._extend(writer, ours, remote, progress)
            except InconsistencyError as exc:
                # Whatever was found, the two signed checkpoints are the evidence.
                exc.details.setdefault("mirrored_checkpoint", None if mine is None else mine.note)
                exc.details.setdefault("remote_checkpoint", note)
                raise
            if ours is None or remote.size > ours.size:
                writer.append([], {}, StoredCheckpoint(remote.size, note, ""))
        return SyncReport(old_size, remote.size, remote.size - old_size, root.hex())

    def _extend(
        self,
        writer: LogWriter,
        ours: Checkpoint | None,
        remote: Checkpoint,
        progress: Progress | None,
    ) -> bytes:
        size = writer.tree_size()
        while size < remote.size:
            size = self._append_tile(writer, size, remote, ours)
            if progress is not None:
                progress(size, remote.size)
        # Reads the mirror's own hashes for every entry it held before this sync.
        root = merkle.root(remote.size, writer.read_node)
        if root != remote.root_hash:
            if ours is not None and ours.size > 0:
                raise self._rewritten(writer, ours, remote)
            raise InconsistencyError(
                "the log's checkpoint does not commit to the entries it serves",
                computed_root=root.hex(),
            )
        return root

    def _rewritten(
        self, writer: LogWriter, ours: Checkpoint, remote: Checkpoint
    ) -> InconsistencyError:
        """The error for a remote whose new tree does not extend the mirrored one, with the
        rewritten entry proved under both roots when the remote's tiles show it."""
        try:
            found = rewrite_evidence(self.fetch, writer.read_node, ours, remote)
        except CopysealError as exc:
            found, reason = None, exc.message
        else:
            reason = "its tiles do not show which entry differs under its root"
        if found is None:
            return InconsistencyError(
                f"the log's checkpoint of size {remote.size} does not extend the mirrored"
                f" checkpoint of size {ours.size}: its history was rewritten or its tree"
                f" was forked ({reason})",
            )
        index, evidence = found
        held = self.store.entries(index, index + 1)
        error = InconsistencyError(
            f"the log rewrote entry {index}: its checkpoints of size {ours.size} and"
            f" {remote.size} commit to different entries {index}, a fork",
            mirrored_leaf=held[0].leaf.decode("utf-8", "replace") if held else None,
        )
        error.details.update(evidence)
        return error

    def _append_tile(
        self, writer: LogWriter, size: int, remote: Checkpoint, ours: Checkpoint | None
    ) -> int:
        """Fetch the entry bundle holding index ``size``; append its new entries."""
        tile = size // TILE_WIDTH
        first = tile * TILE_WIDTH
        width = min(TILE_WIDTH, remote.size - first)
        path = tile_path("entries", tile, None if width == TILE_WIDTH else width)
        leaves = parse_bundle(self.fetch(path, bundle_bound(width)), width)
        for offset, leaf in enumerate(leaves[: size - first]):
            if merkle.leaf_hash(leaf) != writer.read_node(0, first + offset):
                assert ours is not None  # entries held before this sync
                raise self._rewritten(writer, ours, remote)
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


def _check_held(writer: LogWriter, ours: Checkpoint) -> None:
    """The mirror's hashes must reproduce the checkpoint it accepted, before any difference
    from the remote is blamed on the remote."""
    if writer.tree_size() != ours.size or merkle.root(ours.size, writer.read_node) != (
        ours.root_hash
    ):
        raise CopysealError(
            f"this mirror's store no longer reproduces the checkpoint of size {ours.size}"
            " it mirrored: its database is damaged",
            hint="Run `copyseal audit` on the mirror's home, or mirror again into a new one.",
        )


def _check_not_rolled_back(
    ours: Checkpoint, remote: Checkpoint, mine: StoredCheckpoint, note: str
) -> None:
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
