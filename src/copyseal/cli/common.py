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
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from copyseal.adapters.home import Home, default_home
from copyseal.errors import CopysealError, UnreadablePath, missing_extra

if TYPE_CHECKING:
    from copyseal.services.parallel import WorkerPool
    from copyseal.services.registry import Registry
    from copyseal.services.search import SimilaritySearch

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
def open_registry(home: Path | None, *, workers: int = 1) -> Iterator[tuple[Home, Registry]]:
    """The home and its registry. With ``workers`` > 1 the registry's policy is a
    :class:`WorkerPool`: fingerprints and anti-squatting checks run in that many processes."""
    from copyseal.adapters.storage.sqlite import SqliteLogStore
    from copyseal.services.parallel import WorkerPool
    from copyseal.services.registry import Registry
    from copyseal.services.search import SimilaritySearch

    opened = Home.open(home_path(home))
    store = opened.open_store()
    policy: SimilaritySearch | WorkerPool = (
        WorkerPool(partial(SqliteLogStore, store.path), workers)
        if workers > 1
        else SimilaritySearch(store=store)
    )
    registry = Registry(store=store, log_signer=opened.log_signer, clock=now, policy=policy)
    try:
        yield opened, registry
    finally:
        registry.close()
        if isinstance(policy, WorkerPool):
            policy.close()
        store.close()


def passphrase() -> str | None:
    return os.environ.get("COPYSEAL_PASSPHRASE") or None


def read_file(path: Path, max_bytes: int | None = None) -> bytes:
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            # Read one byte past the limit so the caller reports the size error.
            with path.open("rb") as fh:
                return fh.read(max_bytes + 1)
        return path.read_bytes()
    except OSError as exc:
        raise UnreadablePath(f"cannot read {path}: {exc.strerror}", path=str(path)) from exc


def emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        human()


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
            sys.stdout.write(json.dumps(exc.to_dict(), indent=2, ensure_ascii=False) + "\n")
        else:
            # Messages quote user input and extras like copyseal[chain]: never Rich markup.
            err.print(f"[bold red]error:[/] {escape(exc.message)}")
            if exc.hint:
                err.print(f"[dim]hint:[/] {escape(exc.hint)}")
        raise typer.Exit(exc.exit_code) from None
