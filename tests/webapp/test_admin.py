"""The administrator's user pages through FastAPI's TestClient: only an admin sees them, a
created bank reviewer can log in, chooses their own password and sees only their bank, bad
input is refused with a message, disabling logs the user out at once, CSRF on every form."""
from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from signals.queue import Role, list_users
from tests.webapp.conftest import BANK_A, BANK_B, CGA, USERS, Browser, Seeded, as_user
from webapp.i18n import role_label, translate

NEW_PASSWORD = "a-long-initial-password"


def new_user(**fields: Any) -> dict[str, Any]:
    return {"username": "reviewer.new", "display_name": "新しい審査担当", "role": "bank_reviewer",
            "institution_id": BANK_B, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD, **fields}


def usernames(seeded: Seeded, active: bool | None = None) -> set[str]:
    return {u.username for u in list_users(seeded.store, seeded.users["admin"]) if active is None or u.active is active}


@pytest.mark.parametrize("who", ["bank_a", "cga", "council"])
def test_non_admins_get_404_on_the_user_pages(app: Any, seeded: Seeded, who: str) -> None:
    b = as_user(app, who)
    assert b.client.get("/admin/users").status_code == 404
    assert translate("ja", "page_not_found_text") in b.client.get("/admin/users").text
    assert translate("ja", "nav_admin_users") not in b.client.get("/kpis").text
    assert b.post("/admin/users", new_user(), token_from="/kpis").status_code == 404
    assert b.post(f"/admin/users/{USERS['bank_b']}/disable", {}, token_from="/kpis").status_code == 404
    assert "reviewer.new" not in usernames(seeded) and USERS["bank_b"] in usernames(seeded, active=True)


def test_user_pages_require_login(client: TestClient) -> None:
    response = client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_admin_lands_on_the_user_page_in_both_languages(app: Any, lang: str) -> None:
    b = as_user(app, "admin")
    assert b.client.get("/", follow_redirects=False).headers["location"] == "/admin/users"
    page = b.client.get(f"/admin/users?lang={lang}")
    assert page.status_code == 200
    for key in ("admin_users_title", "nav_admin_users", "create_user", "disable", "last_admin_note"):
        assert translate(lang, key) in page.text
    assert role_label(lang, Role.CGA_ANALYST) in page.text
    for username in USERS.values():
        assert f'data-username="{username}"' in page.text
    assert "東京信用保証協会" in page.text  # institutions by name, in the table and the select
    assert f'<option value="{CGA}"' in page.text
    # The only admin has no disable button (the store would refuse): one per other active user.
    # (the demo users: USERS and 岐阜県's council intake, whom no test logs in as)
    assert page.text.count('data-action="disable"') == len(USERS)
    assert 'data-username="intake.council_21"' in page.text


def test_admin_creates_a_bank_reviewer_who_logs_in_and_sees_only_their_bank(app: Any, seeded: Seeded) -> None:
    admin = as_user(app, "admin")
    response = admin.post("/admin/users", new_user(), token_from="/admin/users")
    assert response.status_code == 303 and response.headers["location"] == "/admin/users"
    page = admin.client.get("/admin/users").text
    assert translate("ja", "user_created", username="reviewer.new") in page
    assert 'data-username="reviewer.new"' in page and "新しい審査担当" in page
    assert "reviewer.new" in usernames(seeded, active=True)

    reviewer = Browser(TestClient(app))
    login = reviewer.login("reviewer.new", NEW_PASSWORD)
    assert login.status_code == 303 and login.headers["location"] == "/cases"
    # the administrator chose the password: the reviewer chooses their own before anything else
    forced = reviewer.client.get("/cases", follow_redirects=False)
    assert forced.status_code == 303 and forced.headers["location"] == "/account/password?next=%2Fcases"
    changed = reviewer.post("/account/password", {"current_password": NEW_PASSWORD,
                                                  "new_password": "the reviewer's own one",
                                                  "new_password_confirm": "the reviewer's own one"},
                            token_from="/account/password")
    assert changed.status_code == 303 and changed.headers["location"] == "/cases"
    worklist = reviewer.client.get("/cases?state=all").text
    assert "4000020000001" in worklist and "3000020000002" in worklist  # bank B's businesses
    assert "6000010000001" not in worklist and "2000030000001" not in worklist  # not bank A's, not the CGA's
    assert reviewer.client.get(f"/cases/{seeded.case_ids['A1']}").status_code == 404
    assert reviewer.client.get("/admin/users").status_code == 404


@pytest.mark.parametrize(("fields", "key", "values"), [
    ({"username": USERS["bank_a"]}, "username_taken", {"username": USERS["bank_a"]}),
    ({"password": "short", "password_confirm": "short"}, "password_too_short", {"n": 10}),
    ({"password_confirm": NEW_PASSWORD + "x"}, "password_mismatch", {}),
], ids=["duplicate-username", "short-password", "mismatched-confirmation"])
def test_bad_new_users_are_refused_with_a_message(app: Any, seeded: Seeded, fields: dict[str, str], key: str,
                                                   values: dict[str, Any]) -> None:
    admin = as_user(app, "admin")
    before = usernames(seeded)
    response = admin.post("/admin/users", new_user(**fields), token_from="/admin/users")
    assert response.status_code == 400
    assert translate("ja", key, **values) in response.text
    assert 'value="新しい審査担当"' in response.text  # the form keeps what was typed (but not the password)
    assert NEW_PASSWORD not in response.text
    assert usernames(seeded) == before


def test_a_role_in_the_wrong_institution_is_refused(app: Any, seeded: Seeded) -> None:
    admin = as_user(app, "admin")
    response = admin.post("/admin/users", new_user(role="cga_analyst", institution_id=BANK_A),
                          token_from="/admin/users")
    assert response.status_code == 400 and translate("ja", "invalid_input") in response.text
    assert "reviewer.new" not in usernames(seeded)


def test_disabling_a_user_logs_them_out_at_once(app: Any, seeded: Seeded) -> None:
    reviewer = as_user(app, "bank_a")
    assert reviewer.client.get("/cases").status_code == 200
    admin = as_user(app, "admin")
    response = admin.post(f"/admin/users/{USERS['bank_a']}/disable", {}, token_from="/admin/users")
    assert response.status_code == 303 and response.headers["location"] == "/admin/users"
    page = admin.client.get("/admin/users").text
    assert translate("ja", "user_disabled", username=USERS["bank_a"]) in page
    assert USERS["bank_a"] in usernames(seeded, active=False)
    after = reviewer.client.get("/cases", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/login")
    assert Browser(TestClient(app)).login(USERS["bank_a"]).status_code == 401  # and cannot log in again


def test_the_last_admin_cannot_disable_themselves(app: Any, seeded: Seeded) -> None:
    admin = as_user(app, "admin")
    response = admin.post("/admin/users/admin/disable", {}, token_from="/admin/users")
    assert response.status_code == 400
    assert translate("ja", "disable_refused") in response.text
    assert "last active administrator" in response.text  # the store's own message
    assert admin.client.get("/admin/users").status_code == 200  # still an active admin


def test_csrf_is_enforced_on_the_user_forms(app: Any, seeded: Seeded) -> None:
    admin = as_user(app, "admin")
    missing = admin.client.post("/admin/users", data=new_user(), follow_redirects=False)
    assert missing.status_code == 403 and translate("ja", "csrf_failed") in missing.text
    wrong = admin.client.post("/admin/users", data={**new_user(), "csrf_token": "x" * 43}, follow_redirects=False)
    assert wrong.status_code == 403
    other_session = as_user(app, "admin").csrf("/admin/users")
    assert admin.client.post(f"/admin/users/{USERS['bank_a']}/disable", data={"csrf_token": other_session},
                             follow_redirects=False).status_code == 403
    assert admin.client.post(f"/admin/users/{USERS['bank_a']}/disable",
                             follow_redirects=False).status_code == 403
    assert "reviewer.new" not in usernames(seeded) and USERS["bank_a"] in usernames(seeded, active=True)
