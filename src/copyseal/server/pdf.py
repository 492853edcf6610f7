"""The certificate as a PDF: one A4 page a creator can hand to a platform or a court.

It renders the JSON certificate (which stays the authoritative record) with what a reader
needs to check it without us: the owner's key, the log's time, the hashes, the log's key,
and the command and QR code that verify it. Fonts are Bitstream Vera (shipped inside
reportlab) with a CJK font for titles Vera cannot draw, so rendering needs no system fonts.
"""

from __future__ import annotations

import functools
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from copyseal.core.certificate import Certificate
from copyseal.domain.titles import visible_text
from copyseal.domain.wording import counted
from copyseal.server.qr import QUIET_ZONE, qr_matrix, qr_runs
from copyseal.server.rendering import CHECK_LABELS, human_size, human_time
from copyseal.services.works import WorkView

INK = colors.HexColor("#1b2430")
MUTED = colors.HexColor("#4a5565")
BAND = colors.HexColor("#16324f")
ACCENT = colors.HexColor("#1d6b48")
RULE = colors.HexColor("#c9d1db")
OK_FILL = colors.HexColor("#eef7f1")
BAD_FILL = colors.HexColor("#fbeeee")
FAIL = colors.HexColor("#a12622")
MARGIN = 18 * mm


# Fonts for text Vera cannot draw (titles in Greek, Cyrillic, CJK, ...), used when the
# system has them (Debian: fonts-dejavu-core, fonts-droid-fallback). Without them the CJK
# CID font is named, which PDF viewers with CJK support draw from their own fonts.
FALLBACK_FONTS = (
    ("DejaVuSans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    ("DroidSansFallback", "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)
CID_FONT = "STSong-Light"


@functools.lru_cache(maxsize=1)
def _fonts() -> list[tuple[str, frozenset[int] | None]]:
    """Registered fonts, best first, each with the code points it covers (None: any)."""
    vera = TTFont("Vera", "Vera.ttf")
    for font in (vera, TTFont("Vera-Bold", "VeraBd.ttf"), TTFont("Vera-Italic", "VeraIt.ttf")):
        pdfmetrics.registerFont(font)
    pdfmetrics.registerFontFamily("Vera", normal="Vera", bold="Vera-Bold", italic="Vera-Italic")
    found: list[tuple[str, frozenset[int] | None]] = [("Vera", frozenset(vera.face.charToGlyph))]
    for name, path in FALLBACK_FONTS:
        if Path(path).is_file():
            font = TTFont(name, path)
            pdfmetrics.registerFont(font)
            found.append((name, frozenset(font.face.charToGlyph)))
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    found.append((CID_FONT, None))
    return found


def _font_of(char: str) -> str:
    point = ord(char)
    for name, covered in _fonts():
        if covered is None or point in covered:
            return name
    return CID_FONT


def _markup(text: str) -> str:
    """``text`` escaped for a Paragraph, with runs Vera cannot draw set in a font that can."""
    out: list[str] = []
    run, run_font = "", "Vera"
    for char in text:
        font = "Vera" if char.isspace() else _font_of(char)
        if font != run_font and run:
            out.append(_run(run, run_font))
            run = ""
        run_font = font if run == "" else run_font
        run += char
    if run:
        out.append(_run(run, run_font))
    return "".join(out)


def _run(text: str, font: str) -> str:
    return escape(text) if font == "Vera" else f'<font name="{font}">{escape(text)}</font>'


def _styles() -> dict[str, ParagraphStyle]:
    _fonts()
    base = ParagraphStyle("base", fontName="Vera", fontSize=9.5, leading=13.5, textColor=INK)
    return {
        "base": base,
        "title": ParagraphStyle("title", base, fontName="Vera-Bold", fontSize=20, leading=25),
        "workid": ParagraphStyle("workid", base, fontName="Courier-Bold", fontSize=15, leading=19),
        "label": ParagraphStyle("label", base, fontName="Vera-Bold", fontSize=8, textColor=MUTED),
        "mono": ParagraphStyle(
            "mono", base, fontName="Courier", fontSize=8.5, leading=11, wordWrap="CJK"
        ),
        "command": ParagraphStyle(
            "command",
            base,
            fontName="Courier",
            fontSize=7.5,
            leading=10,
            wordWrap="CJK",
            backColor=colors.HexColor("#f1f3f6"),
            borderPadding=4,
        ),
        "small": ParagraphStyle("small", base, fontSize=8, leading=11, textColor=MUTED),
        "caption": ParagraphStyle(
            "caption", base, fontSize=7.5, leading=10, textColor=MUTED, alignment=TA_CENTER
        ),
        "check": ParagraphStyle("check", base, fontSize=7.5, leading=10, textColor=INK),
        "h2": ParagraphStyle(
            "h2", base, fontName="Vera-Bold", fontSize=11, leading=15, spaceBefore=4
        ),
    }


class QrCode(Flowable):  # type: ignore[misc]
    """A QR code drawn as vector squares, with its quiet zone."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        self.data, self.size = data, size
        self.width = self.height = size

    def draw(self) -> None:
        modules = len(qr_matrix(self.data)) + 2 * QUIET_ZONE
        unit = self.size / modules
        canvas = self.canv
        canvas.setFillColor(colors.white)
        canvas.rect(0, 0, self.size, self.size, stroke=0, fill=1)
        canvas.setFillColor(colors.black)
        for y, x, n in qr_runs(self.data):
            top = self.size - (y + QUIET_ZONE + 1) * unit
            canvas.rect((x + QUIET_ZONE) * unit, top, n * unit, unit, stroke=0, fill=1)


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    vera = style.fontName.startswith("Vera")
    return Paragraph(_markup(text) if vera else escape(text), style)


def _details(view: WorkView, s: dict[str, ParagraphStyle], *, anchoring: bool) -> list[list[Any]]:
    work, cert = view.work, view.certificate
    content = work["content"]
    rows = [
        ("Owner key", _p(work["owner"], s["mono"])),
        ("Logged at", _p(human_time(work["logged_at"]) + "  (the log's time)", s["base"])),
        ("Signed at", _p(human_time(work["created"]) + "  (the creator's clock)", s["base"])),
        *(
            [
                ("Content", _p("private registration: a salted commitment", s["base"])),
                ("Commitment", _p(content["commitment"], s["mono"])),
            ]
            if "commitment" in content
            else [
                (
                    "Content",
                    _p(f"{content['media_type']}, {human_size(content['size'])}", s["base"]),
                ),
                ("Content SHA-256", _p(content["sha256"], s["mono"])),
            ]
        ),
        ("Log entry", _p(f"#{cert.index} · leaf hash {cert.leaf_hash.hex()}", s["mono"])),
        ("Checkpoint", _p(f"signed tree of {_entries(cert.tree_size)}", s["base"])),
        ("Log", _p(cert.log.name, s["mono"])),
        ("Log key", _p(cert.log_vkey, s["mono"])),
    ]
    if cert.anchors or anchoring:  # a log that does not anchor has nothing to say here
        rows.append(("Chain anchor", _p(_anchor_text(cert), s["base"])))
    return [[_p(label.upper(), s["label"]), value] for label, value in rows]


def _entries(count: int) -> str:
    return counted(count, "entry", "entries")


def _anchor_text(cert: Certificate) -> str:
    if not cert.anchors:
        return "not yet anchored"
    return "; ".join(
        f"tree of {_entries(r.anchor.size)} on {r.anchor.chain}, block {r.anchor.block_number}, "
        f"tx {r.anchor.tx_hash[:18]}…"
        for r in cert.anchors
    )


class Mark(Flowable):  # type: ignore[misc]
    """A tick, a cross or a dash, drawn as lines so no symbol font is needed."""

    def __init__(self, status: str) -> None:
        super().__init__()
        self.status = status
        self.width = self.height = 8

    def draw(self) -> None:
        canvas = self.canv
        canvas.setLineWidth(1.4)
        canvas.setLineCap(1)
        if self.status == "ok":
            canvas.setStrokeColor(ACCENT)
            canvas.lines([(0.5, 4, 3, 1.2), (3, 1.2, 7.5, 7.5)])
        elif self.status == "failed":
            canvas.setStrokeColor(FAIL)
            canvas.lines([(1, 1, 7, 7), (1, 7, 7, 1)])
        else:
            canvas.setStrokeColor(MUTED)
            canvas.line(1.5, 4, 6.5, 4)


def _checks(view: WorkView, s: dict[str, ParagraphStyle]) -> Table:
    ok = view.report.ok
    rows: list[list[Any]] = []
    for check in view.report.checks:
        label = escape(CHECK_LABELS.get(check.name, check.name))
        detail = escape(check.detail)
        rows.append([Mark(check.status), Paragraph(f"<b>{label}</b> — {detail}", s["check"])])
    headline = (
        "Verified: every check passed when this document was made."
        if ok
        else "NOT VERIFIED: a check failed."
    )
    return Table(
        [[Paragraph(f"<b>{headline}</b>", s["base"]), ""], *rows],
        colWidths=[6 * mm, None],
        style=TableStyle(
            [
                ("SPAN", (0, 0), (-1, 0)),
                ("BACKGROUND", (0, 0), (-1, -1), OK_FILL if ok else BAD_FILL),
                ("BOX", (0, 0), (-1, -1), 0.6, ACCENT if ok else FAIL),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("TOPPADDING", (0, 0), (-1, 0), 6),
                ("BOTTOMPADDING", (0, 0), (-1, 0), 4),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 6),
            ]
        ),
    )


def _page(canvas: Canvas, origin: str, generated: str) -> None:
    width, height = A4
    canvas.saveState()
    canvas.setFillColor(BAND)
    canvas.rect(0, height - 30 * mm, width, 30 * mm, stroke=0, fill=1)
    canvas.setFillColor(colors.white)
    canvas.setFont("Vera-Bold", 20)
    canvas.drawString(MARGIN, height - 16 * mm, "copyseal")
    canvas.setFont("Vera", 8.5)
    canvas.drawString(MARGIN, height - 22.5 * mm, "Copyright registry for micro-content")
    canvas.setFont("Vera-Bold", 11)
    canvas.drawRightString(width - MARGIN, height - 16 * mm, "CERTIFICATE OF REGISTRATION")
    canvas.setFont("Vera", 8.5)
    canvas.drawRightString(width - MARGIN, height - 22.5 * mm, f"Transparency log {origin}")
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, 16 * mm, width - MARGIN, 16 * mm)
    canvas.setFillColor(MUTED)
    canvas.setFont("Vera", 7.5)
    canvas.drawString(
        MARGIN,
        11 * mm,
        "The JSON certificate is the authoritative record; this page renders it. "
        f"Generated {generated}.",
    )
    canvas.drawRightString(width - MARGIN, 11 * mm, f"Page {canvas.getPageNumber()}")
    canvas.restoreState()


def render_certificate_pdf(
    view: WorkView,
    *,
    verify_url: str,
    json_url: str,
    generated_at: datetime,
    trust_root: tuple[str, str],
    anchoring: bool = False,
) -> bytes:
    """``trust_root`` is the (ID, URL) of the trust root the log publishes; ``anchoring``,
    whether the log anchors its checkpoints on a chain."""
    s = _styles()
    work, cert = view.work, view.certificate
    # Reportlab lays out text in stored order: a bidi override would read as nothing.
    title = visible_text(work.get("title") or "Untitled work")
    statement = (
        f"This certifies that the work below was registered in the public transparency log "
        f"<b>{escape(cert.log.name)}</b> by the holder of the signing key named as its owner. "
        f"The log recorded the registration on <b>{escape(human_time(work['logged_at']))}</b>; "
        "that time is fixed by the log and covered by its signed checkpoint, and it "
        "establishes the registration's priority. Anyone can check it offline."
    )
    details = Table(
        _details(view, s, anchoring=anchoring),
        colWidths=[27 * mm, None],
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -2), 0.4, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        ),
    )
    qr = Table(
        [[QrCode(verify_url, 40 * mm)], [_p("Scan to verify online", s["caption"])]],
        style=TableStyle(
            [("ALIGN", (0, 0), (-1, -1), "CENTER"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]
        ),
    )
    top = Table(
        [[details, qr]],
        colWidths=[None, 46 * mm],
        style=TableStyle(
            [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]
        ),
    )
    root_id, root_url = trust_root
    command = (
        f"copyseal trust import {root_url}\n"
        f"copyseal verify {cert.work_id}.cert.json --content YOUR_FILE"
    )
    story: list[Flowable] = [
        _p(title, s["title"]),
        Spacer(1, 2 * mm),
        Paragraph(
            f'<font name="Vera" size="9" color="{MUTED.hexval()}">WORK ID</font>&nbsp;&nbsp;'
            f"{escape(cert.work_id)}",
            s["workid"],
        ),
        Spacer(1, 4 * mm),
        Paragraph(statement, s["base"]),
        Spacer(1, 4 * mm),
        top,
        Spacer(1, 5 * mm),
        _checks(view, s),
        Spacer(1, 5 * mm),
        Paragraph("How to verify this certificate yourself", s["h2"]),
        Paragraph(
            f"1. Download the certificate: {escape(json_url)}<br/>"
            "2. Install copyseal (<i>pip install copyseal</i>), trust this log's trust root "
            f"<b>{escape(root_id)}</b> (its log key, witnesses and chain; compare its key ID "
            "with what the log's operator publishes), and run, with the registered file:",
            s["small"],
        ),
        Spacer(1, 1.5 * mm),
        Paragraph(escape(command).replace("\n", "<br/>"), s["command"]),
        Spacer(1, 1.5 * mm),
        Paragraph(
            f"3. Or open {escape(verify_url)} (the QR code above) and drop the certificate and "
            "the file there. The check needs only the certificate, the file and the trust root.",
            s["small"],
        ),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=36 * mm,
        bottomMargin=22 * mm,
        title=f"copyseal certificate {cert.work_id}",
        author="copyseal",
        subject=title,
        creator="copyseal",
    )
    generated = generated_at.strftime("%-d %B %Y, %H:%M UTC")
    doc.build(
        story,
        onFirstPage=lambda c, _d: _page(c, cert.log.name, generated),
        onLaterPages=lambda c, _d: _page(c, cert.log.name, generated),
    )
    return buffer.getvalue()
