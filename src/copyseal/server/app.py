"""The HTTP service: ``create_app`` wires the adapters to the use-cases, once, here.

Routes live in ``api_*.py`` (JSON, documented in ``/openapi.json``) and ``web_*.py`` (HTML
pages); they parse, call a use-case and render, nothing more. Every error goes through the
one handler in ``problems.py``. Rate limits are taken per route class (``ratelimit.py``),
body limits are FastAPI's, per app and per route.
"""

from __future__ import annotations

import fcntl
import gc
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import anyio.to_thread
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import copyseal
from copyseal.adapters.chain.settings import chain_section, load_chain_settings
from copyseal.adapters.home import TRUST_FILE, Home, load_trust_file
from copyseal.adapters.sealing import AesGcmSealer, derive_key, load_or_create_secret
from copyseal.adapters.witness_client import request_cosignature
from copyseal.domain.anchors import AnchorStore
from copyseal.domain.log import LogStore
from copyseal.errors import CopysealError, InvalidInput
from copyseal.server import (
    api_account,
    api_log,
    api_register,
    api_works,
    web_account,
    web_docs,
    web_pages,
    web_search,
)
from copyseal.server.batching import RegistrationBatcher
from copyseal.server.bodies import JsonDepthLimit
from copyseal.server.deps import Services, Settings, SimilarityCheck
from copyseal.server.locale import LocaleMiddleware, switch
from copyseal.server.problems import handle_error
from copyseal.server.ratelimit import DEFAULT_RATES, RateLimiter, shares
from copyseal.server.rendering import STATIC
from copyseal.server.timeouts import BodyDeadline
from copyseal.services.accounts import Accounts
from copyseal.services.anchoring import Anchorer, AnchorLoop, AnchorSchedule
from copyseal.services.assembly import assemble
from copyseal.services.registry import Clock
from copyseal.services.submission import Submissions
from copyseal.services.tiles import LogTiles
from copyseal.services.trust import own_trust_root
from copyseal.services.witnessing import Cosigner, CosignLoop, configured_witnesses
from copyseal.services.works import Works

SWITCH_INTERVAL_S = 0.0001
RECURSION_LIMIT = 1000
"""Python's default. py_ecc and py-evm, under web3, raise the limit to 100,000 when they are
imported; with it, a deep enough structure overflows the C stack of a thread and kills the
worker process instead of raising RecursionError."""
THREADS = 128  # registrations block on the group commit; let many wait on one fsync

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
]


class SecurityHeaders:
    """Headers every response carries: no sniffing, no framing, scripts from here only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def now() -> datetime:
    return datetime.now(UTC)


def anchor_loop(home: Home, store: LogStore) -> tuple[AnchorLoop, AnchorStore] | None:
    """The background anchoring, when the home names a CheckpointAnchor contract."""
    section = chain_section(home.config)
    if not (section.get("contract_address") or os.environ.get("COPYSEAL_CHAIN_CONTRACT")):
        return None
    # Imported only by a service that anchors: web3 takes a second to import, and the
    # libraries under it raise the recursion limit (see ``lifespan``).
    from copyseal.adapters.chain.evm import EvmChain

    settings = load_chain_settings(home.path, home.config)
    if not settings.private_key:
        raise InvalidInput(
            "anchoring is configured but no anchoring key was found",
            hint="Set COPYSEAL_CHAIN_KEY or put the key in the home's chain.key (mode 0600).",
        )

    anchors = home.open_anchors()
    anchorer = Anchorer(
        store=store, anchors=anchors, chain=EvmChain(settings), log_key=home.log_signer.verifier
    )
    return AnchorLoop(anchorer, AnchorSchedule.from_config(section)), anchors


def claim_background(home: Path) -> int | None:
    """Of the service's worker processes, the one that holds the home's background lock runs
    the anchoring and cosigning loops; a worker that replaces it takes the lock over.
    Returns the lock's descriptor (held until the process ends), or None if another has it."""
    fd = os.open(home / "background.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def create_app(
    home: Path,
    *,
    settings: Settings | None = None,
    clock: Clock = now,
    random_bytes: Callable[[int], bytes] = os.urandom,
    limiter: RateLimiter | None = None,
    search: SimilarityCheck | None = None,
    with_search: bool = True,
    password_hasher: PasswordHasher | None = None,
) -> FastAPI:
    """The copyseal web service on the home at ``home`` (which must exist)."""
    settings = settings or Settings()
    opened = Home.open(home)
    stores = opened.open_stores(background_checkpoints=True)
    node = assemble(stores, log_signer=opened.log_signer, clock=clock)
    store, registry = stores.log, node.registry
    anchoring = anchor_loop(opened, store)
    witnesses = configured_witnesses(opened.config)
    cosigning = (
        CosignLoop(
            Cosigner(store=store, witnesses=witnesses, request=request_cosignature),
            interval_s=float(opened.config.get("cosign_interval_s", 10.0)),
        )
        if witnesses
        else None
    )
    # Receipts of anchors made by this service or by `copyseal anchor`, served with certificates.
    anchor_receipts = anchoring[1] if anchoring is not None else stores.anchors
    secret = load_or_create_secret(opened.path, random_bytes)
    accounts = Accounts(
        store=stores.accounts,
        sealer=AesGcmSealer(secret, random_bytes),
        clock=clock,
        random_bytes=random_bytes,
        link_key=derive_key(secret, "account-link"),
        log_origin=opened.log_signer.name,
        hasher=password_hasher,
    )
    if search is None and with_search:
        search = node.search
    own_root = own_trust_root(opened, public_url=settings.public_url)
    submissions = Submissions(
        registry=registry,
        accounts=accounts,
        clock=clock,
        random_bytes=random_bytes,
        max_content_bytes=opened.max_content_bytes,
        contents=stores.contents,
    )
    services = Services(
        registry=registry,
        accounts=accounts,
        works=Works(
            registry=registry,
            catalog=stores.catalog,
            follower=node.follower,
            anchors=anchor_receipts,
            contents=stores.contents,
        ),
        submissions=submissions,
        batcher=RegistrationBatcher(submissions),
        tiles=LogTiles(store),
        search=search,
        settings=settings,
        csrf_key=derive_key(secret, "csrf"),
        log_vkey=opened.log_signer.verifier.to_vkey(),
        origin=opened.log_signer.name,
        own_trust_root=own_root,
        trust_root=own_root.merge(load_trust_file(opened.path / TRUST_FILE)),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        # Short GIL turns: a thread woken by a commit should not wait 5 ms behind the loop.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        recursion_limit = sys.getrecursionlimit()
        sys.setrecursionlimit(RECURSION_LIMIT)
        # Everything made so far (modules, the app, the services) lives as long as the
        # process: keep it out of the collector, whose full passes over it stalled every
        # request of the process for 60-100 ms about once a second under load.
        gc.freeze()
        loops = [loop for loop in (anchoring and anchoring[0], cosigning) if loop is not None]
        background = claim_background(opened.path) if loops else None
        if background is None:
            loops = []  # another worker runs them
        for loop in loops:
            loop.start()
        try:
            yield
        finally:
            for loop in reversed(loops):
                loop.stop()
            if background is not None:
                os.close(background)
            if anchor_receipts is not stores.anchors:
                anchor_receipts.close()
            node.close()
            stores.close()
            sys.setrecursionlimit(recursion_limit)

    app = FastAPI(
        title="copyseal",
        version=getattr(copyseal, "__version__", "0.1.0"),
        summary="Copyright registry for micro-content: signed claims in a transparency log.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.limiter = limiter or RateLimiter()
    for error in (CopysealError, HTTPException, RequestValidationError, Exception):
        app.add_exception_handler(error, handle_error)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(LocaleMiddleware)
    app.add_middleware(BodyDeadline, timeout_s=settings.body_timeout_s)
    app.add_middleware(JsonDepthLimit)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (
        api_register.router,
        api_works.reads,
        api_works.writes,
        api_account.auth,
        api_account.mine,
        api_log.api,
        api_log.tiles,
        web_pages.pages,
        web_pages.forms,
        web_account.pages,
        web_account.auth,
        web_account.forms,
        web_search.pages,
        web_search.forms,
        web_docs.pages,
        switch,
    ):
        app.include_router(router)
    return app


def app_from_env() -> FastAPI:
    """The app for ``copyseal serve`` and ``uvicorn --factory``, configured by environment:
    ``COPYSEAL_HOME`` (default ./data), ``COPYSEAL_PUBLIC_URL``, ``COPYSEAL_RATE_LIMIT``
    (``0`` turns the per-client limits off, e.g. for a load test), ``COPYSEAL_WORKERS`` (the
    number of worker processes, each of which enforces its share of the rate limits),
    ``COPYSEAL_BODY_TIMEOUT_S`` (how long a request body may stall, 20 s by default)."""
    home = Path(os.environ.get("COPYSEAL_HOME", "data"))
    settings = Settings(
        public_url=os.environ.get("COPYSEAL_PUBLIC_URL") or None,
        body_timeout_s=float(os.environ.get("COPYSEAL_BODY_TIMEOUT_S", "20")),
    )
    workers = max(1, int(os.environ.get("COPYSEAL_WORKERS", "1")))
    limiter = RateLimiter(
        shares(DEFAULT_RATES, workers), enabled=os.environ.get("COPYSEAL_RATE_LIMIT", "1") != "0"
    )
    return create_app(home, settings=settings, limiter=limiter)
