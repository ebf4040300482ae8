"""The review web app: FastAPI routes over the referral queue, rendered with Jinja2.

`create_app(settings)` builds the app (one QueueStore at `settings.queue_url`); `serve`
runs it with uvicorn. Every page acts as the logged-in user: the store scopes every read
and write by that user's role and institution, so the app never filters on its own — a
case outside the user's scope is `NotFound` there and 404 here, like a case that does not
exist. Routes and their rules: docs/webapp.md.

This module only assembles the app. The routes are routers of their own modules:
routes_auth (login, logout), routes_account (the user's own password), routes_cases
(worklist, case page, moves), watchlist (the waiting page), routes_council (council intake),
routes_kpis, routes_exports, routes_admin (users, audit log), routes_inbox (the inbox) and routes_documents (document requests between lenders). What they share — the store, settings, templates and login
limits — is a `WebContext` on `app.state.web`, handed to them by the dependencies of
webapp/context.py; error pages are webapp/errors.py.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from signals.phases import PHASES
from signals.queue.lifecycle import Role, State
from signals.queue.store import QueueStore
from webapp import (
    routes_account,
    routes_admin,
    routes_auth,
    routes_cases,
    routes_council,
    routes_documents,
    routes_exports,
    routes_inbox,
    routes_kpis,
    routes_stages,
)
from webapp import watchlist as watchlist_views
from webapp.context import WebContext
from webapp.errors import EXCEPTION_HANDLERS
from webapp.i18n import LANGS
from webapp.notes import audit_note
from webapp.security import (
    LOOPBACK,
    InsecureSecret,
    SecurityHeadersMiddleware,
    SessionMiddleware,
    csrf_protect,
    session_secret,
)
from webapp.throttle import LoginThrottle

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
# Password checks running at once (each scrypt takes a core for ~0.15 s and 16 MiB); more
# logins wait for a slot without holding a worker thread or a database connection.
LOGIN_CONCURRENCY = 2
# Included in this order, which is the order their routes are matched in; no two routes share
# a path and method, so the order decides nothing today.
ROUTERS = (routes_auth.router, routes_account.router, routes_cases.router, watchlist_views.router, routes_council.router,
           routes_kpis.router, routes_exports.router, routes_admin.router, routes_inbox.router, routes_documents.router,
           routes_stages.router)


def healthz() -> PlainTextResponse:
    return PlainTextResponse("ok")


def create_app(settings: Any, *, store: QueueStore | None = None, insecure_demo_secret: bool = False) -> FastAPI:
    """The web app over the queue at `settings.queue_url`, its sessions signed with
    `settings.queue.secret_key` (`security.session_secret`: refused when missing, short or the
    old built-in default, unless `insecure_demo_secret` gives a throwaway demo a random key).
    `store`: an open store to use instead (tests); the app closes only a store it opened itself."""
    secret = session_secret(settings.queue.secret_key, insecure_demo_secret=insecure_demo_secret)
    if secret != settings.queue.secret_key:
        log.warning("the web app signs sessions with a random key of this process (--insecure-demo-secret): "
                    "for a local demo only; sessions end when it stops")
    own_store = store is None
    queue = store if store is not None else QueueStore.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if own_store:
                queue.close()

    # csrf_protect is app-wide: every included router's routes get it ahead of their own.
    app = FastAPI(title="Yocho review", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(csrf_protect)], exception_handlers=EXCEPTION_HANDLERS)
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(State=State, Role=Role, PHASES=PHASES, LANGS=LANGS, audit_note=audit_note)
    # One throttle and one limiter per app, not per module: each app (each test) starts afresh.
    app.state.web = WebContext(store=queue, settings=settings, templates=templates,
                               login_throttle=LoginThrottle(), login_slots=anyio.CapacityLimiter(LOGIN_CONCURRENCY))
    # The names app.state had before the WebContext, for code and tests that read them.
    app.state.store = queue
    app.state.settings = settings
    app.state.login_throttle = app.state.web.login_throttle
    app.add_middleware(SessionMiddleware, secret_key=secret)
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    for router in ROUTERS:
        app.include_router(router)
    return app


def serve(settings: Any, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info",
          insecure_demo_secret: bool = False) -> None:
    """Run the web app with uvicorn until interrupted (the `yocho serve` command)."""
    import uvicorn

    if insecure_demo_secret and host not in LOOPBACK:
        raise InsecureSecret(f"--insecure-demo-secret serves this machine only (127.0.0.1), not {host}: "
                             "set YOCHO_QUEUE__SECRET_KEY to serve others")
    app = create_app(settings, insecure_demo_secret=insecure_demo_secret)
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=True, server_header=False)
