"""Reading an HTTP response body with a hard bound on what it may cost.

A remote log or witness decides what it sends, so a body is read while it streams and
abandoned as soon as it passes the caller's bound, both as sent (compressed) and as decoded.
httpx's own decoding (``iter_bytes``) inflates each chunk read off the socket in one call,
so 64 KiB of gzip can become 64 MiB before a caller sees a byte; here gzip is inflated
with ``max_length``, never more than one byte past the bound. Encodings other than
``identity`` and ``gzip`` are refused: they are the only ones a client here asks for.
"""

from __future__ import annotations

import zlib

import httpx

from copyseal.errors import ContentTooLarge, MalformedDocument

ACCEPT_ENCODING = "gzip"
RAW_CHUNK = 16 << 10


def raw_bound(max_bytes: int) -> int:
    """The most bytes a body of at most ``max_bytes`` decoded may take on the wire.

    gzip adds 18 bytes of framing and at most 5 bytes per 16 KiB stored block, so
    incompressible data grows by well under 1 %; anything larger is not that body.
    """
    return max_bytes + max_bytes // 100 + 1024


def read_bounded(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    """The decoded body of a streamed ``response``, or ContentTooLarge past ``max_bytes``."""
    too_large = ContentTooLarge(
        f"{url} sent more than {max_bytes} bytes, the limit for this resource",
        url=url,
        limit=max_bytes,
    )
    if response.is_stream_consumed:
        # Built in memory (a test transport): there is nothing left to bound but its length.
        if len(response.content) > max_bytes:
            raise too_large
        return response.content
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip"):
        raise MalformedDocument(
            f"{url} sent Content-Encoding {encoding!r}, which was not asked for"
        )
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > raw_bound(max_bytes):
        raise too_large
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16) if encoding == "gzip" else None
    out, sent = bytearray(), 0
    for chunk in response.iter_raw(RAW_CHUNK):
        sent += len(chunk)
        if sent > raw_bound(max_bytes):
            raise too_large
        if inflate is None:
            out += chunk
        else:
            _inflate_into(out, inflate, chunk, url, max_bytes)
        if len(out) > max_bytes:
            raise too_large
    if inflate is not None and not inflate.eof:
        raise MalformedDocument(f"{url} sent a truncated gzip body")
    return bytes(out)


def _inflate_into(
    out: bytearray, inflate: zlib._Decompress, chunk: bytes, url: str, max_bytes: int
) -> None:
    """Inflate ``chunk`` into ``out`` in steps of at most RAW_CHUNK bytes, stopping as soon
    as ``out`` passes ``max_bytes`` (which ``read_bounded`` then refuses)."""
    data = chunk
    while len(out) <= max_bytes:
        if inflate.eof:
            if data or inflate.unused_data:
                # A second gzip member or stray bytes: a strict reader takes one member only.
                raise MalformedDocument(f"{url} sent data after the end of its gzip body")
            return
        try:
            piece = inflate.decompress(data, RAW_CHUNK)
        except zlib.error as exc:
            raise MalformedDocument(f"{url} sent a corrupt gzip body: {exc}") from exc
        out += piece
        data = inflate.unconsumed_tail
        if not data and not piece:
            return  # all input taken and nothing pending: wait for the next chunk
