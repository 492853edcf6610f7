"""The log's read endpoints: C2SP tlog-tiles (checkpoint, tiles, entry bundles), JSON
entries and proofs, health, and the service's trust root (``/.well-known/copyseal/trust.json``).

A tile's bytes never change once served (a partial tile of width W is a prefix of the full
tile), so tiles are ``immutable`` for a year; the checkpoint changes with every batch and is
never cached.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response

from copyseal.core.trust import WELL_KNOWN_PATH
from copyseal.server.api_register import links
from copyseal.server.deps import Services, services
from copyseal.server.ratelimit import limited_route
from copyseal.services.entries import describe_entry
from copyseal.services.tiles import parse_tile_path

tiles = APIRouter(tags=["log (tlog-tiles)"], route_class=limited_route("read"))
api = APIRouter(prefix="/api/v1", tags=["log"], route_class=limited_route("read"))

IMMUTABLE = "public, max-age=31536000, immutable"
MAX_ENTRIES = 256


@tiles.get("/checkpoint", response_class=PlainTextResponse, summary="The signed checkpoint")
def checkpoint(svc: Services = Depends(services)) -> PlainTextResponse:
    """The latest checkpoint as a C2SP signed note (``text/plain``)."""
    return PlainTextResponse(
        svc.registry.latest_checkpoint(),
        headers={"Cache-Control": "no-cache"},
        media_type="text/plain; charset=utf-8",
    )


def _tile_response(data: bytes, partial: bool) -> Response:
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Cache-Control": IMMUTABLE, "X-Tile-Partial": "1" if partial else "0"},
    )


@tiles.get("/tile/entries/{path:path}", summary="An entry bundle")
def entry_bundle(path: str, svc: Services = Depends(services)) -> Response:
    """Leaves ``256·N`` …, each preceded by its length (big-endian uint16)."""
    index, width = parse_tile_path(path)
    return _tile_response(svc.tiles.entries(index, width), width is not None)


@tiles.get("/tile/{level}/{path:path}", summary="A Merkle tile")
def tile(level: int, path: str, svc: Services = Depends(services)) -> Response:
    """Hashes of the complete subtrees of height ``8·level``, 32 bytes each."""
    index, width = parse_tile_path(path)
    return _tile_response(svc.tiles.tile(level, index, width), width is not None)


@tiles.get(WELL_KNOWN_PATH, summary="This service's trust root")
def trust_root(svc: Services = Depends(services)) -> Response:
    """The trust root a verifier imports to trust this log (``copyseal trust import URL``):
    its verifier key, its witnesses and quorum, its anchoring chain and contract."""
    return Response(
        svc.own_trust_root.to_json(),
        media_type="application/json",
        headers={"Cache-Control": "no-cache"},
    )


@api.get("/log", summary="The log's name, key and size")
def log_info(svc: Services = Depends(services)) -> dict[str, Any]:
    return {
        "origin": svc.origin,
        "vkey": svc.log_vkey,
        "tree_size": svc.tiles.signed_size(),
        "checkpoint": svc.registry.latest_checkpoint(),
    }


@api.get("/log/entries", summary="Entries by index range")
def log_entries(
    start: int = Query(0, ge=0, le=2**63 - 1),
    end: int | None = Query(None, ge=0, le=2**63 - 1, description="Exclusive."),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """At most 256 entries from ``start``; ``next`` is where the following page starts."""
    stop = start + MAX_ENTRIES if end is None else min(end, start + MAX_ENTRIES)
    entries = svc.tiles.entry_records(start, stop) if stop > start else []
    following = start + len(entries)
    more = following < min(svc.tiles.signed_size(), end if end is not None else 2**63)
    return {"entries": entries, "next": following if more else None}


@api.get("/log/entries/{entry_id}", summary="One entry by its ID, of any kind")
def log_entry(entry_id: str, svc: Services = Depends(services)) -> dict[str, Any]:
    """The entry an ID names (``register`` prints one for every claim it logs): its type,
    signer and times; what its kind says of it (a work's title, content, fingerprints and
    lineage; what a dispute disputes, and why); or, for a kind this copyseal does not know,
    ``understood: false`` and why. ``/api/v1/works/{id}`` answers for works alone."""
    shown = describe_entry(svc.registry, entry_id)
    urls = {"entry": f"/api/v1/log/entries/{shown['entry_id']}"}
    return {**shown, "urls": {**urls, **(links(shown["entry_id"]) if shown["work"] else {})}}


@api.get("/log/proofs/inclusion", summary="Inclusion proof")
def inclusion_proof(
    index: int = Query(..., ge=0, le=2**63 - 1),
    tree_size: int | None = Query(None, ge=1, le=2**63 - 1),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """RFC 9162 inclusion proof of entry ``index`` in the tree of ``tree_size`` (default:
    the latest), hashes in lowercase hex, leaf to root."""
    return svc.registry.inclusion_proof(index, tree_size)


@api.get("/log/proofs/consistency", summary="Consistency proof")
def consistency_proof(
    old: int = Query(..., ge=0, le=2**63 - 1),
    new: int = Query(..., ge=0, le=2**63 - 1),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """RFC 9162 consistency proof from the tree of size ``old`` to the tree of size ``new``."""
    return svc.registry.consistency_proof(old, new)


@api.get("/health", summary="Health")
def health(svc: Services = Depends(services)) -> dict[str, Any]:
    return {
        "status": "ok",
        "origin": svc.origin,
        "tree_size": svc.tiles.signed_size(),
        "similarity_search": svc.search is not None,
    }
