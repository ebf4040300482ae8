"""The app's exception handlers (`EXCEPTION_HANDLERS`, given to FastAPI by `create_app`): no
session redirects to the login page, a password someone else set to the password page; a
failed CSRF check, a case outside the user's scope, a refused action or bad input becomes an
error page in the user's language."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from signals.queue.lifecycle import Forbidden, NotFound, QueueError
from webapp.context import PASSWORD_PAGE, LoginRequired, PasswordChangeRequired, error_page, translator
from webapp.security import CsrfError


async def _login_required(request: Request, _exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or target == "/":
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def _password_change(request: Request, _exc: Exception) -> Response:
    # A page asked for comes back after the change; a form sent meanwhile is dropped.
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or target == "/":
        return RedirectResponse(PASSWORD_PAGE, status_code=303)
    return RedirectResponse(f"{PASSWORD_PAGE}?next={quote(target, safe='')}", status_code=303)


async def _csrf(request: Request, _exc: Exception) -> Response:
    return error_page(request, 403, "forbidden_title", translator(request)("csrf_failed"))


async def _not_found(request: Request, _exc: Exception) -> Response:
    # A case outside the user's scope is NotFound in the store: the same 404 as no case at all.
    return error_page(request, 404, "not_found_title", translator(request)("not_found_text"))


async def _forbidden(request: Request, _exc: Exception) -> Response:
    return error_page(request, 403, "forbidden_title", translator(request)("forbidden_text"))


async def _queue_error(request: Request, exc: Exception) -> Response:
    t = translator(request)
    return error_page(request, 400, "bad_request_title", f"{t('invalid_input')} ({exc})")


async def _validation(request: Request, _exc: Exception) -> Response:
    return error_page(request, 400, "bad_request_title", translator(request)("invalid_input"))


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    t = translator(request)
    if exc.status_code == 404:
        return error_page(request, 404, "not_found_title", t("page_not_found_text"))
    return error_page(request, exc.status_code, "error_title", str(exc.detail))


# Starlette picks the handler of the most specific class in the exception's MRO, so NotFound
# and Forbidden win over their base QueueError whatever the order here.
EXCEPTION_HANDLERS: dict[type[Exception], Callable[[Request, Any], Awaitable[Response]]] = {
    LoginRequired: _login_required,
    PasswordChangeRequired: _password_change,
    CsrfError: _csrf,
    NotFound: _not_found,
    Forbidden: _forbidden,
    QueueError: _queue_error,
    RequestValidationError: _validation,
    StarletteHTTPException: _http,
}
