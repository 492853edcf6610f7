"""Wiring and rendering shared by the CLI's commands.

The adapters are chosen here and nowhere else in the CLI. Errors from the one error tree
become a message on stderr (or a JSON error object on stdout with ``--json``) and the exit
code the error class declares.

A bare ``pip install copyseal`` verifies; registering needs ``copyseal[registry]``, serving
``copyseal[server]``, anchoring ``copyseal[chain]``. So the CLI's modules import the parts
that need an extra inside the commands that use them, and :func:`run` turns the import
error of a missing extra into a message naming the extra to install.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from copyseal.adapters.home import Home, default_home
from copyseal.adapters.storage import open_stores
from copyseal.cli.hints import cli_hint
from copyseal.errors import (
    ContentTooLarge,
    CopysealError,
    InvalidInput,
    UnreadablePath,
    missing_extra,
)

if TYPE_CHECKING:
    from copyseal.services.assembly import Assembly

err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
out = Console(highlight=False, emoji=False, soft_wrap=True)

T = TypeVar("T")

HomeOption = typer.Option(
    None, "--home", envvar="COPYSEAL_HOME", help="Home directory (default ./data)."
)
JsonOption = typer.Option(False, "--json", help="Print JSON for scripts.")


def now() -> datetime:
    return datetime.now(UTC)


def home_path(home: Path | None) -> Path:
    return home if home is not None else default_home()


def default_workers() -> int:
    """One process per CPU, at most 4: Python runs one thread at a time per process, and the
    work that remains in the caller's process (signing, sequencing) bounds what more add."""
    return max(1, min(4, os.cpu_count() or 1))


@contextmanager
def open_registry(home: Path | None, *, workers: int = 1) -> Iterator[tuple[Home, Assembly]]:
    """The home and its registry. With ``workers`` > 1 anti-squatting runs in a
    :class:`WorkerPool`: fingerprints and checks in that many processes."""
    from copyseal.services.assembly import assemble
    from copyseal.services.parallel import WorkerPool

    opened = Home.open(home_path(home))
    stores = opened.open_stores()
    pool = (
        WorkerPool(
            partial(
                open_stores,
                opened.store_url,
                base=opened.path,
                max_content_bytes=opened.max_content_bytes,
            ),
            workers,
        )
        if workers > 1
        else None
    )
    assembly = assemble(stores, log_signer=opened.log_signer, clock=now, squatting=pool)
    try:
        yield opened, assembly
    finally:
        assembly.close()
        if pool is not None:
            pool.close()
        stores.close()


class UsageError(typer.BadParameter):
    """Options that ask for nothing sensible, met after parsing: the parser's own usage error
    (exit 2, the command's usage line, then the message), not a copyseal error."""

    def format_message(self) -> str:
        return self.message


def usage_error(ctx: typer.Context, message: str) -> NoReturn:
    raise UsageError(message, ctx=ctx)


def passphrase() -> str | None:
    return os.environ.get("COPYSEAL_PASSPHRASE") or None


def new_passphrase() -> str:
    """A passphrase for a new key: ``$COPYSEAL_PASSPHRASE``, else asked for (twice) on the
    terminal. Without a terminal there is nobody to ask, so say how else to give it."""
    given = passphrase()
    if given:
        return given
    if not sys.stdin.isatty():
        raise InvalidInput(
            "--passphrase asks for the passphrase on a terminal, and there is none",
            hint="Set COPYSEAL_PASSPHRASE, or run the command in a terminal.",
        )
    return str(typer.prompt("Passphrase", hide_input=True, confirmation_prompt=True))


def read_file(path: Path, max_bytes: int | None = None) -> bytes:
    """The file's bytes; a file over ``max_bytes`` is refused (by its size, unread) rather
    than cut short, which would make a valid image look damaged."""
    try:
        if max_bytes is None:
            return path.read_bytes()
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            data = b"" if size > max_bytes else fh.read(max_bytes + 1)  # a pipe has no size
    except OSError as exc:
        raise UnreadablePath(f"cannot read {path}: {exc.strerror}", path=str(path)) from exc
    if size > max_bytes or len(data) > max_bytes:
        told = f"{size:,} bytes, over" if size > max_bytes else "over"
        raise ContentTooLarge(
            f"{path} is {told} the limit of {max_bytes:,} bytes", label=str(path), limit=max_bytes
        )
    return data


def emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        human()


def error_dict(exc: CopysealError) -> dict[str, Any]:
    """An error as the CLI prints it for scripts: its hint in the CLI's terms."""
    out = exc.to_dict()
    if hint := cli_hint(exc):
        out["hint"] = hint
    return out


def run(as_json: bool, action: Callable[[], T]) -> T:
    """Run a command body, turning copyseal errors into their message and exit code."""
    try:
        try:
            return action()
        except ImportError as exc:
            missing = missing_extra(exc)
            if missing is None:
                raise
            raise missing from exc
    except CopysealError as exc:
        if as_json:
            sys.stdout.write(json.dumps(error_dict(exc), indent=2, ensure_ascii=False) + "\n")
        else:
            # Messages quote user input and extras like copyseal[chain]: never Rich markup.
            err.print(f"[bold red]error:[/] {escape(exc.message)}")
            if hint := cli_hint(exc):
                err.print(f"[dim]hint:[/] {escape(hint)}")
        raise typer.Exit(exc.exit_code) from None
