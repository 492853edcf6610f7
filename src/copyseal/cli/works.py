"""``copyseal register``, ``check`` and ``index``: registering works and finding their owners."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.cells import cell_len
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from copyseal.adapters.home import DEFAULT_KEY
from copyseal.adapters.keystore import write_private_file
from copyseal.cli.common import (
    HomeOption,
    JsonOption,
    default_workers,
    emit,
    err,
    error_dict,
    now,
    open_registry,
    out,
    passphrase,
    read_file,
    run,
    usage_error,
)
from copyseal.domain.titles import visible_text
from copyseal.domain.wording import counted, short_did
from copyseal.errors import CopysealError

# Registering and searching need copyseal[registry] (numpy, fingerprints, media decoding):
# each command imports them when it runs, so the rest of the CLI works without them.
if TYPE_CHECKING:
    from copyseal.services.creator import WorkInput
    from copyseal.services.registry import Registration

CHUNK = 2000
PARALLEL_WORKS = 1000
"""Batches this large are fingerprinted and checked by worker processes: below it, starting
them (about 0.3 s) costs about what they save."""
index_app = typer.Typer(help="The similarity index, derived from the log.")


def check_sources(
    ctx: typer.Context, files: list[Path] | None, text: str | None, command: str
) -> None:
    """Files or --text, exactly one of them; else a usage error, before anything is read."""
    if text is not None and files:
        usage_error(ctx, "give files or --text, not both")
    if text is None and not files:
        what = "files" if command == "register" else "a file"
        usage_error(ctx, f"nothing to {command}: name {what} or use --text")


def read_inputs(
    files: list[Path], text: str | None, title: str | None, limit: int
) -> list[WorkInput]:
    from copyseal.adapters.media import sniff_media_type
    from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput

    if text is not None:  # check_sources made sure it comes without files
        return [WorkInput(text.encode("utf-8"), TEXT_MEDIA_TYPE, "--text", title)]
    works = []
    for path in files:
        content = read_file(path, limit)
        media_type = mimetypes.guess_type(path.name)[0] or sniff_media_type(content)
        if media_type.startswith("text/") and "charset" not in media_type:
            media_type += "; charset=utf-8"
        works.append(WorkInput(content, media_type, str(path), title))
    return works


def _row(
    work: WorkInput, salt: bytes | None, outcome: Registration | CopysealError, out_dir: Path
) -> dict[str, Any]:
    """The result row of one work; its certificate (and salt) written to ``out_dir``."""
    if isinstance(outcome, CopysealError):
        return {"source": work.label, "error": error_dict(outcome)}
    cert = outcome.certificate
    path = out_dir / f"{cert.work_id}.cert.json"
    path.write_bytes(cert.to_json())
    row = {
        "work_id": cert.work_id,
        "created": outcome.created,
        "source": work.label,
        "certificate": str(path),
        "kind": cert.claim.type,
    }
    if salt is not None:
        salt_path = out_dir / f"{cert.work_id}.salt"
        if not salt_path.exists():
            write_private_file(salt_path, salt.hex().encode() + b"\n")
        row["salt"] = str(salt_path)
    return row


def register(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(None, help="Files to register.", show_default=False),
    text: str | None = typer.Option(None, "--text", help="Register this text."),
    title: str | None = typer.Option(None, help="A title for the work(s)."),
    key: str = typer.Option(DEFAULT_KEY, "--key", help="The creator key to sign with."),
    out_dir: Path = typer.Option(Path("."), "--out", help="Where certificates are written."),
    derivative_of: list[str] = typer.Option(
        [], "--derivative-of", help="A work this one builds on (repeatable); recorded as lineage."
    ),
    dispute: str | None = typer.Option(
        None, "--dispute", help="Claim that this earlier work is yours (needs --reason)."
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why, for --dispute."),
    private: bool = typer.Option(
        False, "--private", help="Publish only a salted commitment: no fingerprint, no search."
    ),
    jobs: int | None = typer.Option(
        None,
        "--jobs",
        min=1,
        help="Processes that fingerprint and check the works "
        f"(default: one per CPU, at most 4, for {PARALLEL_WORKS:,} works or more; else 1).",
        show_default=False,
    ),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Register works; write one certificate per work (WORK_ID.cert.json).

    Content that matches another creator's earlier work is refused, unless declared with
    --derivative-of or --dispute. Your own edited versions are accepted and linked."""

    check_sources(ctx, files, text, "register")
    if dispute is not None and not reason:
        usage_error(ctx, "--dispute needs --reason: say why the earlier work is yours")
    if dispute is not None and (private or derivative_of):
        usage_error(ctx, "--dispute goes without --private and --derivative-of")
    if private and derivative_of:
        usage_error(ctx, "--private goes without --derivative-of: it publishes no lineage")

    def action() -> dict[str, Any]:
        from copyseal.services.batch import Batches, Declared

        declared = Declared(
            derivative_of=derivative_of, dispute=dispute, reason=reason, private=private
        )
        if jobs is not None:
            workers = jobs
        else:
            workers = default_workers() if len(files or []) >= PARALLEL_WORKS else 1
        with open_registry(home, workers=workers) as (opened, node):
            signer = opened.keys.load(key, passphrase())
            works = read_inputs(files or [], text, title, opened.max_content_bytes)
            batches = Batches(
                registry=node.registry,
                clock=now,
                random_bytes=os.urandom,
                max_bytes=opened.max_content_bytes,
                chunk=CHUNK,
            )
            out_dir.mkdir(parents=True, exist_ok=True)
            rows: list[dict[str, Any]] = []
            first_error: CopysealError | None = None
            with Progress(console=err, disable=len(works) < 50 or as_json) as bar:
                task = bar.add_task("registering", total=len(works))
                try:
                    for prepared, outcomes in batches.register(works, signer, declared):
                        done = zip(prepared.works, prepared.salts, outcomes, strict=True)
                        for work, salt, outcome in done:
                            rows.append(_row(work, salt, outcome, out_dir))
                            if isinstance(outcome, CopysealError):
                                first_error = first_error or outcome
                        bar.advance(task, len(outcomes))
                except CopysealError as exc:
                    if not rows:
                        raise
                    # Stopped at a later chunk: the chunks before it are registered.
                    first_error = first_error or exc
                    rest = f"works {len(rows) + 1}–{len(works)}, not registered"
                    rows.append({"source": rest, "error": error_dict(exc)})
        return {"works": rows, "error": first_error}

    result = run(as_json, action)
    rows, failure = result["works"], result["error"]

    def human() -> None:
        for row in rows:
            if "error" in row:
                out.print(f"[bold red]refused[/]  {row['source']}: {row['error']['detail']}")
                if row["error"].get("hint"):
                    out.print(f"  [dim]hint:[/] {row['error']['hint']}")
                continue
            note = "" if row["created"] else "  (already registered)"
            if dispute is not None:
                note += f"  (dispute of {dispute} logged; the earlier work is untouched)"
            out.print(f"{row['work_id']}  {row['source']}  → {row['certificate']}{note}")
            if "salt" in row:
                out.print(
                    f"  private: kept out of search; keep {row['salt']} with the file —"
                    " without the salt nobody can link the registration to the content"
                )

    emit(as_json, {"works": rows}, human)
    if failure is not None:
        raise typer.Exit(failure.exit_code)


def check(
    ctx: typer.Context,
    file: Path | None = typer.Argument(None, help="A file to check.", show_default=False),
    text: str | None = typer.Option(None, "--text", help="Check this text."),
    top: int = typer.Option(5, "--top", min=1, max=100, help="How many matches to show."),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Who owns this? The registered works this content copies or nearly copies."""
    check_sources(ctx, [file] if file else [], text, "check")

    def action() -> list[dict[str, Any]]:
        with open_registry(home) as (opened, node):
            [work] = read_inputs([file] if file else [], text, None, opened.max_content_bytes)
            found = node.search.check(work.content, work.media_type, top_k=top)
            return [m.to_dict() for m in found]

    matches = run(as_json, action)

    def human() -> None:
        if not matches:
            out.print("no registered work matches")
            return
        out.print(match_table(matches, out.width))
        if any(m["original"] for m in matches):
            out.print("* original: the earliest registration of what it shares with this content")

    emit(as_json, {"matches": matches}, human)


_GAP = 2  # columns between the table's columns


def match_table(matches: list[dict[str, Any]], width: int) -> Table:
    """The matches of ``check`` in ``width`` columns (80 in a plain terminal): every column
    but the title is kept whole, the owner shortened, the registration shown by its date and
    the original marked *; the title takes what is left, cut with an ellipsis (the whole of
    each is in ``--json``)."""
    rows = [
        [
            f"{m['work_id']}{'*' if m['original'] else ' '}",
            visible_text(m["title"]) if m["title"] else "—",
            m["kind"],
            f"{m['score']:.2f}",
            short_did(m["owner"], head=0, tail=8),
            m["logged_at"][:10],
        ]
        for m in matches
    ]
    headers = ["work", "title", "kind", "score", "owner", "registered"]
    widths = [max(cell_len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    title_width = max(8, width - 1 - (sum(widths) - widths[1]) - _GAP * (len(headers) - 1))
    table = Table(box=None, padding=(0, _GAP, 0, 0), pad_edge=False, collapse_padding=True)
    for i, header in enumerate(headers):
        table.add_column(
            header,
            no_wrap=True,
            overflow="ellipsis",
            justify="right" if header == "score" else "left",
            width=min(widths[i], title_width) if i == 1 else widths[i],
        )
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    return table


@index_app.command("rebuild")
def rebuild(home: Path | None = HomeOption, as_json: bool = JsonOption) -> None:
    """Recompute everything derived from the log: the similarity index, lineage, ownership
    and the works catalogue (links the registry observed, a creator's versions, are kept)."""

    def action() -> int:
        with open_registry(home) as (_, node):
            return node.follower.rebuild()

    entries = run(as_json, action)
    emit(
        as_json,
        {"entries": entries},
        lambda: out.print(f"index rebuilt from {counted(entries, 'entry', 'entries')}"),
    )
