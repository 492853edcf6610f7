"""QR codes for certificates: one module matrix, drawn as SVG (pages) or vector (PDF)."""

from __future__ import annotations

import functools

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4  # modules of white space around the code, as the standard asks


@functools.lru_cache(maxsize=1024)
def qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    code = qrcode.QRCode(border=0, error_correction=ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    return tuple(tuple(bool(v) for v in row) for row in code.get_matrix())


def qr_runs(data: str) -> list[tuple[int, int, int]]:
    """Dark modules as horizontal runs (row, start column, length): fewer shapes to draw."""
    runs = []
    for y, row in enumerate(qr_matrix(data)):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((y, start, x - start))
            else:
                x += 1
    return runs


def qr_svg(data: str, *, label: str) -> str:
    """A self-contained SVG (black on white, with its quiet zone), titled for screen readers."""
    size = len(qr_matrix(data)) + 2 * QUIET_ZONE
    path = "".join(f"M{x + QUIET_ZONE},{y + QUIET_ZONE}h{n}v1h-{n}z" for y, x, n in qr_runs(data))
    title = label.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" '
        f'aria-label="{title}" shape-rendering="crispEdges" class="qr">'
        f"<title>{title}</title>"
        f'<rect width="{size}" height="{size}" fill="#fff"/><path d="{path}" fill="#000"/></svg>'
    )
