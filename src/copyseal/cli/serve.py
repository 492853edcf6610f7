"""``copyseal serve``: run the HTTP service and web UI with uvicorn.

The CLI and the server are peer interfaces, so this module does not import the server: it
prepares the home and hands uvicorn the app factory by name, with settings in the
environment (the same variables work for ``uvicorn --factory`` in a deployment).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

import typer

from copyseal.adapters.home import Home
from copyseal.cli.common import HomeOption, default_workers, err, home_path, run
from copyseal.errors import InvalidInput

FACTORY = "copyseal.server.app:app_from_env"
TRUSTED_PROXIES_ENV = "COPYSEAL_TRUSTED_PROXIES"


def _ensure_home(path: Path) -> None:
    if (path / "config.json").exists():
        return
    origin = f"copyseal.local/{secrets.token_hex(4)}"
    created = Home.init(path, origin=origin, log_seed=os.urandom(32), creator_seed=os.urandom(32))
    err.print(f"Created home [bold]{path}[/] for log {origin}")
    err.print(f"  log key: {created.log_signer.verifier.to_vkey()}")


def trusted_proxies(options: list[str]) -> list[str]:
    """The proxies whose X-Forwarded-For and X-Forwarded-Proto count: ``--trusted-proxy``
    options, else ``COPYSEAL_TRUSTED_PROXIES`` (comma-separated), as IP networks."""
    given = options or os.environ.get(TRUSTED_PROXIES_ENV, "").split(",")
    networks = []
    for text in (item.strip() for item in given):
        if not text:
            continue
        try:
            networks.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise InvalidInput(
                f"{text!r} is not an IP address or network",
                hint="Name each proxy by address or CIDR, e.g. --trusted-proxy 10.0.0.0/8.",
            ) from None
    return networks


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    home: Path | None = HomeOption,
    public_url: str | None = typer.Option(
        None, "--public-url", help="The site's public address, for QR codes and links."
    ),
    rate_limit: bool = typer.Option(True, help="Per-client rate limits (on by default)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    workers: int = typer.Option(
        default_workers(),
        "--workers",
        min=1,
        help="Worker processes (default: one per CPU, at most 4). They share the store; "
        "their writers take turns.",
    ),
    trusted_proxy: list[str] = typer.Option(
        [],
        "--trusted-proxy",
        help="A reverse proxy (IP or CIDR) whose X-Forwarded-For names the client; repeat "
        f"for several. Default: none, or ${TRUSTED_PROXIES_ENV}.",
    ),
    header_timeout: float = typer.Option(
        10.0, min=0.1, help="Seconds a client has to send a request's headers."
    ),
    body_timeout: float = typer.Option(
        20.0,
        min=0.1,
        help="Seconds a request body may pause; the whole body has that plus 1 s per 4 KiB.",
    ),
    max_connections: int = typer.Option(
        512, min=1, help="Open connections per worker; requests beyond get 503."
    ),
) -> None:
    """Serve the API and web UI (initialises the home on first start)."""

    def action() -> None:
        # uvicorn only when serving: the other commands do not need it.
        import uvicorn

        from copyseal.cli import serving

        proxies = trusted_proxies(trusted_proxy)
        path = home_path(home)
        _ensure_home(path)
        os.environ["COPYSEAL_HOME"] = str(path)
        os.environ["COPYSEAL_RATE_LIMIT"] = "1" if rate_limit else "0"
        os.environ["COPYSEAL_WORKERS"] = str(workers)
        os.environ["COPYSEAL_BODY_TIMEOUT_S"] = str(body_timeout)
        os.environ[serving.HEADER_TIMEOUT_ENV] = str(header_timeout)
        if public_url:
            os.environ["COPYSEAL_PUBLIC_URL"] = public_url
        elif proxies:
            err.print("[yellow]warning:[/] behind a proxy, set --public-url for QR codes and links")
        err.print(f"copyseal on http://{host}:{port} (home {path}, {workers} worker(s))")
        config = uvicorn.Config(
            FACTORY,
            factory=True,
            host=host,
            port=port,
            log_level=log_level,
            http=serving.HeaderDeadlineProtocol,
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies,
            limit_concurrency=max_connections,
            access_log=log_level == "debug",
            workers=workers,
        )
        serving.run(config)

    run(False, action)
