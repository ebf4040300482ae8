"""Logging in and out: the home redirect (`/`), the login page and form (`/login`, throttled
per username and address, at most `WebContext.login_slots` password checks at once) and
`/logout`, which revokes the server-side session."""
from __future__ import annotations

import logging
import time

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from signals.queue.auth import authenticate, open_session, record_account_event, revoke_session
from signals.queue.store import QueueStore, User
from webapp.context import WebContext, home_for, queue_store, render, session_user, translator, web_context
from webapp.security import ABSOLUTE_SECONDS, rotate_csrf, safe_next

log = logging.getLogger(__name__)

router = APIRouter()


@router.get("/", include_in_schema=False)
def index(request: Request) -> Response:
    user = session_user(request)
    return RedirectResponse(home_for(user) if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    user = session_user(request)
    if user is not None:
        return RedirectResponse(safe_next(request.query_params.get("next"), home_for(user)), status_code=303)
    t = translator(request)
    notice = t("logged_out") if request.query_params.get("bye") else (
        t("login_required") if request.query_params.get("next") else None)
    return render(request, "login.html", next=safe_next(request.query_params.get("next"), ""),
                  error=None, notice=notice, username="")


def check_password(queue: QueueStore, username: str, password: str,
                   address: str | None) -> tuple[User | None, str | None]:
    """In a login thread: the user and a new server-side session, or (None, None). The
    store records the attempt in the account audit log."""
    user = authenticate(queue, username, password, address=address)
    if user is None:
        return None, None
    return user, open_session(queue, user, ABSOLUTE_SECONDS)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, web: WebContext = Depends(web_context), username: str = Form(""),
                password: str = Form(""), next: str = Form("")) -> Response:  # noqa: A002 - the form field's name
    # Async on purpose: a refused attempt is answered from the event loop (no thread, no
    # database, no hash), and the password check runs in at most webapp.app.LOGIN_CONCURRENCY
    # threads of its own (web.login_slots), so a login flood never takes the threads other pages need.
    # (web_context is async too, so the dependency takes no thread either.)
    t = translator(request)
    queue = web.store
    username, password = username[:128], password[:1024]
    address = request.client.host if request.client else None
    verdict = web.login_throttle.attempt(username, address)
    if not verdict.allowed:
        if verdict.first_refusal:  # one audit row per lock, not one per refused attempt
            log.warning("login throttled for %r from %s for %d s", username, address, verdict.retry_after)
            await anyio.to_thread.run_sync(lambda: record_account_event(
                queue, "login_throttled", actor_name=username or "anonymous", subject=username or None,
                address=address, detail=f"refused for {verdict.retry_after} s"))
        response = render(request, "login.html", status_code=429, next=safe_next(next, ""),
                          error=t("login_throttled", seconds=verdict.retry_after), notice=None,
                          username=username)
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response
    user, sid = (await anyio.to_thread.run_sync(check_password, queue, username, password, address,
                                                limiter=web.login_slots)
                 if username and password else (None, None))
    if user is None:
        log.info("failed login for %r from %s", username, address)
        return render(request, "login.html", status_code=401, next=safe_next(next, ""),
                      error=t("login_failed"), notice=None, username=username)
    web.login_throttle.succeeded(username, address)
    request.session.clear()  # nothing from before login survives it
    request.session.update({"uid": user.id, "un": user.username, "sid": sid, "login_at": int(time.time())})
    rotate_csrf(request)
    log.info("login %s (%s)", user.username, user.role.value)
    return RedirectResponse(safe_next(next, home_for(user)), status_code=303)


@router.post("/logout")
def logout(request: Request, queue: QueueStore = Depends(queue_store)) -> Response:
    sid = request.session.get("sid")
    user = session_user(request)
    if isinstance(sid, str) and revoke_session(queue, sid):  # a copy of the cookie is worthless from now on
        if user is not None:
            record_account_event(queue, "logout", actor=user, subject=user.username,
                                 address=request.client.host if request.client else None)
    request.session.clear()
    return RedirectResponse("/login?bye=1", status_code=303)
