"""Any entry of the log as a reader sees it, by its ID: a work, a dispute, or a kind this
copyseal does not understand.

Every entry has an ID (``000042-7KQ2``: its index and leaf hash), and ``register`` prints
it for whatever it logged. What an entry means is its kind's to say (``ClaimKind.describe``,
``ClaimKind.links``): this module names no kind. An entry whose kind or body version is
unknown here is still shown: its envelope (type, signer, times) and why it is not understood.
"""

from __future__ import annotations

from typing import Any

from copyseal.core.claims import parse_leaf
from copyseal.core.encoding import parse_canonical_json
from copyseal.core.kinds import read
from copyseal.services.registry import Registry

LINEAGE = ("derivative_of", "version_of", "derivatives", "versions", "disputed_by")
"""A work's links both ways, in the order a page lists them."""


def describe_entry(registry: Registry, entry_id: str) -> dict[str, Any]:
    """The entry ``entry_id`` names: its envelope, what its kind says of its body (for a work,
    also its fingerprints and lineage), or, for a kind not understood, the reason."""
    entry = registry.entry(entry_id)
    claim, logged_at = parse_leaf(parse_canonical_json(entry.leaf))
    reading = read(claim)
    out: dict[str, Any] = {
        "entry_id": entry.work_id,
        "index": entry.index,
        "type": claim.type,
        "v": claim.version,
        "signer": claim.signer,
        "logged_at": logged_at,
        "created": claim.created,
        "leaf_hash": entry.leaf_hash.hex(),
        "understood": reading.kind is not None,
        "work": reading.work,
    }
    if reading.kind is None:
        out["not_understood"] = reading.problem
        return out
    out.update(reading.kind.describe(claim.body))
    out["links_to"] = [
        {"relation": link.relation, "work_id": link.target}
        for link in reading.kind.links(claim.body)
    ]
    if reading.work:
        work = registry.work(entry.work_id)
        out["work_id"] = work["work_id"]
        out["owner"] = work["owner"]
        out["fingerprints"] = work["fingerprints"]
        out.update({name: work[name] for name in LINEAGE})
    return out
