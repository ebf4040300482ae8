"""User administration, for administrators only (anyone else gets a 404): the list of users
and the form that creates one (`/admin/users`), a user's role and institution
(`/admin/users/{username}/role`), a new password for a user who forgot theirs
(`/admin/users/{username}/password`), the address of a user's daily digest
(`/admin/users/{username}/email`), disabling a user (`/admin/users/{username}/disable`) and
the account audit log (`/admin/audit`). A password an administrator sets, at creation or reset,
must be changed by its user at their next login (signals/queue/auth.py)."""
from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from signals.queue.auth import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    admin_reset_password,
    change_role,
    create_user,
    disable_user,
    list_account_events,
    list_users,
    password_problem,
    pending_password_changes,
)
from signals.queue.contacts import emails, set_email
from signals.queue.lifecycle import Conflict, Forbidden, InvalidInput, Role
from signals.queue.store import QueueStore, User
from webapp.context import admin_user, institution_names, queue_store, render, translator
from webapp.i18n import Translator
from webapp.security import flash

log = logging.getLogger(__name__)

router = APIRouter()

AUDIT_PAGE_SIZE = 100  # rows of the account audit log per page


def users_page(request: Request, queue: QueueStore, admin: User, *, status_code: int = 200,
               error: str | None = None, form: dict[str, str] | None = None) -> HTMLResponse:
    """The user list, with `error` and the refused `form` values when a change failed."""
    accounts = list_users(queue, admin)
    active_admins = sum(1 for u in accounts if u.active and u.role is Role.ADMIN)
    return render(request, "admin_users.html", status_code=status_code, nav="admin", accounts=accounts,
                  active_admins=active_admins, institutions=queue.list_institutions(admin),
                  names=institution_names(queue, admin), roles=list(Role), min_password=MIN_PASSWORD_LENGTH,
                  pending=pending_password_changes(queue, admin), emails=emails(queue, admin), error=error,
                  form=form or {})


@router.get("/admin/users", response_class=HTMLResponse)
def admin_users(request: Request, admin: User = Depends(admin_user),
                queue: QueueStore = Depends(queue_store)) -> Response:
    return users_page(request, queue, admin)


@router.post("/admin/users", response_class=HTMLResponse)
def admin_create_user(request: Request, admin: User = Depends(admin_user), queue: QueueStore = Depends(queue_store),
                      username: str = Form(""), display_name: str = Form(""), role: str = Form(""),
                      institution_id: str = Form(""), password: str = Form(""),
                      password_confirm: str = Form("")) -> Response:
    t = translator(request)
    username, display_name = username.strip()[:128], display_name.strip()[:128]
    form = {"username": username, "display_name": display_name, "role": role[:32],
            "institution_id": institution_id[:64]}
    error = None
    if role not in {r.value for r in Role}:
        error = t("invalid_input")
    elif (problem := password_policy_error(t, password)) is not None:
        error = problem
    elif password != password_confirm:
        error = t("password_mismatch")
    else:
        try:
            created = create_user(queue, admin, username=username, password=password, role=role,
                                  institution_id=institution_id or None, display_name=display_name or None)
        except Conflict:
            error = t("username_taken", username=username)
        except InvalidInput as exc:
            error = f"{t('invalid_input')} ({exc})"
        else:
            log.info("%s created user %s (%s)", admin.username, created.username, created.role.value)
            flash(request, "ok", t("user_created", username=created.username))
            return RedirectResponse("/admin/users", status_code=303)
    return users_page(request, queue, admin, status_code=400, error=error, form=form)


def password_policy_error(t: Translator, password: str) -> str | None:
    """The store's password policy, worded in the page's language (None: the password meets it)."""
    problem = password_problem(password)
    if problem == "too_short":
        return t("password_too_short", n=MIN_PASSWORD_LENGTH)
    if problem == "too_long":
        return t("password_too_long", n=MAX_PASSWORD_LENGTH)
    return None


@router.post("/admin/users/{username}/password", response_class=HTMLResponse)
def admin_reset_user_password(request: Request, username: str, admin: User = Depends(admin_user),
                              queue: QueueStore = Depends(queue_store), password: str = Form(""),
                              password_confirm: str = Form("")) -> Response:
    t = translator(request)
    password, password_confirm = password[:MAX_PASSWORD_LENGTH + 1], password_confirm[:MAX_PASSWORD_LENGTH + 1]
    error = password_policy_error(t, password)
    if error is None and password != password_confirm:
        error = t("password_mismatch")
    if error is not None:
        return users_page(request, queue, admin, status_code=400, error=error)
    try:
        ended = admin_reset_password(queue, admin, username[:128], password)
    except Forbidden as exc:
        return users_page(request, queue, admin, status_code=400, error=f"{t('password_reset_refused')} ({exc})")
    except InvalidInput as exc:
        return users_page(request, queue, admin, status_code=400, error=f"{t('invalid_input')} ({exc})")
    log.info("%s reset the password of %s; %d session(s) ended", admin.username, username, ended)
    flash(request, "ok", t("password_reset_done", username=username[:128], n=ended))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/role", response_class=HTMLResponse)
def admin_change_role(request: Request, username: str, admin: User = Depends(admin_user),
                      queue: QueueStore = Depends(queue_store), role: str = Form(""),
                      institution_id: str = Form("")) -> Response:
    t = translator(request)
    if role not in {r.value for r in Role}:
        return users_page(request, queue, admin, status_code=400, error=t("invalid_input"))
    try:
        changed = change_role(queue, admin, username[:128], role, institution_id[:64] or None)
    except Forbidden as exc:
        return users_page(request, queue, admin, status_code=400, error=f"{t('role_change_refused')} ({exc})")
    except InvalidInput as exc:
        return users_page(request, queue, admin, status_code=400, error=f"{t('invalid_input')} ({exc})")
    log.info("%s gave user %s the role %s", admin.username, changed.username, changed.role.value)
    flash(request, "ok", t("role_changed", username=changed.username, role=t.role(changed.role)))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/email", response_class=HTMLResponse)
def admin_set_email(request: Request, username: str, admin: User = Depends(admin_user),
                    queue: QueueStore = Depends(queue_store), email: str = Form("")) -> Response:
    t = translator(request)
    try:
        address = set_email(queue, admin, username[:128], email[:300])
    except InvalidInput as exc:
        return users_page(request, queue, admin, status_code=400, error=f"{t('invalid_input')} ({exc})")
    log.info("%s set the e-mail address of %s", admin.username, username)
    flash(request, "ok", t("email_saved" if address else "email_cleared", username=username[:128]))
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/audit", response_class=HTMLResponse)
def admin_audit(request: Request, admin: User = Depends(admin_user),
                queue: QueueStore = Depends(queue_store)) -> Response:
    before = request.query_params.get("before", "")
    events = list_account_events(queue, admin, limit=AUDIT_PAGE_SIZE + 1,
                                 before_id=int(before) if before.isdigit() and len(before) < 12 else None)
    more = len(events) > AUDIT_PAGE_SIZE
    events = events[:AUDIT_PAGE_SIZE]
    return render(request, "admin_audit.html", nav="audit", events=events,
                  older=f"/admin/audit?before={events[-1].id}" if more else None)


@router.post("/admin/users/{username}/disable", response_class=HTMLResponse)
def admin_disable_user(request: Request, username: str, admin: User = Depends(admin_user),
                       queue: QueueStore = Depends(queue_store)) -> Response:
    t = translator(request)
    try:
        disabled = disable_user(queue, admin, username[:128])
    except Forbidden as exc:
        return users_page(request, queue, admin, status_code=400, error=f"{t('disable_refused')} ({exc})")
    except InvalidInput as exc:
        return users_page(request, queue, admin, status_code=400, error=f"{t('invalid_input')} ({exc})")
    log.info("%s disabled user %s", admin.username, disabled.username)
    flash(request, "ok", t("user_disabled", username=disabled.username))
    return RedirectResponse("/admin/users", status_code=303)
