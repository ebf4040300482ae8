"""Server-side sessions: a cookie copied before logout is worthless after it, and disabling a
user ends every session of theirs at once."""
from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from signals.queue.schema import sessions
from tests.webapp.conftest import USERS, Browser, as_user


def _copy(client: TestClient) -> TestClient:
    """Another client holding a copy of this one's cookies (a stolen or saved cookie)."""
    other = TestClient(client.app)
    for cookie in client.cookies.jar:
        other.cookies.set(cookie.name, cookie.value)
    return other


def test_a_cookie_copied_before_logout_is_refused_after_it(app, seeded):
    reviewer = as_user(app, "bank_a")
    copy = _copy(reviewer.client)
    assert copy.get("/cases", follow_redirects=False).status_code == 200  # the copy works, for now
    token = reviewer.csrf()
    assert reviewer.client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    r = copy.get("/cases", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with seeded.store.engine.connect() as conn:
        reasons = conn.execute(select(sessions.c.revoked_reason)).scalars().all()
    assert "logout" in reasons


def test_logging_out_on_one_device_leaves_the_other(app):
    first, second = as_user(app, "bank_a"), as_user(app, "bank_a")
    first.client.post("/logout", data={"csrf_token": first.csrf()})
    assert second.client.get("/cases", follow_redirects=False).status_code == 200
    assert first.client.get("/cases", follow_redirects=False).status_code == 303


def test_disabling_a_user_ends_their_sessions_at_once(app, seeded):
    victim, copy = as_user(app, "bank_b"), None
    copy = _copy(victim.client)
    admin = as_user(app, "admin")
    r = admin.post(f"/admin/users/{USERS['bank_b']}/disable", {}, token_from="/admin/users")
    assert r.status_code == 303
    for client in (victim.client, copy):
        r = client.get("/cases", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with seeded.store.engine.connect() as conn:
        rows = conn.execute(select(sessions.c.revoked_reason).where(
            sessions.c.user_id == seeded.users["bank_b"].id)).scalars().all()
    assert rows and set(rows) == {"disabled"}


def test_a_signed_cookie_without_a_live_session_logs_nobody_in(app, seeded):
    """A cookie signed with the right key but naming no stored session (e.g. from before
    server-side sessions, or forged with a leaked key but no database access) is refused."""
    from tests.webapp.conftest import SECRET
    from webapp.security import SessionMiddleware

    middleware = SessionMiddleware(app, SECRET)
    user = seeded.users["bank_a"]
    client = TestClient(app)
    for payload in ({"uid": user.id, "un": user.username, "login_at": 2_000_000_000},
                    {"uid": user.id, "un": user.username, "sid": "not-a-session", "login_at": 2_000_000_000}):
        client.cookies.set("yocho_session", middleware.dump(payload))
        assert client.get("/cases", follow_redirects=False).status_code == 303
    assert Browser(client).login(USERS["bank_a"]).status_code == 303
    assert client.get("/cases", follow_redirects=False).status_code == 200
