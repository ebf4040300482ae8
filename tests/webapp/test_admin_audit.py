"""The account audit page (/admin/audit): logins, logouts and account changes made through
the web app, visible to administrators only."""
from __future__ import annotations

import re

from tests.webapp.conftest import USERS, Browser, as_user, csrf_of
from webapp.throttle import USERNAME_POLICY


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-event="([a-z_]+)"', html)


def test_the_audit_page_is_404_for_everyone_but_an_administrator(app):
    for who in ("bank_a", "cga", "council"):
        b = as_user(app, who)
        r = b.client.get("/admin/audit", follow_redirects=False)
        assert r.status_code == 404
        assert "/admin/audit" not in b.client.get("/kpis").text  # not in their navigation
    anonymous = Browser(type(as_user(app, "bank_a").client)(app))
    assert anonymous.client.get("/admin/audit", follow_redirects=False).status_code == 303


def test_logins_logouts_and_account_changes_through_the_app_are_listed(app, seeded):
    admin = as_user(app, "admin")
    # a failed login, a throttled one, a successful one and a logout by a reviewer
    reviewer = Browser(type(admin.client)(app))
    assert reviewer.login(USERS["bank_b"], "wrong-password-9").status_code == 401
    token = csrf_of(reviewer.client.get("/login").text)
    for _ in range(USERNAME_POLICY.free):
        reviewer.client.post("/login", data={"username": "mallory", "password": "guess-123456", "csrf_token": token})
    assert reviewer.client.post("/login", data={"username": "mallory", "password": "guess-123456",
                                                "csrf_token": token}).status_code == 429
    assert reviewer.login(USERS["bank_b"]).status_code == 303
    reviewer.client.post("/logout", data={"csrf_token": reviewer.csrf()})
    # the administrator creates a user, changes its role, disables it
    r = admin.post("/admin/users", {"username": "temp.reviewer", "display_name": "", "role": "bank_reviewer",
                                    "institution_id": "bank_0116", "password": "long-enough-1",
                                    "password_confirm": "long-enough-1"}, token_from="/admin/users")
    assert r.status_code == 303
    r = admin.post("/admin/users/temp.reviewer/role", {"role": "cga_analyst", "institution_id": "cga_13"},
                   token_from="/admin/users")
    assert r.status_code == 303
    page = admin.client.get("/admin/users").text
    assert "temp.reviewer" in page and 'data-action="change-role"' in page
    r = admin.post("/admin/users/temp.reviewer/disable", {}, token_from="/admin/users")
    assert r.status_code == 303
    html = admin.client.get("/admin/audit").text
    events = _rows(html)
    for event in ("login_failed", "login_throttled", "login_succeeded", "logout", "user_created", "role_changed",
                  "user_disabled"):
        assert event in events, (event, events)
    assert events.index("user_disabled") < events.index("role_changed") < events.index("user_created")  # newest first
    assert events.count("login_throttled") == 1  # one row per lock, not per refused attempt
    assert "bank_reviewer (bank_0116) → cga_analyst (cga_13)" in html
    assert "testclient" in html  # the client address
    assert "アカウント監査ログ" in html and "Account audit log" in admin.client.get("/admin/audit?lang=en").text


def test_a_role_change_refused_by_the_store_shows_its_reason(app):
    admin = as_user(app, "admin")
    r = admin.post(f"/admin/users/{USERS['bank_a']}/role", {"role": "cga_analyst", "institution_id": "bank_0116"},
                   token_from="/admin/users")
    assert r.status_code == 400 and "cga" in r.text
    r = admin.post("/admin/users/admin/role", {"role": "bank_reviewer", "institution_id": "bank_0116"},
                   token_from="/admin/users")
    assert r.status_code == 400
    assert as_user(app, "bank_a").client.get("/cases", follow_redirects=False).status_code == 200
