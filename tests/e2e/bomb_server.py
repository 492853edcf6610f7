"""A loopback HTTP server that serves fixed bodies, and gzip bombs to serve with it.

Also run as a script by the memory tests: ``python -m tests.e2e.bomb_server MIB CLIENT``
serves a bomb of MIB MiB of zeros, reads it with CLIENT (``mirror``: the mirror's fetcher,
bounded to a hash tile's 8 KiB; ``witness``: the cosignature client), and prints JSON with
the error and the process's peak RSS before and after.
"""

from __future__ import annotations

import contextlib
import json
import resource
import sys
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Body = tuple[bytes, dict[str, str]]


def gzip_bomb(mib: int) -> bytes:
    """``mib`` MiB of zeros, gzip-compressed (about 1 KiB per MiB), built a MiB at a time."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1 << 20)
    parts = [deflate.compress(zeros) for _ in range(mib)]
    return b"".join([*parts, deflate.flush()])


def gzipped(body: bytes) -> Body:
    return zlib.compress(body, wbits=zlib.MAX_WBITS | 16), {"Content-Encoding": "gzip"}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up on a refused body is the expected case here


@contextmanager
def serving(bodies: dict[str, Body]) -> Iterator[str]:
    """Serve ``bodies`` (path → body and headers) on 127.0.0.1; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.do_GET()

        def do_GET(self) -> None:
            found = bodies.get(self.path.lstrip("/"))
            if found is None:
                self.send_error(404)
                return
            data, headers = found
            self.send_response(200)
            chunked = headers.get("Transfer-Encoding") == "chunked"
            for name, value in headers.items():
                self.send_header(name, value)
            if not chunked:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            # A client that stops reading a refused body hangs up, as it should.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._write(data, chunked)

        def _write(self, data: bytes, chunked: bool) -> None:
            for start in range(0, len(data), 1 << 16):
                part = data[start : start + (1 << 16)]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args: object) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _read_with(client: str, base: str) -> None:
    from copyseal.adapters.tlog_client import http_fetcher
    from copyseal.adapters.witness_client import request_cosignature
    from copyseal.core.note import NoteSigner, sign_note

    if client == "mirror":
        http_fetcher(base)("bomb", 8192)
    elif client == "witness":
        text = "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        signed = sign_note(text, [NoteSigner("example.com/log", b"\x01" * 32)]).to_text()
        # The witness's URL is the bomb's: its reply is what gets read.
        request_cosignature(base, 0, [], signed)


def main(mib: int, client: str) -> None:
    from copyseal.errors import CopysealError

    bomb = gzip_bomb(mib)
    _read_with("none: imports only", "")
    served = {path: (bomb, {"Content-Encoding": "gzip"}) for path in ("bomb", "add-checkpoint")}
    with serving(served) as base:
        before = _peak_mib()
        try:
            _read_with(client, base)
            error = None
        except CopysealError as exc:
            error = type(exc).__name__
        after = _peak_mib()
    print(json.dumps({"error": error, "before_mib": before, "after_mib": after}))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
