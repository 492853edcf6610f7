"""Works as readers see them: look-ups, lists by owner or title, certificate views, export.

Lists read the catalogue (``domain/catalog.py``), a fold of the log caught up before each
answer: it reads whatever entries were appended since it last looked. The catalogue is
derived data, so a lost or stale catalogue costs a re-read, never a wrong answer about a
certificate: certificates and proofs always come from the log itself.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from copyseal.core.certificate import Certificate, VerificationReport, verify_certificate
from copyseal.core.content import is_text
from copyseal.domain.anchors import AnchorStore
from copyseal.domain.catalog import CatalogEntry, WorkCatalog
from copyseal.domain.contents import ContentStore
from copyseal.errors import InvalidInput, NotFound
from copyseal.services.anchoring import refresh_certificate
from copyseal.services.folds import Follower
from copyseal.services.registry import Registry

MAX_PAGE = 200
MAX_EXPORT = 10_000


@dataclass(frozen=True)
class Page:
    items: list[CatalogEntry]
    next_cursor: str | None


@dataclass(frozen=True)
class WorkView:
    """What a certificate page shows: the work, its current certificate, and its checks;
    whether this service keeps the work's content (``kept``), and, for kept text, how its
    lines end (``layout``, e.g. "UTF-8 text with LF line endings")."""

    work: dict[str, Any]
    certificate: Certificate
    report: VerificationReport
    kept: bool = False
    layout: str | None = None


@dataclass(frozen=True)
class KeptContent:
    """A work's registered bytes as this service keeps them, and how to name a download."""

    data: bytes
    media_type: str
    work_id: str


DESCRIBED_TEXT = 256 * 1024
"""Kept text up to this size is read to say how its lines end; larger text is not."""


def text_layout(data: bytes) -> str:
    """How a text's lines end, in words: what a creator needs to know to match its bytes."""
    crlf = data.count(b"\r\n")
    lone_cr, lone_lf = data.count(b"\r") - crlf, data.count(b"\n") - crlf
    kinds = [name for name, n in (("LF", lone_lf), ("CRLF", crlf), ("CR", lone_cr)) if n]
    try:
        data.decode("utf-8")
        encoding = "UTF-8 text"
    except UnicodeDecodeError:
        encoding = "text (not valid UTF-8)"
    if not kinds:
        return f"{encoding} on one line, no line ending"
    if len(kinds) > 1:
        return f"{encoding} with mixed line endings ({', '.join(kinds)})"
    return f"{encoding} with {kinds[0]} line endings"


def parse_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return -1
    if not cursor.isdigit() or len(cursor) > 15:
        raise InvalidInput("cursor must be a value from a previous page's next_cursor")
    return int(cursor)


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    return limit


class Works:
    def __init__(
        self,
        *,
        registry: Registry,
        catalog: WorkCatalog,
        follower: Follower,
        anchors: AnchorStore | None = None,
        contents: ContentStore | None = None,
    ) -> None:
        self.registry = registry
        self.catalog = catalog
        self.follower = follower
        self.anchors = anchors
        self.contents = contents

    def find(
        self,
        *,
        owners: Sequence[str] | None = None,
        title: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page:
        after = parse_cursor(cursor)
        limit = check_limit(limit)
        self.follower.catch_up(["catalog"])
        items = self.catalog.find(owners=owners, title=title or None, after=after, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, str(items[-1].index) if more and items else None)

    def work(self, work_id: str) -> dict[str, Any]:
        return self.registry.work(work_id)

    def certificate(self, work_id: str) -> Certificate:
        """The work's certificate against the latest checkpoint, with a receipt from each
        chain whose anchors cover it."""
        cert = self.registry.certificate(work_id)
        if self.anchors is None:
            return cert
        try:
            refreshed = refresh_certificate(
                cert.to_json(),
                store=self.registry.store,
                anchors=self.anchors,
                log_key=self.registry.log_signer.verifier,
            )
        except NotFound:
            return cert
        return Certificate.from_json(refreshed.data)

    def view(self, work_id: str) -> WorkView:
        work = self.registry.work(work_id)
        cert = self.certificate(work_id)
        report = verify_certificate(cert, trusted_log=self.registry.log_signer.verifier)
        sha256 = _public_sha256(work)
        size = None if sha256 is None or self.contents is None else self.contents.size(sha256)
        layout = None
        if size is not None and is_text(work["content"]["media_type"]) and size <= DESCRIBED_TEXT:
            assert sha256 is not None and self.contents is not None
            layout = text_layout(self.contents.get(sha256) or b"")
        return WorkView(work, cert, report, kept=size is not None, layout=layout)

    def kept_content(self, work_id: str) -> KeptContent:
        """The exact bytes of a public work registered through this service with its
        content; NotFound for a private work, or one whose content this service never had."""
        work = self.registry.work(work_id)
        sha256 = _public_sha256(work)
        if sha256 is None:
            raise NotFound(f"{work['work_id']} is a private registration: its content is secret")
        data = None if self.contents is None else self.contents.get(sha256)
        if data is None:
            raise NotFound(
                f"this service does not hold the content of {work['work_id']}",
                hint="It keeps the content of works registered here with their content "
                "(the web form, the API); a claim signed elsewhere brought only its hash.",
            )
        return KeptContent(data, str(work["content"]["media_type"]), str(work["work_id"]))

    def export(self, owners: Sequence[str]) -> bytes:
        """A zip of every certificate of these owners, with an index (works.json)."""
        buffer = io.BytesIO()
        index: list[dict[str, Any]] = []
        after = -1
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            while len(index) < MAX_EXPORT:
                self.follower.catch_up(["catalog"])
                batch = self.catalog.find(owners=owners, after=after, limit=500)
                if not batch:
                    break
                for item in batch[: MAX_EXPORT - len(index)]:
                    cert = self.registry.certificate(item.work_id)
                    archive.writestr(f"certificates/{item.work_id}.cert.json", cert.to_json())
                    index.append(entry_summary(item))
                after = batch[-1].index
            archive.writestr("works.json", json.dumps(index, indent=2, ensure_ascii=False))
        return buffer.getvalue()


def entry_summary(item: CatalogEntry) -> dict[str, Any]:
    return {
        "work_id": item.work_id,
        "index": item.index,
        "owner": item.owner,
        "title": item.title,
        "media_type": item.media_type,
        "size": item.size,
        "sha256": item.sha256,
        "logged_at": item.logged_at,
    }


def _public_sha256(work: dict[str, Any]) -> bytes | None:
    sha256 = (work.get("content") or {}).get("sha256")
    return None if sha256 is None else bytes.fromhex(sha256)
