"""``copyseal witness``: run a C2SP tlog-witness that cosigns the checkpoints of trusted logs."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.markup import escape

from copyseal.adapters.storage.witness_sqlite import HOME_ENV, WitnessHome
from copyseal.cli.common import JsonOption, emit, err, out, run
from copyseal.core.note import NoteVerifier

app = typer.Typer(help="Run a witness: cosign checkpoints of trusted logs, refuse forks.")

WitnessHomeOption = typer.Option(
    None, "--home", envvar=HOME_ENV, help="Witness home directory (default ./witness)."
)
# uvicorn imports the app by name: the CLI never imports the server layer.
APP_FACTORY = "copyseal.server.witness_app:create_app_from_env"


def _path(home: Path | None) -> Path:
    return home if home is not None else Path("witness")


@app.command()
def init(
    name: str = typer.Option(..., "--name", help="The witness's name, e.g. example.com/w1."),
    home: Path | None = WitnessHomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a witness home and its cosigning key (type 0x04); print its verifier key."""

    def action() -> None:
        path = _path(home)
        created = WitnessHome.init(path, name=name, seed=os.urandom(32))
        vkey = created.signer.verifier.to_vkey()

        def human() -> None:
            out.print(f"Created witness home [bold]{escape(str(path))}[/]; its verifier key:")
            typer.echo(vkey)

        emit(as_json, {"home": str(path), "name": name, "vkey": vkey}, human)

    run(as_json, action)


@app.command()
def key(home: Path | None = WitnessHomeOption) -> None:
    """Print the witness's verifier key (C2SP vkey, type 0x04)."""
    run(False, lambda: typer.echo(WitnessHome.open(_path(home)).signer.verifier.to_vkey()))


@app.command("add-log")
def add_log(
    vkey: str = typer.Option(..., "--vkey", help="The log's verifier key (C2SP vkey)."),
    origin: str | None = typer.Option(
        None, "--origin", help="The log's checkpoint origin (default: the key's name)."
    ),
    home: Path | None = WitnessHomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Trust a log's key: cosign that log's checkpoints from now on."""

    def action() -> None:
        log_key = NoteVerifier.from_vkey(vkey)
        followed = origin if origin is not None else log_key.name
        store = WitnessHome.open(_path(home)).open_store()
        try:
            added = store.add_log(followed, log_key)
        finally:
            store.close()
        data = {"origin": followed, "vkey": log_key.to_vkey(), "added": added}
        verb = "Now following" if added else "Already following"
        emit(
            as_json,
            data,
            lambda: out.print(
                f"{verb} [bold]{escape(followed)}[/] (a running witness picks it up on restart)"
            ),
        )

    run(as_json, action)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8380, "--port", help="Port to listen on."),
    home: Path | None = WitnessHomeOption,
) -> None:
    """Serve POST /add-checkpoint (C2SP tlog-witness) until interrupted."""

    def action() -> None:
        import uvicorn  # copyseal[server]: imported when serving

        path = _path(home).resolve()
        opened = WitnessHome.open(path)
        store = opened.open_store()
        try:
            logs = store.trusted_logs()
        finally:
            store.close()
        if not logs:
            err.print("[yellow]warning:[/] no trusted logs yet; add one with `witness add-log`")
        err.print(
            f"witness {escape(opened.signer.name)} on http://{host}:{port}/add-checkpoint, "
            f"following {len(logs)} log(s)\n  key: {escape(opened.signer.verifier.to_vkey())}"
        )
        os.environ[HOME_ENV] = str(path)
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, log_level="warning")

    run(False, action)
