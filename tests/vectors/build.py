"""Regenerate copyseal's own test vectors: ``python tests/vectors/build.py``.

Everything below is derived from fixed seeds, a fixed nonce and fixed times, so the output
is byte-for-byte reproducible. ``tests/unit/core`` compares :func:`build` with the committed
``copyseal.json``: a change to any byte copyseal signs, hashes or prints fails there, and is
accepted only by regenerating the file on purpose (and saying why in the commit).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from copyseal.core import merkle
from copyseal.core.certificate import Certificate, verify_certificate
from copyseal.core.claims import Claim, leaf_bytes, sign_envelope
from copyseal.core.encoding import jcs, parse_canonical_json
from copyseal.core.keys import Signer, domain_message
from copyseal.core.kinds import KINDS, sign_claim
from copyseal.core.kinds.dispute import dispute_body
from copyseal.core.kinds.register import commitment, private_body, register_body
from copyseal.core.note import ALG_COSIGNATURE_V1, Checkpoint, NoteSigner, sign_note
from copyseal.core.workid import compute_work_id

OUTPUT = Path(__file__).with_name("copyseal.json")


def _seed(label: str) -> bytes:
    return hashlib.sha256(b"copyseal test vector " + label.encode()).digest()


INPUTS: dict[str, Any] = {
    "creator_seed": _seed("creator").hex(),
    "log_seed": _seed("log").hex(),
    "witness_seed": _seed("witness").hex(),
    "origin": "vectors.copyseal.example/log",
    "witness_name": "vectors.copyseal.example/witness",
    "nonce": bytes(range(16)).hex(),
    "created": "2026-11-23T21:00:00Z",
    "logged_at": "2026-11-23T21:00:01.250Z",
    "content": (
        "Mornings at the registry:\nthe log grows one leaf at a time,\nnever a branch lost.\n"
    ),
    "media_type": "text/plain; charset=utf-8",
    "title": "Registry haiku — première",
    "index": 5,
    "tree_size": 7,
    "old_size": 3,
    "witness_time": 1795467601,
    "domain_purpose": "register",
    "domain_message": "hello",
}

KIND_INPUTS: dict[str, Any] = {
    "salt": _seed("salt").hex(),
    "disputed_work": "000005-ABCD",
    "reason": "I wrote it in 2019; the notebook page is attached to the dispute.",
    "unknown_type": "transfer",
    "unknown_body": {
        "work_id": "000005-ABCD",
        "to": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
    },
}


def _filler(i: int) -> bytes:
    return merkle.leaf_hash(f"copyseal filler leaf {i}".encode())


def build() -> dict[str, Any]:
    """Every vector, as the JSON-ready dictionary stored in ``copyseal.json``."""
    inp = INPUTS
    creator = Signer.from_seed(bytes.fromhex(inp["creator_seed"]))
    log_signer = NoteSigner(inp["origin"], bytes.fromhex(inp["log_seed"]))
    witness = NoteSigner(
        inp["witness_name"], bytes.fromhex(inp["witness_seed"]), ALG_COSIGNATURE_V1
    )

    content = inp["content"].encode()
    body = register_body(
        sha256=hashlib.sha256(content).digest(),
        size=len(content),
        media_type=inp["media_type"],
        title=inp["title"],
    )
    claim = sign_claim(
        creator, "register", body, nonce=bytes.fromhex(inp["nonce"]), created=inp["created"]
    )
    leaf = leaf_bytes(claim, inp["logged_at"])
    leaf_hash = merkle.leaf_hash(leaf)

    index, size, old_size = inp["index"], inp["tree_size"], inp["old_size"]
    hashes = [leaf_hash if i == index else _filler(i) for i in range(size)]
    _, nodes = merkle.append_nodes(0, _no_reads, hashes)

    def read(level: int, i: int) -> bytes:
        return nodes[(level, i)]

    root = merkle.root(size, read)
    proof = merkle.inclusion_proof(index, size, read)
    checkpoint = Checkpoint(inp["origin"], size, root)
    note = sign_note(checkpoint.to_text(), [log_signer])
    cosigned = note.with_signatures(
        [witness.cosign_line(checkpoint.to_text(), inp["witness_time"])]
    )
    cert = Certificate(
        work_id=compute_work_id(index, leaf_hash),
        log_vkey=log_signer.verifier.to_vkey(),
        index=index,
        leaf_hash=leaf_hash,
        leaf=parse_canonical_json(leaf),
        tree_size=size,
        proof=tuple(proof),
        checkpoint=note.to_text(),
    )
    report = verify_certificate(cert, trusted_log=log_signer.verifier, content=content)
    message = inp["domain_message"].encode()
    return {
        "source": "copyseal tests/vectors/build.py (copyseal's own bytes; regenerate on purpose)",
        "inputs": inp,
        "keys": {
            "creator_did": creator.did,
            "creator_public_key": creator.public_key.hex(),
            "log_vkey": log_signer.verifier.to_vkey(),
            "log_skey": log_signer.to_skey(),
            "witness_vkey": witness.verifier.to_vkey(),
        },
        "domain": {
            "signed_bytes": domain_message(inp["domain_purpose"], message).hex(),
            "signature": creator.sign(inp["domain_purpose"], message).hex(),
        },
        "claim": {
            "json": jcs(claim.to_dict()).decode(),
            "signing_bytes": claim.signing_bytes().decode(),
        },
        "leaf": {"bytes": leaf.decode(), "hash": leaf_hash.hex()},
        "work_id": cert.work_id,
        "tree": {
            "leaf_hashes": [h.hex() for h in hashes],
            "roots": [merkle.root(n, read).hex() for n in range(size + 1)],
            "inclusion_proof": [p.hex() for p in proof],
            "consistency_proof": [p.hex() for p in merkle.consistency_proof(old_size, size, read)],
        },
        "checkpoint": {
            "body": checkpoint.to_text(),
            "signed": note.to_text(),
            "cosigned": cosigned.to_text(),
        },
        "certificate": {
            "json": cert.to_json().decode(),
            "report": report.to_dict(),
        },
        "kinds": _kind_vectors(creator, content),
    }


def _kind_vectors(creator: Signer, content: bytes) -> dict[str, Any]:
    """One signed claim of each kind's body variants, and one of a kind this copyseal does
    not know (signed with the real envelope, as a newer copyseal would): each with its
    JSON, the bytes signed and the leaf."""
    inp, kinds = INPUTS, KIND_INPUTS
    nonce, created = bytes.fromhex(inp["nonce"]), inp["created"]
    public = {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
    salt = bytes.fromhex(kinds["salt"])
    bodies = {
        "register": register_body(
            sha256=hashlib.sha256(content).digest(),
            size=len(content),
            media_type=inp["media_type"],
            title=inp["title"],
            derivative_of=[kinds["disputed_work"]],
        ),
        "register-private": private_body(
            commitment_hash=commitment(salt, content), title=inp["title"]
        ),
        "dispute": dispute_body(
            work_id=kinds["disputed_work"],
            reason=kinds["reason"],
            content={**public, "media_type": inp["media_type"]},
        ),
    }
    claims = {
        name: sign_claim(creator, name.split("-")[0], body, nonce=nonce, created=created)
        for name, body in bodies.items()
    }
    assert kinds["unknown_type"] not in KINDS
    claims["unknown"] = sign_envelope(
        creator,
        kinds["unknown_type"],
        kinds["unknown_body"],
        version=1,
        nonce=nonce,
        created=created,
    )
    return {"inputs": kinds, **{name: _claim_vector(c) for name, c in claims.items()}}


def _claim_vector(claim: Claim) -> dict[str, str]:
    return {
        "json": jcs(claim.to_dict()).decode(),
        "signing_bytes": claim.signing_bytes().decode(),
        "leaf": leaf_bytes(claim, INPUTS["logged_at"]).decode(),
    }


def _no_reads(level: int, index: int) -> bytes:
    raise AssertionError("a tree built from empty never reads old nodes")


def main() -> int:
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
