"""Sessions, CSRF tokens and security headers of the web app.

Session: a cookie (`yocho_session`) holding a small JSON document — user id and username,
login time, the CSRF token, one-shot flash messages — signed with `QueueSettings.secret_key`
(itsdangerous, HMAC-SHA1 over the value and a timestamp). It is HttpOnly, SameSite=Lax,
Path=/, and Secure whenever the request came over HTTPS. A session ends after `IDLE_SECONDS`
without a request and `ABSOLUTE_SECONDS` after login, whichever comes first. It also carries
the token of a server-side session (`sid`, see `signals.queue.auth.open_session`) that the
app looks up with the user on every request: logout revokes it, disabling the user revokes
all of theirs, so a copied cookie stops working at once.

CSRF: every session carries a random token (`secrets.token_urlsafe`). Every form that POSTs
renders it as the hidden field `csrf_token`; `csrf_protect` (an app-wide dependency) rejects
any unsafe request whose token is missing or differs, with 403. The token is replaced at
login, so a token seen before login is useless after it.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import time
from typing import Any

from itsdangerous import BadSignature, TimestampSigner
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "yocho_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
IDLE_SECONDS = 8 * 3600  # a working day without a request
ABSOLUTE_SECONDS = 12 * 3600  # from login, whatever the activity
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The default this setting once had: it is in the code, so anyone could sign a session with it.
# Refused like an empty one (`session_secret`).
DEMO_SECRET = "yocho-demo-secret-change-me"
MIN_SECRET_CHARS = 32
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class InsecureSecret(Exception):
    """The web app was asked to start without a secret it can trust."""


def session_secret(configured: str | None, *, insecure_demo_secret: bool = False) -> str:
    """The key sessions are signed with: the configured `queue.secret_key` when it is one
    nobody else knows (set, not the old built-in default, at least MIN_SECRET_CHARS long).
    With `insecure_demo_secret` (a throwaway local demo) and no secret configured, a random key
    for this process only: sessions end when it stops. Otherwise InsecureSecret, saying how
    to set one. A secret is never a default."""
    configured = (configured or "").strip()
    if configured and configured != DEMO_SECRET and len(configured) >= MIN_SECRET_CHARS:
        return configured
    if insecure_demo_secret and not configured:
        return secrets.token_urlsafe(48)
    if configured == DEMO_SECRET:
        problem = "queue.secret_key is the old built-in demo value, which anyone can read in the code"
    elif configured:
        problem = f"queue.secret_key is shorter than {MIN_SECRET_CHARS} characters"
    else:
        problem = "no queue.secret_key is set"
    raise InsecureSecret(
        f"the web app will not start: {problem}, so session cookies could be forged. Set one, e.g. "
        "export YOCHO_QUEUE__SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')\" "
        "(the same value for every web process of the deployment, kept out of the repository), "
        "or, for a throwaway demo on this machine only, start it with --insecure-demo-secret.")


class CsrfError(Exception):
    """A state-changing request without the session's CSRF token."""


class SessionMiddleware:
    """Signed cookie sessions as `request.session` (a dict), like Starlette's, plus Secure
    on HTTPS and an absolute lifetime."""

    def __init__(self, app: ASGIApp, secret_key: str, *, cookie: str = SESSION_COOKIE,
                 idle_seconds: int = IDLE_SECONDS, absolute_seconds: int = ABSOLUTE_SECONDS) -> None:
        if not secret_key:
            raise ValueError("the session secret key is empty (set YOCHO_QUEUE__SECRET_KEY)")
        self.app = app
        self.signer = TimestampSigner(secret_key, salt="yocho.webapp.session")
        self.cookie = cookie
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds

    def load(self, raw: str | None) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            data = json.loads(base64.urlsafe_b64decode(self.signer.unsign(raw.encode("ascii"),
                                                                         max_age=self.idle_seconds)))
        except (BadSignature, ValueError, UnicodeError, binascii.Error):
            return {}
        if not isinstance(data, dict):
            return {}
        login_at = data.get("login_at")
        if isinstance(login_at, (int, float)) and time.time() - login_at > self.absolute_seconds:
            return {}
        return data

    def dump(self, session: dict[str, Any]) -> str:
        payload = base64.urlsafe_b64encode(json.dumps(session, separators=(",", ":")).encode("utf-8"))
        return self.signer.sign(payload).decode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        had_cookie = self.cookie in connection.cookies
        scope["session"] = self.load(connection.cookies.get(self.cookie))
        secure = scope.get("scheme") in ("https", "wss")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                session = scope["session"]
                attrs = f"Path=/; HttpOnly; SameSite=Lax{'; Secure' if secure else ''}"
                if session:
                    headers.append("Set-Cookie",
                                   f"{self.cookie}={self.dump(session)}; Max-Age={self.idle_seconds}; {attrs}")
                elif had_cookie:
                    headers.append("Set-Cookie",
                                   f"{self.cookie}=null; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; {attrs}")
            await send(message)

        await self.app(scope, receive, send_wrapper)


class SecurityHeadersMiddleware:
    """Headers every response gets: no framing, no sniffing, no caching of personal data,
    and a content-security policy that allows only this site's own styles (no scripts)."""

    HEADERS = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                    "script-src 'none'; form-action 'self'; frame-ancestors 'none'; "
                                    "base-uri 'none'"),
        "Cross-Origin-Opener-Policy": "same-origin",
    }

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope.get("path", "").startswith("/static/")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.HEADERS.items():
                    headers.setdefault(name, value)
                if not is_static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_wrapper)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def rotate_csrf(request: Request) -> str:
    token = secrets.token_urlsafe(32)
    request.session["csrf"] = token
    return token


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: an unsafe request must carry the session's token in the form
    field `csrf_token` (or the X-CSRF-Token header)."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    supplied: Any = request.headers.get(CSRF_HEADER)
    if supplied is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            supplied = (await request.form()).get(CSRF_FIELD)
    if not (isinstance(expected, str) and isinstance(supplied, str) and expected
            and hmac.compare_digest(expected.encode(), supplied.encode())):
        raise CsrfError()


def safe_next(value: str | None, default: str = "/") -> str:
    """A redirect target from a form or query: only a path on this site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(ch) < 32 for ch in value):
        return default
    return value


def flash(request: Request, kind: str, message: str) -> None:
    """A message shown once on the next page (kind: ok | error | info)."""
    messages = list(request.session.get("flash", []))
    messages.append([kind, message[:500]])
    request.session["flash"] = messages[-5:]


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    messages = request.session.pop("flash", [])
    return [(str(k), str(m)) for k, m in messages] if isinstance(messages, list) else []
