"""Server-side web sessions in the queue database: opened at login, checked on every
request, revoked at logout and when a user is disabled or changes their password."""
from __future__ import annotations

from sqlalchemy import select, text, update

from signals.queue import (
    QueueStore,
    change_password,
    disable_user,
    open_session,
    revoke_session,
    session_user,
)
from signals.queue.schema import SCHEMA_VERSION, schema_version, sessions


def test_a_session_lives_until_revoked_or_expired(store, people, clock):
    token = open_session(store, people.bank_a, 3600)
    assert session_user(store, token) == people.bank_a
    with store.engine.connect() as conn:
        stored = conn.execute(select(sessions.c.id)).scalars().all()
    assert token not in stored and len(stored) == 1  # only a hash of the token is kept
    assert session_user(store, token + "x") is None and session_user(store, "") is None
    clock.advance(seconds=3601)
    assert session_user(store, token) is None  # expired
    other = open_session(store, people.bank_a, 3600)
    assert revoke_session(store, other) and not revoke_session(store, other)
    assert session_user(store, other) is None


def test_disabling_a_user_revokes_every_session_of_theirs(store, people):
    phone, desk = open_session(store, people.bank_b, 3600), open_session(store, people.bank_b, 3600)
    mine = open_session(store, people.bank_a, 3600)
    disable_user(store, people.admin, people.bank_b.username)
    assert session_user(store, phone) is None and session_user(store, desk) is None
    assert session_user(store, mine) == people.bank_a
    with store.engine.connect() as conn:
        reasons = conn.execute(select(sessions.c.revoked_reason).where(
            sessions.c.user_id == people.bank_b.id)).scalars().all()
    assert reasons == ["disabled", "disabled"]


def test_changing_the_password_ends_the_users_sessions(store, people):
    token = open_session(store, people.cga, 3600)
    change_password(store, people.cga, "demo-analyst.cga_13", "another-password-1")
    assert session_user(store, token) is None


def test_old_session_rows_are_purged_at_the_next_login(store, people, clock):
    old = open_session(store, people.bank_a, 60)
    revoke_session(store, open_session(store, people.bank_a, 3600))
    clock.advance(days=8)
    open_session(store, people.bank_a, 60)
    with store.engine.connect() as conn:
        assert conn.execute(select(sessions)).all().__len__() == 1
    assert session_user(store, old) is None


def test_a_version_2_database_gets_the_sessions_and_account_events_tables(store, queue_url, clock, people):
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE sessions"))
        conn.execute(text("DROP TABLE account_events"))
        conn.execute(text("DROP TABLE waiting_entries"))  # and what version 5 added
        conn.execute(text("DROP TABLE review_budgets"))
        conn.execute(text("DROP INDEX ix_cases_budget"))
        conn.execute(text("ALTER TABLE cases DROP COLUMN budget_institution_id"))
        conn.execute(text("ALTER TABLE transitions DROP COLUMN reason_code"))
        conn.execute(text("ALTER TABLE cases DROP COLUMN business_name"))  # and what versions 6 and 7 added
        conn.execute(text("ALTER TABLE cases DROP COLUMN first_event_on"))
        conn.execute(text("ALTER TABLE cases DROP COLUMN events_as_of"))
        conn.execute(update(schema_version).values(version=2))  # a database as version 2 left it
    with QueueStore(queue_url, clock=clock) as again:
        with again.engine.connect() as conn:
            assert max(conn.execute(select(schema_version.c.version)).scalars()) == SCHEMA_VERSION
        token = open_session(again, people.bank_a, 3600)
        assert session_user(again, token) == people.bank_a
