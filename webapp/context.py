"""What every route shares: the app's `WebContext` (store, settings, templates, login limits)
kept on `app.state.web`, the FastAPI dependencies that hand it and the logged-in user to
routes (`web_context`, `queue_store`, `current_user`, `admin_user`, and `account_user` for the
password page), and page rendering (`render`, `error_page`).

Routes live in module-level routers that several apps may include (each test builds its own),
so nothing here is a global of one app: everything is read from `request.app.state`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import anyio
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from signals.queue.auth import session_account
from signals.queue.lifecycle import Role
from signals.queue.store import QueueStore, User
from webapp.formatting import Formatter
from webapp.i18n import DEFAULT_LANG, LANG_COOKIE, LANGS, Translator, normalize_lang
from webapp.security import csrf_token, pop_flashes
from webapp.throttle import LoginThrottle


@dataclass(frozen=True)
class WebContext:
    """One app's shared objects, built by `create_app` and stored on `app.state.web`."""
    store: QueueStore
    settings: Any
    templates: Jinja2Templates
    login_throttle: LoginThrottle
    login_slots: anyio.CapacityLimiter  # password checks running at once (routes_auth.login)


class LoginRequired(Exception):
    """No valid session: the handler redirects to the login page."""


class PasswordChangeRequired(Exception):
    """The user's password was set by someone else and not yet changed: the handler sends
    every page but the password page and logout there."""


PASSWORD_PAGE = "/account/password"


def context_of(request: Request) -> WebContext:
    return request.app.state.web


# The two getters are async so that FastAPI awaits them on the event loop instead of sending
# each to a worker thread: the login route relies on answering a throttled attempt without one.

async def web_context(request: Request) -> WebContext:
    """Dependency: the app's WebContext."""
    return context_of(request)


async def queue_store(request: Request) -> QueueStore:
    """Dependency: the app's queue store."""
    return context_of(request).store


def lang_of(request: Request) -> str:
    return (normalize_lang(request.query_params.get("lang"))
            or normalize_lang(request.cookies.get(LANG_COOKIE)) or DEFAULT_LANG)


def translator(request: Request) -> Translator:
    return Translator(lang_of(request))


# ---------------------------------------------------------------------------- the user

def session_user(request: Request) -> User | None:
    """The user of the request's server-side session (`sid`): None, and the cookie
    cleared, once that session is revoked (logout, a disabled user, a password changed or
    reset) or expired. Also sets `request.state.must_change_password` from the same read."""
    uid, username, sid = request.session.get("uid"), request.session.get("un"), request.session.get("sid")
    if not isinstance(uid, int):
        return None
    account = session_account(context_of(request).store, sid) if isinstance(sid, str) else None
    if account is None or account.user.id != uid or account.user.username != username:
        request.session.clear()
        return None
    request.state.must_change_password = account.must_change_password
    return account.user


def account_user(request: Request) -> User:
    """Dependency: the logged-in user, whether or not they must change their password (the
    password page); without a valid session, LoginRequired. Sync on purpose: it reads the
    database, so FastAPI runs it in a worker thread."""
    user = session_user(request)
    if user is None:
        raise LoginRequired()
    request.state.user = user
    return user


def current_user(request: Request) -> User:
    """Dependency: the logged-in user (and `request.state.user`, which pages show); without a
    valid session, LoginRequired sends the browser to the login page, and while the user's
    password is one someone else set, PasswordChangeRequired sends it to the password page."""
    user = account_user(request)
    if getattr(request.state, "must_change_password", False):
        raise PasswordChangeRequired()
    return user


async def admin_user(user: User = Depends(current_user)) -> User:
    """Dependency: the logged-in administrator; anyone else gets the 404 of a page that is
    not there."""
    if user.role is not Role.ADMIN:
        raise StarletteHTTPException(404)
    return user


def home_for(user: User) -> str:
    if user.role is Role.ADMIN:
        return "/admin/users"
    return "/council" if user.role is Role.COUNCIL_INTAKE else "/cases"


def institution_names(queue: QueueStore, user: User) -> dict[str, str]:
    return {i.id: i.name for i in queue.list_institutions(user)}


# ---------------------------------------------------------------------------- pages

def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The template `name` with what every page uses (translations, formats, the user, the
    CSRF token, flashes, language links, the user's unread inbox items for the header); `?lang=`
    also sets the language cookie."""
    lang = lang_of(request)
    other = {k: v for k, v in request.query_params.items() if k != "lang"}
    lang_urls = {code: request.url.path + "?" + urlencode(other | {"lang": code}) for code in LANGS}
    user = getattr(request.state, "user", None)
    must_change = user is not None and getattr(request.state, "must_change_password", False)
    inbox_unread = None
    documents_open = None
    if user is not None and not must_change:
        from webapp.routes_inbox import unread_badge  # the inbox module imports this one

        inbox_unread = unread_badge(context_of(request).store, user)
        from webapp.routes_documents import documents_badge

        documents_open = documents_badge(context_of(request).store, user)
    response = context_of(request).templates.TemplateResponse(request, name, {
        "t": Translator(lang), "f": Formatter(lang), "lang": lang, "user": user, "csrf": csrf_token(request),
        "must_change_password": must_change, "inbox_unread": inbox_unread,
        "documents_open": documents_open,
        "flashes": pop_flashes(request), "lang_urls": lang_urls, "path": request.url.path, **context,
    }, status_code=status_code)
    chosen = normalize_lang(request.query_params.get("lang"))
    if chosen:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 24 * 3600, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
    return response


def error_page(request: Request, status_code: int, title_key: str, text: str) -> HTMLResponse:
    t = translator(request)
    return render(request, "error.html", status_code=status_code, title=t(title_key), message=text)
