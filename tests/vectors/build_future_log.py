"""Regenerate the fixture of a log written by a newer copyseal:
``python -m tests.vectors.build_future_log``.

The log holds claims of kinds this copyseal does not have (``transfer``, ``key-rotate``)
and a body version it does not know (``register`` v2), between claims it does know, each
signed with the real envelope, as a newer writer would sign them. It is written in the C2SP
tlog-tiles layout a mirror reads (``future-log/``), with certificates of two of its entries.
Everything comes from fixed seeds and times, so the output is byte-for-byte reproducible,
and ``tests/e2e/test_future_log.py`` checks the committed files equal a rebuild.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from copyseal.core import merkle
from copyseal.core.certificate import Certificate
from copyseal.core.claims import Claim, leaf_bytes, sign_envelope
from copyseal.core.encoding import parse_canonical_json
from copyseal.core.keys import Signer
from copyseal.core.kinds import KINDS
from copyseal.core.note import Checkpoint, NoteSigner, sign_note
from copyseal.core.workid import compute_work_id
from copyseal.domain.log import Entry, StoredCheckpoint
from copyseal.services.tiles import TILE_WIDTH, LogTiles, tile_path
from tests.fakes import MemoryLogStore

OUTPUT = Path(__file__).with_name("future-log")
ORIGIN = "future.copyseal.example/log"
LOGGED_AT = "2031-06-01T09:00:00.000Z"


def _seed(label: str) -> bytes:
    return hashlib.sha256(b"copyseal future log " + label.encode()).digest()


LOG = NoteSigner(ORIGIN, _seed("log"))
ALICE = Signer.from_seed(_seed("alice"))
BOB = Signer.from_seed(_seed("bob"))
POEM = b"Rain on the tin roof,\nthe kettle and the cat agree:\nno one is leaving.\n"


def _content(data: bytes) -> dict[str, Any]:
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "media_type": "text/plain; charset=utf-8",
    }


def claims() -> list[Claim]:
    """The log's claims in order: known, unknown kind, unknown version, unknown, known."""
    created = "2031-06-01T08:59:00Z"

    def sign(signer: Signer, kind: str, body: dict[str, Any], version: int, n: int) -> Claim:
        nonce = hashlib.sha256(f"nonce {n}".encode()).digest()[:16]
        return sign_envelope(signer, kind, body, version=version, nonce=nonce, created=created)

    first = sign(ALICE, "register", {"content": _content(POEM), "title": "Tin roof"}, 1, 0)
    poem_id = compute_work_id(0, merkle.leaf_hash(leaf_bytes(first, LOGGED_AT)))
    return [
        first,
        sign(ALICE, "transfer", {"work_id": poem_id, "to": BOB.did, "price": None}, 1, 1),
        sign(
            BOB,
            "register",
            {
                "content": _content(b"A second poem, registered in body version two.\n"),
                "licence": {"spdx": "CC-BY-4.0"},
                "languages": ["en"],
            },
            2,
            2,
        ),
        sign(BOB, "key-rotate", {"next_key": ALICE.did, "reason": "new phone"}, 1, 3),
        sign(
            BOB,
            "dispute",
            {"work_id": poem_id, "reason": "I read it aloud in 2029.", "content": _content(POEM)},
            1,
            4,
        ),
    ]


def build() -> dict[str, bytes]:
    """Every file of the fixture, by path."""
    assert "transfer" not in KINDS and "key-rotate" not in KINDS
    store = MemoryLogStore()
    signed = claims()
    entries = [
        Entry.of(i, leaf_bytes(c, LOGGED_AT), c, LOGGED_AT, content=None)
        for i, c in enumerate(signed)
    ]
    with store.sequencer() as writer:
        size, nodes = merkle.append_nodes(0, writer.read_node, (e.leaf_hash for e in entries))
        root = merkle.root(size, lambda lv, i: nodes[(lv, i)])
        note = sign_note(Checkpoint(ORIGIN, size, root).to_text(), [LOG]).to_text()
        writer.append(entries, nodes, StoredCheckpoint(size, note, LOGGED_AT))
    tiles = LogTiles(store)
    width = size % TILE_WIDTH or None
    files = {
        "checkpoint": note.encode(),
        tile_path("entries", 0, width): tiles.entries(0, width),
        tile_path(0, 0, width): tiles.tile(0, 0, width),
        "log.vkey": (LOG.verifier.to_vkey() + "\n").encode(),
    }
    for index in (1, 2):  # the unknown kind, and the unknown body version
        cert = _certificate(store, entries[index], signed[index], note, size)
        files[f"certificates/{cert.work_id}.cert.json"] = cert.to_json()
    return files


def _certificate(
    store: MemoryLogStore, entry: Entry, claim: Claim, note: str, size: int
) -> Certificate:
    return Certificate(
        work_id=entry.work_id,
        log_vkey=LOG.verifier.to_vkey(),
        index=entry.index,
        leaf_hash=entry.leaf_hash,
        leaf=parse_canonical_json(entry.leaf),
        tree_size=size,
        proof=tuple(merkle.inclusion_proof(entry.index, size, store.read_node)),
        checkpoint=note,
    )


def main() -> int:
    for path, data in build().items():
        target = OUTPUT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
