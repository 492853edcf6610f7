"""``copyseal log``: the log's checkpoint, key and proofs, and checking any signed note."""

from __future__ import annotations

from pathlib import Path

import typer

from copyseal.adapters.home import Home
from copyseal.adapters.witness_client import request_cosignature
from copyseal.cli.common import (
    HomeOption,
    JsonOption,
    emit,
    home_path,
    open_registry,
    out,
    read_file,
    run,
    usage_error,
)
from copyseal.core.encoding import b64encode
from copyseal.core.note import ALG_COSIGNATURE_V1
from copyseal.errors import InvalidInput, Unavailable
from copyseal.services.verification import check_signed_note
from copyseal.services.witnessing import Cosigner, WitnessConfig, configured_witnesses

app = typer.Typer(help="Read the transparency log: checkpoint, key, proofs.")


@app.command()
def checkpoint(home: Path | None = HomeOption) -> None:
    """Print the latest signed checkpoint (C2SP signed note)."""

    def action() -> None:
        with open_registry(home) as (_, node):
            registry = node.registry
            typer.echo(registry.latest_checkpoint(), nl=False)

    run(False, action)


@app.command()
def key(home: Path | None = HomeOption) -> None:
    """Print the log's verifier key (C2SP vkey)."""
    run(False, lambda: typer.echo(Home.open(home_path(home)).log_signer.verifier.to_vkey()))


@app.command()
def proof(
    ctx: typer.Context,
    inclusion: int | None = typer.Option(None, "--inclusion", help="Leaf index."),
    size: int | None = typer.Option(None, "--size", help="Tree size (default: latest)."),
    consistency: tuple[int, int] | None = typer.Option(
        None, "--consistency", help="OLD NEW tree sizes.", show_default=False
    ),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Print an inclusion or consistency proof (hashes in lowercase hex)."""
    if (inclusion is None) == (consistency is None):
        usage_error(ctx, "give exactly one of --inclusion INDEX or --consistency OLD NEW")

    def action() -> None:
        with open_registry(home) as (_, node):
            registry = node.registry
            if inclusion is not None:
                data = registry.inclusion_proof(inclusion, size)
            else:
                assert consistency is not None
                data = registry.consistency_proof(*consistency)

        def human() -> None:
            for k, v in data.items():
                if isinstance(v, list):
                    out.print(f"{k}:")
                    for h in v:
                        out.print(f"  {h}")
                else:
                    out.print(f"{k}: {v}")

        emit(as_json, data, human)

    run(as_json, action)


@app.command("verify-checkpoint")
def verify_checkpoint(
    file: Path = typer.Argument(..., help="A signed note or checkpoint."),
    keys: list[str] = typer.Option(..., "--key", help="Verifier key(s) to trust."),
    as_json: bool = JsonOption,
) -> None:
    """Verify any C2SP checkpoint or signed note (ours or another log's) with KEY."""

    def action() -> None:
        note, verified, cp = check_signed_note(read_file(file), keys)
        data: dict[str, object] = {
            "verified_by": [v.name for v in verified],
            "text": note.text,
        }
        if cp is not None:
            data["checkpoint"] = {
                "origin": cp.origin,
                "size": cp.size,
                "root_hash": cp.root_hash.hex(),
                "root_base64": b64encode(cp.root_hash),
            }

        def human() -> None:
            out.print(f"[bold green]verified[/] by {', '.join(v.name for v in verified)}")
            if cp is not None:
                out.print(f"origin {cp.origin}, size {cp.size}, root {cp.root_hash.hex()}")

        emit(as_json, data, human)

    run(as_json, action)


@app.command("add-witness")
def add_witness(
    url: str = typer.Argument(..., help="The witness's submission URL."),
    vkey: str = typer.Argument(..., help="The witness's verifier key (cosignature type)."),
    home: Path | None = HomeOption,
) -> None:
    """Ask this witness to cosign the log's checkpoints (`log cosign`, and `serve`)."""

    def action() -> None:
        opened = Home.open(home_path(home))
        added = WitnessConfig.from_config({"url": url, "vkey": vkey})
        if added.key.alg != ALG_COSIGNATURE_V1:
            raise InvalidInput("a witness key is a tlog-cosignature (type 0x04) key")
        witnesses = [w for w in opened.config.get("witnesses", []) if w["vkey"] != vkey]
        opened.config["witnesses"] = [*witnesses, {"url": url, "vkey": vkey}]
        opened.save_config()
        out.print(f"witness {added.key.name} at {url} added")

    run(False, action)


@app.command()
def cosign(home: Path | None = HomeOption, as_json: bool = JsonOption) -> None:
    """Ask every configured witness to cosign the latest checkpoint."""

    def action() -> None:
        with open_registry(home) as (opened, node):
            registry = node.registry
            witnesses = configured_witnesses(opened.config)
            if not witnesses:
                raise InvalidInput("no witness is configured; add one with `log add-witness`")
            report = Cosigner(
                store=registry.store, witnesses=witnesses, request=request_cosignature
            ).cosign_latest()

        def human() -> None:
            out.print(f"size {report.size}: cosigned by {', '.join(report.cosigned_by) or 'none'}")
            for name, why in report.failed.items():
                out.print(f"[bold red]{name}[/]: {why}")

        emit(as_json, report.to_dict(), human)
        if report.failed and not report.cosigned_by:
            raise Unavailable("no witness cosigned the checkpoint")

    run(as_json, action)
