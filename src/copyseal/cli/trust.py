"""``copyseal trust …``: the trust root that ``copyseal verify`` uses.

The root lives in the home's ``trust.json`` (docs/formats.md). The home's own log, its
witnesses and its anchoring chain are trusted by default and never written there. A home
may hold nothing but a ``trust.json``: someone who only verifies needs no ``init``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import typer

from copyseal.adapters.home import TRUST_FILE, Home, load_trust_file, save_trust_file
from copyseal.cli.common import HomeOption, JsonOption, emit, err, home_path, out, read_file, run
from copyseal.core.anchor import checksum_address
from copyseal.core.note import NoteVerifier
from copyseal.core.trust import (
    TrustedLog,
    TrustRoot,
    describe_key,
    parse_chain,
    parse_log_key,
    parse_url,
    parse_witness_key,
)
from copyseal.domain.wording import counted
from copyseal.errors import InvalidInput, MalformedDocument, NotFound
from copyseal.services.trust import own_trust_root, trust_summary

app = typer.Typer(help="The logs, witnesses and chains that `copyseal verify` trusts.")

IMPORT_WARNING = (
    "Importing a trust root is a trust decision: from now on `copyseal verify` accepts "
    "certificates of these logs. Compare the key IDs with what the operators publish "
    "elsewhere before relying on them; `copyseal trust remove KEY_ID` takes one back."
)


def _file(home: Path | None) -> Path:
    return home_path(home) / TRUST_FILE


def _own(home: Path | None) -> TrustRoot:
    try:
        return own_trust_root(Home.open(home_path(home)))
    except NotFound:
        return TrustRoot()


def _key(vkey: str, parse: Callable[[str, str], NoteVerifier], what: str) -> NoteVerifier:
    """A key as a person pastes it (any surrounding space), checked for its role."""
    try:
        return parse(NoteVerifier.from_vkey(vkey).to_vkey(), what)
    except MalformedDocument as exc:
        raise InvalidInput(exc.message) from exc


def _save(path: Path, root: TrustRoot, as_json: bool, data: dict[str, Any], line: str) -> None:
    save_trust_file(path, root)
    emit(as_json, {**data, "file": str(path), "trust_root": root.root_id}, lambda: out.print(line))


@app.command("add-log")
def add_log(
    vkey: str = typer.Argument(..., help="The log's verifier key (C2SP vkey, from its operator)."),
    url: str | None = typer.Option(None, "--url", help="The log's address, for reference."),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Trust a log's key: its certificates verify from now on."""

    def action() -> None:
        key = _key(vkey, parse_log_key, "log key")
        path = _file(home)
        root = load_trust_file(path)
        if key in _own(home).log_keys(key.name):
            raise InvalidInput(f"{describe_key(key)} is this home's own log: trusted already")
        old = next((log for log in root.logs if log.verifier == key), None)
        if url is not None:
            try:
                parse_url(url)
            except MalformedDocument as exc:
                raise InvalidInput(f"--url: {exc.message}") from exc
        entry = TrustedLog.of(key, url if url is not None else (old.url if old else None))
        others = [k for k in root.log_keys(key.name) if k != key]
        kept = tuple(log for log in root.logs if log.verifier != key)
        updated = TrustRoot((*kept, entry), root.witnesses, root.quorum, root.chains)
        line = f"trusting log {describe_key(key)}" + (f" at {entry.url}" if entry.url else "")
        if others:
            ids = ", ".join(k.key_id.hex() for k in others)
            line += f"\n  {key.name} now has {len(others) + 1} trusted keys (also {ids})"
        data = {"added": "log", "origin": key.name, "key_id": key.key_id.hex()}
        _save(path, updated, as_json, data, line)

    run(as_json, action)


@app.command("add-witness")
def add_witness(
    vkey: str = typer.Argument(..., help="The witness's verifier key (tlog-cosignature)."),
    quorum: int | None = typer.Option(
        None, "--quorum", min=1, help="Cosignatures required (default: as before, at least 1)."
    ),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Trust a witness; certificates need QUORUM cosignatures of trusted witnesses."""

    def action() -> None:
        key = _key(vkey, parse_witness_key, "witness key")
        path = _file(home)
        root = load_trust_file(path)
        witnesses = tuple(dict.fromkeys((*root.witnesses, key)))
        needed = quorum if quorum is not None else max(1, root.quorum)
        if needed > len(witnesses):
            raise InvalidInput(
                f"--quorum {needed} needs {needed} witnesses; the root lists"
                f" {counted(len(witnesses), 'witness', 'witnesses')}"
            )
        updated = TrustRoot(root.logs, witnesses, needed, root.chains)
        line = (
            f"trusting witness {describe_key(key)}; certificates need {needed} of "
            f"{len(witnesses)} trusted witnesses' cosignatures"
        )
        data = {"added": "witness", "name": key.name, "key_id": key.key_id.hex(), "quorum": needed}
        _save(path, updated, as_json, data, line)

    run(as_json, action)


@app.command("add-chain")
def add_chain(
    chain: str = typer.Argument(..., help="The chain, CAIP-2: eip155:<chain ID>."),
    contract: str = typer.Argument(..., help="The CheckpointAnchor contract's address."),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Trust anchors made on this chain by this contract (`verify --rpc` checks them)."""

    def action() -> None:
        try:
            trusted = parse_chain(chain, checksum_address(contract))
        except MalformedDocument as exc:
            raise InvalidInput(exc.message) from exc
        path = _file(home)
        root = load_trust_file(path)
        updated = TrustRoot(root.logs, root.witnesses, root.quorum, (*root.chains, trusted))
        line = f"trusting anchors by {trusted.contract} on {trusted.chain}"
        _save(path, updated, as_json, {"added": "chain", **trusted.to_dict()}, line)

    run(as_json, action)


@app.command("list")
def list_trusted(home: Path | None = HomeOption, as_json: bool = JsonOption) -> None:
    """What `copyseal verify` trusts from this home, and the trust root's ID."""

    def action() -> None:
        own, path = _own(home), _file(home)
        listed = load_trust_file(path)
        effective = own.merge(listed)
        data = {
            "trust_root": trust_summary(effective),
            "own": trust_summary(own),
            "file": str(path),
            "listed": trust_summary(listed),
        }
        emit(as_json, data, lambda: _print_root(effective, own, path))

    run(as_json, action)


def _print_root(root: TrustRoot, own: TrustRoot, path: Path) -> None:
    parts = ("this home's own log and " if own.logs else "") + str(path)
    out.print(f"trust root [bold]{root.root_id}[/] ({parts})")
    if not root.logs:
        out.print("  no log is trusted: `copyseal trust add-log VKEY` or `trust import URL`")
    for log in root.logs:
        mark = "  (this home's own log)" if log in own.logs else ""
        where = f"  {log.url}" if log.url else ""
        out.print(f"  log     {log.verifier.key_id.hex()}  {log.verifier.name}{where}{mark}")
    for w in root.witnesses:
        out.print(f"  witness {w.key_id.hex()}  {w.name}")
    if root.witnesses:
        out.print(
            f"  quorum  {root.quorum} of {counted(len(root.witnesses), 'witness', 'witnesses')}"
        )
    for c in root.chains:
        out.print(f"  chain   {c.chain}  {c.contract}")


@app.command("remove")
def remove(
    what: str = typer.Argument(
        ..., help="A key ID, origin, witness name or verifier key; a contract or CAIP-2 chain."
    ),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Stop trusting every log, witness or chain that WHAT names."""

    def action() -> None:
        path = _file(home)
        updated, removed = load_trust_file(path).without(what)
        if not removed:
            if _own(home).without(what)[1]:
                raise InvalidInput(
                    f"{what!r} names this home's own log or its configuration, which is "
                    "trusted by default and is not in trust.json"
                )
            raise NotFound(
                f"{path} lists nothing named {what!r}", hint="See `copyseal trust list`."
            )
        line = "\n".join(f"no longer trusting {r}" for r in removed)
        _save(path, updated, as_json, {"removed": removed}, line)

    run(as_json, action)


@app.command("import")
def import_root(
    source: str = typer.Argument(
        ..., help="A copyseal service's address (its /.well-known/copyseal/trust.json), or a file."
    ),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Add what another trust root lists to this one, and print exactly what was added."""

    def action() -> None:
        imported, origin = _load_source(source)
        path = _file(home)
        before = load_trust_file(path)
        after = before.merge(imported)
        added = _added(before, after)
        line = _import_lines(origin, added, before.quorum, after.quorum)
        data = {"source": origin, "added": added, "quorum": after.quorum, "warning": IMPORT_WARNING}
        _save(path, after, as_json, data, line)

    run(as_json, action)


def _load_source(source: str) -> tuple[TrustRoot, str]:
    if source.startswith(("http://", "https://")):
        from copyseal.adapters.trust_client import fetch_trust_root

        root, url = fetch_trust_root(source)
        host = urlsplit(url).hostname or ""
        if url.startswith("http://") and host not in ("127.0.0.1", "localhost", "::1"):
            err.print(
                f"[yellow]warning:[/] {url} came over plain HTTP: anyone on the way could "
                "have changed it"
            )
        return root, url
    return TrustRoot.from_json(read_file(Path(source))), source


def _added(before: TrustRoot, after: TrustRoot) -> dict[str, list[dict[str, Any]]]:
    return {
        "logs": [
            {"origin": log.verifier.name, "key_id": log.verifier.key_id.hex(), "vkey": log.vkey}
            for log in after.logs
            if log.verifier not in {old.verifier for old in before.logs}
        ],
        "witnesses": [
            {"name": w.name, "key_id": w.key_id.hex(), "vkey": w.to_vkey()}
            for w in after.witnesses
            if w not in before.witnesses
        ],
        "chains": [c.to_dict() for c in after.chains if c not in before.chains],
    }


def _import_lines(source: str, added: dict[str, list[dict[str, Any]]], old: int, new: int) -> str:
    lines = [f"from {source}:"]
    lines += [f"  added log     {a['key_id']}  {a['origin']}" for a in added["logs"]]
    lines += [f"  added witness {a['key_id']}  {a['name']}" for a in added["witnesses"]]
    lines += [f"  added chain   {a['chain']}  {a['contract']}" for a in added["chains"]]
    if new != old:
        lines.append(f"  witness quorum {old} → {new}")
    if len(lines) == 1:
        lines.append("  nothing new: this home trusts all of it already")
    return "\n".join([*lines, "", IMPORT_WARNING])
