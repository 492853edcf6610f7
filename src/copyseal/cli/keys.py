"""``copyseal keys``: creator identities."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.table import Table

from copyseal.adapters.home import Home
from copyseal.cli.common import (
    HomeOption,
    JsonOption,
    emit,
    home_path,
    new_passphrase,
    out,
    passphrase,
    run,
)
from copyseal.core.encoding import b64encode
from copyseal.core.keys import public_key_from_did

app = typer.Typer(help="Manage creator identities (Ed25519 keys named by did:key).")


@app.command("new")
def new(
    name: str = typer.Argument(..., help="A name for the identity."),
    encrypt: bool = typer.Option(
        False,
        "--passphrase",
        help="Encrypt the key with a passphrase (prompted, or $COPYSEAL_PASSPHRASE).",
    ),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a creator key."""

    def action() -> None:
        store = Home.open(home_path(home)).keys
        secret = new_passphrase() if encrypt else None
        info = store.create(name, seed=os.urandom(32), passphrase=secret)
        emit(
            as_json,
            {"name": info.name, "did": info.did, "encrypted": info.encrypted},
            lambda: out.print(f"{info.name}: {info.did}"),
        )

    run(as_json, action)


@app.command("list")
def list_keys(home: Path | None = HomeOption, as_json: bool = JsonOption) -> None:
    """List creator keys."""

    def action() -> None:
        infos = Home.open(home_path(home)).keys.list()

        def human() -> None:
            table = Table("name", "did", "encrypted")
            for i in infos:
                table.add_row(i.name, i.did, "yes" if i.encrypted else "no")
            out.print(table)

        emit(as_json, [i.__dict__ for i in infos], human)

    run(as_json, action)


@app.command("export")
def export(
    name: str = typer.Argument(...),
    private: bool = typer.Option(
        False, "--private", help="Include the private key (PKCS#8 PEM, encrypted if it is)."
    ),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Print a creator's public identity, and with --private its key for backup."""

    def action() -> None:
        store = Home.open(home_path(home)).keys
        info = store.info(name)
        data = {
            "name": info.name,
            "did": info.did,
            "public_key": b64encode(public_key_from_did(info.did)),
        }
        if private:
            data["private_key_pem"] = store.export_pem(name)

        def human() -> None:
            out.print(f"{info.name}: {info.did}")
            if private:
                out.print(data["private_key_pem"], end="")

        emit(as_json, data, human)

    run(as_json, action)


__all__ = ["app", "passphrase"]
