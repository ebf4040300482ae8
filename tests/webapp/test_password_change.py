"""The password page (`/account/password`) through FastAPI's TestClient: every logged-in user
reaches it from the header; a user whose password an administrator reset is held there —
every other page and form sends them back, logout still works — until they choose their own;
the policy's refusals are worded in Japanese (and English); the change ends the user's other
sessions, keeps this one, and is in the account audit log."""
from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from signals.queue import State, list_account_events
from signals.queue.schema import users
from tests.webapp.conftest import USERS, Browser, Seeded, as_user, password
from webapp.i18n import translate
from webapp.throttle import USERNAME_POLICY

RESET = "reset-by-the-admin-1"
OWN = "the reviewer's own 2"
PAGES = ("/cases", "/cases?state=all", "/waiting", "/council", "/kpis", "/exports", "/exports/worklist.csv",
         "/admin/users")


def change(b: Browser, current: str, new: str, again: str | None = None, **extra: str) -> Any:
    return b.post("/account/password", {"current_password": current, "new_password": new,
                                        "new_password_confirm": new if again is None else again, **extra},
                  token_from="/account/password")


def flagged(seeded: Seeded, who: str) -> bool:
    with seeded.store.engine.connect() as conn:
        return bool(conn.execute(select(users.c.must_change_password).where(users.c.username == USERS[who]))
                    .scalar_one())


def admin_resets(app: Any, who: str, sessions: int = 0) -> None:
    admin = as_user(app, "admin")
    r = admin.post(f"/admin/users/{USERS[who]}/password", {"password": RESET, "password_confirm": RESET},
                   token_from="/admin/users")
    assert r.status_code == 303 and r.headers["location"] == "/admin/users"
    page = admin.client.get("/admin/users").text
    assert translate("ja", "password_reset_done", username=USERS[who], n=sessions) in page
    assert page.count('data-testid="password-pending"') == 1  # the list says whose change is pending


@pytest.mark.parametrize("who", list(USERS))
def test_every_logged_in_user_reaches_the_password_page_from_the_header(app: Any, who: str) -> None:
    b = as_user(app, who)
    home = b.client.get("/")
    assert 'href="/account/password"' in home.text and translate("ja", "nav_password") in home.text
    for lang in ("ja", "en"):
        page = b.client.get(f"/account/password?lang={lang}")
        assert page.status_code == 200
        for key in ("password_page_title", "password_page_lead", "current_password", "new_password",
                    "new_password_confirm", "password_change_button"):
            assert translate(lang, key) in page.text
        assert translate(lang, "password_change_required") not in page.text  # nobody forced them
        assert 'name="csrf_token"' in page.text
    assert TestClient(app).get("/account/password", follow_redirects=False).headers["location"].startswith(
        "/login?next=")


def test_a_reset_password_holds_the_user_on_the_password_page_until_they_choose_their_own(app: Any,
                                                                                         seeded: Seeded) -> None:
    before = as_user(app, "bank_a")  # a session from before the reset
    admin_resets(app, "bank_a", sessions=1)
    assert flagged(seeded, "bank_a")
    assert before.client.get("/cases", follow_redirects=False).headers["location"].startswith("/login")  # ended

    reviewer, other = Browser(TestClient(app)), Browser(TestClient(app))
    assert reviewer.login(USERS["bank_a"], password(USERS["bank_a"])).status_code == 401  # the old one is gone
    login = reviewer.login(USERS["bank_a"], RESET)
    assert login.status_code == 303 and login.headers["location"] == "/cases"
    assert other.login(USERS["bank_a"], RESET).status_code == 303  # a second device, also held
    for path in PAGES + (f"/cases/{seeded.case_ids['A1']}",):
        r = reviewer.client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/account/password?next="), (path, r.headers["location"])
    assert reviewer.client.get("/", follow_redirects=False).headers["location"] == "/cases"  # and from there, here
    page = reviewer.client.get("/account/password?next=%2Fkpis")
    assert translate("ja", "password_change_required") in page.text
    assert 'class="mainnav"' not in page.text  # no way out but the form and logout
    assert 'name="next" value="/kpis"' in page.text
    # a form sent meanwhile is not carried out
    case = seeded.store.get_case(seeded.users["bank_a"], seeded.case_ids["A1"])
    moved = reviewer.post(f"/cases/{case.id}/transition", {"to_state": "under_review", "version": case.version},
                          token_from="/account/password")
    assert moved.status_code == 303 and moved.headers["location"] == "/account/password"
    assert seeded.store.get_case(seeded.users["bank_a"], case.id).state is State.NEW

    # the policy, in Japanese, each refusal leaving everything as it was
    for new, again, current, key, values in (
            ("short", None, RESET, "password_too_short", {"n": 10}),
            (OWN, OWN + "x", RESET, "password_mismatch", {}),
            (RESET, None, RESET, "password_unchanged", {}),
            (OWN, None, "not the password", "current_password_wrong", {}),
            (OWN, None, "", "current_password_missing", {}),
            ("p" * 1025, None, RESET, "password_too_long", {"n": 1024})):
        r = change(reviewer, current, new, again, next="/kpis")
        assert r.status_code == 400, key
        assert translate("ja", key, **values) in r.text, key
        assert 'name="next" value="/kpis"' in r.text
    english = reviewer.client.post("/account/password?lang=en", data={
        "current_password": RESET, "new_password": "short", "new_password_confirm": "short",
        "csrf_token": reviewer.csrf("/account/password")})
    assert translate("en", "password_too_short", n=10) in english.text
    reviewer.client.get("/account/password?lang=ja")  # back to Japanese (the language is a cookie)
    assert flagged(seeded, "bank_a")
    assert reviewer.client.get("/cases", follow_redirects=False).status_code == 303

    done = change(reviewer, RESET, OWN, next="/kpis")
    assert done.status_code == 303 and done.headers["location"] == "/kpis"
    kpis = reviewer.client.get("/kpis?lang=ja")
    assert kpis.status_code == 200 and translate("ja", "password_changed_done", n=1) in kpis.text
    for path in PAGES[:-1]:
        assert reviewer.client.get(path, follow_redirects=False).status_code == 200, path
    assert not flagged(seeded, "bank_a")
    r = other.client.get("/cases", follow_redirects=False)  # the other device's session ended
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert Browser(TestClient(app)).login(USERS["bank_a"], RESET).status_code == 401  # the reset one is gone
    fresh = Browser(TestClient(app))
    assert fresh.login(USERS["bank_a"], OWN).status_code == 303
    assert fresh.client.get("/cases", follow_redirects=False).status_code == 200  # no detour any more
    events = [(e.event, e.actor, e.subject, e.detail) for e in list_account_events(seeded.store, seeded.users["admin"])]
    assert ("password_changed", USERS["bank_a"], USERS["bank_a"],
            "changed by the user; 1 other session(s) revoked; this session kept") in events
    assert ("password_changed", "admin", USERS["bank_a"],
            "reset by an administrator; 1 session(s) revoked; must change it at the next login") in events


def test_logout_works_while_the_change_is_pending(app: Any, seeded: Seeded) -> None:
    admin_resets(app, "cga")
    b = Browser(TestClient(app))
    assert b.login(USERS["cga"], RESET).status_code == 303
    out = b.client.post("/logout", data={"csrf_token": b.csrf("/account/password")}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login?bye=1"
    assert b.client.get("/account/password", follow_redirects=False).headers["location"].startswith("/login")
    assert flagged(seeded, "cga")


def test_a_voluntary_change_keeps_this_session_and_ends_the_others(app: Any, seeded: Seeded) -> None:
    here, there = as_user(app, "council"), as_user(app, "council")
    assert here.client.get("/council", follow_redirects=False).status_code == 200  # not held: nobody reset it
    done = change(here, password(USERS["council"]), "council's new password")
    assert done.status_code == 303 and done.headers["location"] == "/council"  # the role's home
    assert here.client.get("/council", follow_redirects=False).status_code == 200
    assert there.client.get("/council", follow_redirects=False).headers["location"].startswith("/login")
    assert not flagged(seeded, "council")


def test_the_password_form_needs_its_csrf_token(app: Any, seeded: Seeded) -> None:
    b = as_user(app, "bank_b")
    data = {"current_password": password(USERS["bank_b"]), "new_password": OWN, "new_password_confirm": OWN}
    assert b.client.post("/account/password", data=data, follow_redirects=False).status_code == 403
    other = as_user(app, "bank_b").csrf("/account/password")
    assert b.client.post("/account/password", data={**data, "csrf_token": other},
                         follow_redirects=False).status_code == 403
    assert Browser(TestClient(app)).login(USERS["bank_b"]).status_code == 303  # unchanged


def test_wrong_current_passwords_are_throttled_like_logins(app: Any, seeded: Seeded,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.state.login_throttle, "clock", lambda: 1000.0)
    b = as_user(app, "bank_b")
    codes = [change(b, f"guess number {i}", OWN).status_code for i in range(USERNAME_POLICY.free)]
    assert codes == [400] * USERNAME_POLICY.free
    locked = change(b, password(USERS["bank_b"]), OWN)  # even the right one, while locked
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    assert "ログインの試行が多すぎます" in locked.text
    monkeypatch.setattr(app.state.login_throttle, "clock", lambda: 10.0 ** 9)
    assert change(b, password(USERS["bank_b"]), OWN).status_code == 303


def test_an_administrator_resets_others_not_themselves(app: Any, seeded: Seeded) -> None:
    admin = as_user(app, "admin")
    page = admin.client.get("/admin/users").text
    # everyone but the admin: USERS and 岐阜県's council intake, whom no test logs in as
    assert page.count('data-action="reset-password"') == len(USERS)
    for fields, key in (({"password": "short", "password_confirm": "short"}, "password_too_short"),
                        ({"password": RESET, "password_confirm": RESET + "x"}, "password_mismatch")):
        r = admin.post(f"/admin/users/{USERS['bank_b']}/password", fields, token_from="/admin/users")
        assert r.status_code == 400 and translate("ja", key, n=10) in r.text
    r = admin.post("/admin/users/admin/password", {"password": RESET, "password_confirm": RESET},
                   token_from="/admin/users")
    assert r.status_code == 400 and translate("ja", "password_reset_refused") in r.text
    assert not flagged(seeded, "bank_b") and not flagged(seeded, "admin")
    reviewer = as_user(app, "bank_a")
    assert reviewer.post(f"/admin/users/{USERS['bank_b']}/password", {"password": RESET, "password_confirm": RESET},
                         token_from="/kpis").status_code == 404
