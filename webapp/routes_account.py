"""The user's own account: the password page (`/account/password`), where every logged-in
user changes their password, and where a user whose password an administrator or the
operator set is sent until they have chosen their own (webapp/context.py, `current_user`).

The current password is checked like a login: counted by the app's login throttle against the
username and the client address before its hash runs, and at most `WebContext.login_slots`
checks at once. The new one must meet the store's policy (`signals.queue.auth.password_problem`),
be typed twice the same, and differ from the current one; each refusal is worded in the page's
language. A change ends the user's other sessions and keeps this one (`change_password`).
"""
from __future__ import annotations

import logging

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from signals.queue.auth import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, change_password, password_problem
from signals.queue.lifecycle import Conflict, Forbidden, InvalidInput
from signals.queue.store import User
from webapp.context import PASSWORD_PAGE, WebContext, account_user, home_for, render, translator, web_context
from webapp.security import flash, safe_next

log = logging.getLogger(__name__)

router = APIRouter()


def password_page(request: Request, *, status_code: int = 200, error: str | None = None,
                  next_page: str = "") -> HTMLResponse:
    return render(request, "account_password.html", status_code=status_code, nav="account", error=error,
                  next=next_page, min_password=MIN_PASSWORD_LENGTH, max_password=MAX_PASSWORD_LENGTH)


@router.get(PASSWORD_PAGE, response_class=HTMLResponse)
def password_form(request: Request, user: User = Depends(account_user)) -> Response:
    return password_page(request, next_page=safe_next(request.query_params.get("next"), ""))


@router.post(PASSWORD_PAGE, response_class=HTMLResponse)
async def password_change(request: Request, user: User = Depends(account_user),
                          web: WebContext = Depends(web_context), current_password: str = Form(""),
                          new_password: str = Form(""), new_password_confirm: str = Form(""),
                          next: str = Form("")) -> Response:  # noqa: A002 - the form field's name
    t = translator(request)
    next_page = safe_next(next, "")
    # Read one character past the limit, so that a longer password is refused, not cut.
    current, new, again = (v[:MAX_PASSWORD_LENGTH + 1] for v in (current_password, new_password, new_password_confirm))
    problem = password_problem(new)
    error = None
    if not current:
        error = t("current_password_missing")
    elif problem == "too_short":
        error = t("password_too_short", n=MIN_PASSWORD_LENGTH)
    elif problem == "too_long":
        error = t("password_too_long", n=MAX_PASSWORD_LENGTH)
    elif new != again:
        error = t("password_mismatch")
    elif new == current:
        error = t("password_unchanged")
    if error is not None:  # refused before any hash runs: not counted against the user
        return password_page(request, status_code=400, error=error, next_page=next_page)

    address = request.client.host if request.client else None
    verdict = web.login_throttle.attempt(user.username, address)
    if not verdict.allowed:
        response = password_page(request, status_code=429, error=t("login_throttled", seconds=verdict.retry_after),
                                 next_page=next_page)
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response
    sid = request.session.get("sid")
    try:
        ended = await anyio.to_thread.run_sync(
            lambda: change_password(web.store, user, current, new, keep_session=sid if isinstance(sid, str) else None),
            limiter=web.login_slots)
    except Forbidden:
        log.info("wrong current password on the password page for %r from %s", user.username, address)
        return password_page(request, status_code=400, error=t("current_password_wrong"), next_page=next_page)
    except (InvalidInput, Conflict) as exc:
        return password_page(request, status_code=400, error=f"{t('invalid_input')} ({exc})", next_page=next_page)
    web.login_throttle.succeeded(user.username, address)
    request.state.must_change_password = False
    log.info("%s changed their password; %d other session(s) ended", user.username, ended)
    flash(request, "ok", t("password_changed_done", n=ended))
    target = next_page if next_page and not next_page.startswith(PASSWORD_PAGE) else home_for(user)
    return RedirectResponse(target, status_code=303)
