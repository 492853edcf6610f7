"""``copyseal mirror URL``: replicate a remote log and verify everything it serves."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import Progress

from copyseal.adapters.home import MirrorHome
from copyseal.adapters.tlog_client import http_fetcher
from copyseal.cli.common import JsonOption, emit, err, out, run
from copyseal.core.note import NoteVerifier
from copyseal.domain.wording import counted
from copyseal.services.mirror import Mirror


def mirror(
    url: str = typer.Argument(..., help="The log's tiles URL, e.g. http://127.0.0.1:8000"),
    log_key: str | None = typer.Option(
        None, "--log-key", help="The log's verifier key (needed the first time)."
    ),
    home: Path = typer.Option(Path("mirror"), "--home", help="The mirror's directory."),
    as_json: bool = JsonOption,
) -> None:
    """Replicate a remote log; report a fork or rewritten history with its evidence."""

    def action() -> None:
        mirror_home = MirrorHome.open(home, url=url, vkey=log_key)
        store = mirror_home.open_store()
        try:
            worker = Mirror(
                store=store,
                log=NoteVerifier.from_vkey(mirror_home.vkey),
                fetch=http_fetcher(mirror_home.url),
            )
            started = time.perf_counter()
            with Progress(console=err, disable=as_json) as bar:
                task = bar.add_task("mirroring", total=None)
                report = worker.sync(
                    progress=lambda n, total: bar.update(task, completed=n, total=total)
                )
            elapsed = time.perf_counter() - started
        finally:
            store.close()
        data = {**report.__dict__, "seconds": round(elapsed, 3)}
        emit(
            as_json,
            data,
            lambda: out.print(
                f"mirrored {counted(report.fetched, 'new entry', 'new entries')};"
                f" size {report.new_size},"
                f" root {report.root_hash}; every entry and checkpoint verified"
            ),
        )

    run(as_json, action)
