"""``copyseal serve``: run the HTTP service and web UI with uvicorn.

The CLI and the server are peer interfaces, so this module does not import the server: it
prepares the home and hands uvicorn the app factory by name, with settings in the
environment (the same variables work for ``uvicorn --factory`` in a deployment).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import typer

from copyseal.adapters.home import Home
from copyseal.cli.common import HomeOption, default_workers, err, home_path, run

FACTORY = "copyseal.server.app:app_from_env"


def _ensure_home(path: Path) -> None:
    if (path / "config.json").exists():
        return
    origin = f"copyseal.local/{secrets.token_hex(4)}"
    created = Home.init(path, origin=origin, log_seed=os.urandom(32), creator_seed=os.urandom(32))
    err.print(f"Created home [bold]{path}[/] for log {origin}")
    err.print(f"  log key: {created.log_signer.verifier.to_vkey()}")


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
) -> None:
    """Serve the API and web UI (initialises the home on first start)."""

    def action() -> None:
        import uvicorn  # copyseal[server]: imported when serving, before the home is made

        path = home_path(home)
        _ensure_home(path)
        os.environ["COPYSEAL_HOME"] = str(path)
        os.environ["COPYSEAL_RATE_LIMIT"] = "1" if rate_limit else "0"
        os.environ["COPYSEAL_WORKERS"] = str(workers)
        if public_url:
            os.environ["COPYSEAL_PUBLIC_URL"] = public_url
        err.print(f"copyseal on http://{host}:{port} (home {path}, {workers} worker(s))")
        uvicorn.run(
            FACTORY,
            factory=True,
            host=host,
            port=port,
            log_level=log_level,
            proxy_headers=True,
            access_log=log_level == "debug",
            workers=workers,
        )

    run(False, action)
