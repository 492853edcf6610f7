"""``copyseal``: register works, verify certificates, inspect and audit the log."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

import copyseal
from copyseal import i18n
from copyseal.adapters.home import DEFAULT_KEY, Home
from copyseal.cli import chain as chain_cli
from copyseal.cli import keys as keys_cli
from copyseal.cli import log as log_cli
from copyseal.cli import mirror as mirror_cli
from copyseal.cli import serve as serve_cli
from copyseal.cli import trust as trust_cli
from copyseal.cli import witness as witness_cli
from copyseal.cli import works as works_cli
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
from copyseal.core.certificate import Certificate, VerificationReport
from copyseal.core.note import NoteVerifier
from copyseal.core.trust import TrustRoot
from copyseal.domain.titles import visible_text
from copyseal.domain.wording import counted
from copyseal.errors import (
    InconsistencyError,
    InvalidInput,
    VerificationError,
)
from copyseal.services.audit import audit_log
from copyseal.services.trust import describe_root, home_trust_root, trust_summary, verify_trusted
from copyseal.services.verification import require_ok

app = typer.Typer(
    help="copyseal: register micro-content in a verifiable log and prove it offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(keys_cli.app, name="keys")
app.command("register")(works_cli.register)
app.command("check")(works_cli.check)
app.add_typer(works_cli.index_app, name="index")
app.add_typer(log_cli.app, name="log")
app.command("mirror")(mirror_cli.mirror)
app.add_typer(chain_cli.app, name="chain")
app.add_typer(chain_cli.certificate_app, name="certificate")
app.command("anchor")(chain_cli.anchor)
app.command("serve")(serve_cli.serve)
app.add_typer(witness_cli.app, name="witness")
app.add_typer(trust_cli.app, name="trust")


def _version(show: bool) -> None:
    if show:
        typer.echo(f"copyseal {copyseal.__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """copyseal: register micro-content in a verifiable log and prove it offline."""


@app.command()
def init(
    home: Path | None = HomeOption,
    origin: str | None = typer.Option(None, help="The log's name (checkpoint origin)."),
    as_json: bool = JsonOption,
) -> None:
    """Create a home: the log key, a first creator key and the store."""

    def action() -> None:
        path = home_path(home)
        name = origin or f"copyseal.local/{secrets.token_hex(4)}"
        created = Home.init(path, origin=name, log_seed=os.urandom(32), creator_seed=os.urandom(32))
        info = created.keys.info(DEFAULT_KEY)
        data = {
            "home": str(path),
            "origin": name,
            "log_key": created.log_signer.verifier.to_vkey(),
            "creator": {"name": info.name, "did": info.did},
        }
        emit(
            as_json,
            data,
            lambda: out.print(
                f"Created home [bold]{path}[/]\n"
                f"  creator [bold]{info.name}[/]: {info.did}\n"
                f"  log key:   {data['log_key']}"
            ),
        )

    run(as_json, action)


@app.command()
def verify(
    ctx: typer.Context,
    cert: Path = typer.Argument(..., help="The certificate (JSON)."),
    content: Path | None = typer.Option(None, "--content", help="The registered content."),
    log_key: str | None = typer.Option(
        None, "--log-key", help="Trust this log key for this certificate (instead of the root)."
    ),
    trust: Path | None = typer.Option(
        None, "--trust", help="Use this trust root file instead of the home's."
    ),
    unsafe_trust_certificate_key: bool = typer.Option(
        False,
        "--unsafe-trust-certificate-key",
        help="If no trusted key is known for the certificate's log, check it against the "
        "certificate's own key: this proves nothing about who runs that log.",
    ),
    rpc: str | None = typer.Option(
        None, "--rpc", help="Also check the anchor receipts on the chain at this JSON-RPC URL."
    ),
    confirmations: int | None = typer.Option(
        None, "--confirmations", min=1, help="Blocks an anchor must be deep (with --rpc)."
    ),
    salt: str | None = typer.Option(
        None, "--salt", help="A private registration's salt (hex), with --content."
    ),
    witness: list[str] = typer.Option(
        [], "--witness", help="A witness whose cosignature counts, instead of the root's."
    ),
    quorum: int = typer.Option(
        0, "--quorum", min=0, help="Cosignatures required (default: every --witness)."
    ),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Verify a certificate offline against the trust root (its anchors on chain with --rpc).

    The trust root is the home's own log and its trust.json (`copyseal trust`), or --trust
    FILE; exit 0 only if every check holds for a trusted log, 11 if its log is not trusted."""

    if quorum > len(witness):
        usage_error(ctx, f"--quorum {quorum} needs at least {quorum} --witness keys")
    if log_key and unsafe_trust_certificate_key:
        usage_error(ctx, "--log-key and --unsafe-trust-certificate-key exclude each other")

    def action() -> dict[str, object]:
        root = TrustRoot.from_json(read_file(trust)) if trust else home_trust_root(home_path(home))
        report = verify_trusted(
            Certificate.from_json(read_file(cert)),
            root,
            log_key=NoteVerifier.from_vkey(log_key) if log_key else None,
            unsafe_trust_certificate_key=unsafe_trust_certificate_key,
            content=None if content is None else read_file(content),
            salt=_salt(salt),
            chain_for=None if rpc is None else chain_cli.chain_reader(rpc),
            confirmations=1
            if rpc is None
            else chain_cli.confirmations_setting(confirmations, home),
            witnesses=[NoteVerifier.from_vkey(w) for w in witness] if witness else None,
            quorum=quorum,
        )
        source = "--log-key" if log_key else f"file {trust}" if trust else f"home {home_path(home)}"
        return _report(report, root, source, as_json)

    run(as_json, action)


def _report(
    report: VerificationReport, root: TrustRoot, source: str, as_json: bool
) -> dict[str, object]:
    trusted = next(c for c in report.checks if c.name == "log").status == "ok"
    result = {
        **report.to_dict(),
        "log_trusted": trusted,
        "trust_root": {**trust_summary(root), "source": source},
    }
    if as_json:
        try:
            require_ok(report)
        except VerificationError as exc:
            # One document: the report, and the error that names the failed check.
            emit(True, {**result, **exc.to_dict()}, lambda: None)
            raise typer.Exit(exc.exit_code) from None
        emit(True, result, lambda: None)
        return result
    table = Table(title=f"certificate {report.work_id}")
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold")  # keys and hashes whole, never cut
    style = {"ok": "green", "failed": "bold red", "skipped": "yellow"}
    for c in report.checks:
        table.add_row(c.name, f"[{style[c.status]}]{c.status}[/]", escape(c.detail))
    out.print(table)
    for note in report.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    require_ok(report)
    if not trusted:
        out.print(
            "[bold yellow]verified against the certificate's own, untrusted log key[/]: "
            "nothing shows who runs that log (--unsafe-trust-certificate-key)"
        )
    else:
        out.print("[bold green]verified[/]")
        out.print(f"[dim]{escape(describe_root(root))} ({escape(source)})[/]")
    return result


def _salt(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        return bytes.fromhex(text.strip())
    except ValueError as exc:
        raise InvalidInput("--salt is the hex string from the registration's .salt file") from exc


@app.command()
def show(
    entry_id: str = typer.Argument(
        ..., metavar="ID", help="An entry's ID, as register printed it: 000042-7KQ2."
    ),
    home: Path | None = HomeOption,
    as_json: bool = JsonOption,
) -> None:
    """Show an entry of the log: a work with its lineage, a dispute, or any other claim."""

    def action() -> None:
        from copyseal.services.entries import describe_entry

        with open_registry(home) as (_, node):
            shown = describe_entry(node.registry, entry_id)
        emit(as_json, shown, lambda: out.print(_entry_table(shown)))

    run(as_json, action)


ENVELOPE = ("type", "v", "signer", "owner", "entry_id", "work_id", "understood", "work")
SHOWN_AFTER = ("logged_at", "created", "index", "leaf_hash", "fingerprints", "links_to")


def _entry_table(shown: dict[str, Any]) -> Table:
    """What the log holds, shown as text: never as markup, never a control sequence."""
    from copyseal.services.entries import LINEAGE

    noun = "work" if shown["work"] else "entry"
    table = Table(show_header=False, title=f"{noun} {shown['entry_id']}")
    table.add_column("field", no_wrap=True)
    table.add_column("value", overflow="fold")  # keys and hashes whole, folded, never cut

    def row(name: str, value: Any) -> None:
        table.add_row(name, escape(visible_text(str(value))))

    row("type", f"{shown['type']} v{shown['v']}")
    if not shown["understood"]:
        row("kind", f"not understood: {shown['not_understood']}; carried as logged")
    if shown.get("title") is not None:
        row("title", shown["title"])
    row("owner" if shown["work"] else "signer", shown.get("owner", shown["signer"]))
    for name in SHOWN_AFTER[:4]:
        row(name, shown[name])
    described = {k: v for k, v in shown.items() if k not in (*ENVELOPE, *SHOWN_AFTER)}
    for name, value in described.items():
        if name in (*LINEAGE, "title", "not_understood") or value is None:
            continue
        for key, text in _flat(name, value):
            row(key, text)
    if shown.get("fingerprints"):
        fingerprints = shown["fingerprints"]
        iscc = next((v for k, v in fingerprints.items() if k.startswith("iscc_")), None)
        row("fingerprints", counted(len(fingerprints), "field") + (f", {iscc}" if iscc else ""))
    if shown["work"]:
        lineage = [(n, shown[n]) for n in LINEAGE if shown.get(n)]
        for name, ids in lineage or [("lineage", ["none"])]:
            row(name, ", ".join(ids))
    return table


def _flat(name: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _flat(f"{name}.{k}", v)]
    if isinstance(value, list):
        return [(name, ", ".join(str(v) for v in value))]
    return [(name, str(value))]


@app.command()
def audit(home: Path | None = HomeOption, as_json: bool = JsonOption) -> None:
    """Recompute every hash and check every checkpoint; name the first tampered one."""

    def action() -> None:
        with open_registry(home) as (opened, node):
            registry = node.registry
            report = audit_log(registry.store, opened.log_signer.verifier)
        data = report.to_dict()

        def human() -> None:
            out.print(
                f"{counted(report.entries, 'entry', 'entries')}, "
                f"{counted(report.nodes, 'interior node')}, "
                f"{counted(report.checkpoints, 'checkpoint')}"
            )
            if report.not_understood:
                out.print(
                    f"{counted(report.not_understood, 'entry', 'entries')} of kinds or versions"
                    " this copyseal does not know: carried as they are, their signatures checked"
                )
            for p in report.problems[:20]:
                out.print(f"[bold red]{p['kind']} {p['where']}[/]: {p['detail']}")
            out.print("[bold green]audit clean[/]" if report.ok else "[bold red]tampered[/]")

        emit(as_json, data, human)
        if not report.ok:
            first = report.problems[0]
            raise InconsistencyError(f"{first['kind']} {first['where']}: {first['detail']}")

    run(as_json, action)


def main() -> None:
    i18n.set_locale(i18n.cli_locale())  # COPYSEAL_LANG, else the POSIX locale variables
    app()
