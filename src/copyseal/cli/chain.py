"""``copyseal chain …``, ``copyseal anchor`` and ``copyseal certificate refresh``.

Chain settings come from the home's config.json ``chain`` section and the COPYSEAL_CHAIN_*
environment variables (see ``copyseal.adapters.chain.settings``); the anchoring key from
COPYSEAL_CHAIN_KEY or the home's ``chain.key``, never from config.json. The EVM adapter is
wired here for the CLI, and :func:`chain_reader` wires it for ``copyseal verify --rpc``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from copyseal.adapters.chain.settings import (
    chain_section,
    key_address,
    load_chain_settings,
    load_confirmations,
    load_private_key,
    new_private_key,
    reader_settings,
    save_key_file,
)
from copyseal.adapters.home import Home
from copyseal.cli.common import HomeOption, JsonOption, emit, home_path, out, read_file, run
from copyseal.core.anchor import Anchor
from copyseal.domain.anchors import AnchorChain, AnchoredCheckpoint
from copyseal.errors import ConflictError, NotFound
from copyseal.services.anchoring import Anchorer, refresh_certificate
from copyseal.services.chain_verification import ChainFor

if TYPE_CHECKING:
    from copyseal.adapters.chain.evm import EvmChain
    from copyseal.adapters.chain.settings import ChainSettings

app = typer.Typer(help="The EVM chain that anchors the log: key, deploy, authorize.")
certificate_app = typer.Typer(help="Work with certificates: refresh their anchor receipts.")


def _evm(settings: ChainSettings) -> EvmChain:
    """The EVM adapter, imported when a command needs it: web3 takes most of a second to
    import, which every other command would pay."""
    from copyseal.adapters.chain.evm import EvmChain

    return EvmChain(settings)


def _record(record: AnchoredCheckpoint) -> dict[str, Any]:
    return {**record.anchor.to_dict(), "gas_used": record.gas_used}


@app.command()
def key(
    new: bool = typer.Option(False, "--new", help="Create the home's chain.key (mode 0600)."),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Print the address of the anchoring key (fund it before deploying or anchoring)."""

    def action() -> None:
        opened = Home.open(home_path(home))
        if new:
            save_key_file(opened.path, new_private_key())
        private_key = load_private_key(opened.path)
        if private_key is None:
            raise NotFound(
                "no chain key is configured",
                hint="Set COPYSEAL_CHAIN_KEY, or create one with `copyseal chain key --new`.",
            )
        address = key_address(private_key)
        emit(as_json, {"address": address}, lambda: out.print(address))

    run(as_json, action)


@app.command()
def deploy(
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL (or COPYSEAL_CHAIN_RPC)."),
    chain_id: int | None = typer.Option(None, "--chain-id", help="Expected chain ID."),
    confirmations: int | None = typer.Option(None, "--confirmations", min=1),
    anchorer: str | None = typer.Option(
        None, "--anchorer", help="Address allowed to anchor this log (default: the deploying key)."
    ),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Deploy CheckpointAnchor, authorise the anchorer for this log, save the settings."""

    def action() -> None:
        opened = Home.open(home_path(home))
        section = chain_section(opened.config)
        if section.get("contract_address"):
            raise ConflictError(
                f"this home already anchors on {section['contract_address']}",
                hint="Remove chain.contract_address from config.json to deploy another contract.",
            )
        settings = load_chain_settings(
            opened.path,
            opened.config,
            require_contract=False,
            rpc_url=rpc,
            chain_id=chain_id,
            confirmations=confirmations,
        )
        owner = _evm(settings)
        deployment = owner.deploy()
        bound = owner.bind(deployment.contract, deployment_block=deployment.block_number)
        origin = opened.log_signer.name
        authorised = anchorer or owner.address
        bound.authorize(origin, authorised)
        section.update(
            rpc_url=settings.rpc_url,
            chain_id=settings.chain_id,
            contract_address=deployment.contract,
            deployment_block=deployment.block_number,
            confirmations=settings.confirmations,
        )
        opened.config["chain"] = section
        opened.save_config()
        data = {**deployment.__dict__, "origin": origin, "anchorer": authorised}
        emit(
            as_json,
            data,
            lambda: out.print(
                f"Deployed CheckpointAnchor [bold]{deployment.contract}[/] on {deployment.chain_id}"
                f" (block {deployment.block_number}, {deployment.gas_used:,} gas)\n"
                f"  {authorised} may anchor {origin}"
            ),
        )

    run(as_json, action)


@app.command()
def authorize(
    address: str = typer.Argument(..., help="The key that may anchor this log from now on."),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Let ADDRESS (and no other key) anchor this log; needs the contract owner's key."""

    def action() -> None:
        opened = Home.open(home_path(home))
        chain = _evm(load_chain_settings(opened.path, opened.config))
        outcome = chain.authorize(opened.log_signer.name, address)
        emit(as_json, outcome.__dict__, lambda: out.print(f"{address} may anchor now"))

    run(as_json, action)


@contextmanager
def _anchorer(home: Path | None) -> Iterator[Anchorer]:
    opened = Home.open(home_path(home))
    chain = _evm(load_chain_settings(opened.path, opened.config))
    store, anchors = opened.open_store(), opened.open_anchors()
    try:
        yield Anchorer(
            store=store, anchors=anchors, chain=chain, log_key=opened.log_signer.verifier
        )
    finally:
        anchors.close()
        store.close()


def anchor(home: Path | None = HomeOption, as_json: bool = JsonOption) -> None:
    """Anchor the log's latest checkpoint on the configured chain (if not anchored yet)."""

    def action() -> None:
        with _anchorer(home) as anchorer:
            outcome = anchorer.anchor_latest()
        data = {**_record(outcome.record), "created": outcome.created}
        a = outcome.record.anchor
        what = "anchored" if outcome.created else "already anchored"
        emit(
            as_json,
            data,
            lambda: out.print(
                f"{what} {a.origin} at size {a.size} on {a.chain}\n"
                f"  tx {a.tx_hash}, block {a.block_number}, {outcome.record.gas_used:,} gas"
            ),
        )

    run(as_json, action)


@certificate_app.command()
def refresh(
    cert: Path = typer.Argument(..., help="The certificate (JSON), upgraded in place."),
    out_path: Path | None = typer.Option(None, "--out", help="Write here instead."),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Add the receipts of anchors that now cover the certificate (as OpenTimestamps upgrades
    a pending proof)."""

    def action() -> None:
        opened = Home.open(home_path(home))
        store, anchors = opened.open_store(), opened.open_anchors()
        try:
            refreshed = refresh_certificate(
                read_file(cert), store=store, anchors=anchors, log_key=opened.log_signer.verifier
            )
        finally:
            anchors.close()
            store.close()
        target = out_path or cert
        target.write_bytes(refreshed.data)
        added = [r.to_dict() for r in refreshed.added]
        data = {"certificate": str(target), "added": added}
        emit(
            as_json,
            data,
            lambda: out.print(
                f"{target}: "
                + (
                    ", ".join(f"anchored on {r['chain']} at size {r['size']}" for r in added)
                    if added
                    else "already carries every available anchor"
                )
            ),
        )

    run(as_json, action)


# -- wiring for `copyseal verify` -------------------------------------------------------------


def chain_reader(rpc_url: str) -> ChainFor:
    """Key-less readers on the node at ``rpc_url``, one per contract; None for an anchor on
    a chain that node does not serve."""
    served: list[int] = []

    def reader(anchor: Anchor) -> AnchorChain | None:
        if not served:
            probe = _evm(reader_settings(rpc_url, anchor.chain_id, anchor.contract))
            served.append(probe.fetch_chain_id())
        if served[0] != anchor.chain_id:
            return None
        return _evm(reader_settings(rpc_url, anchor.chain_id, anchor.contract))

    return reader


def confirmations_setting(given: int | None, home: Path | None) -> int:
    """``--confirmations``, else COPYSEAL_CHAIN_CONFIRMATIONS or the home's setting, else 1."""
    if given is not None:
        return given
    try:
        config = Home.open(home_path(home)).config
    except NotFound:
        config = {}
    return load_confirmations(config)
