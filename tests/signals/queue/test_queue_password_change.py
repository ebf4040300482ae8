"""A password somebody else chose is one-time: accounts an administrator creates, and passwords
an administrator or the operator resets, carry `users.must_change_password` until the user's
own change clears it; the change ends the user's other sessions and is audited. Schema
version 8 adds the flag to an existing database. Both backends."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from signals.queue import (
    QueueStore,
    Role,
    authenticate,
    create_user,
    list_account_events,
    open_session,
    seed_demo_users,
)
from signals.queue.auth import (
    SessionAccount,
    admin_reset_password,
    change_password,
    operator_create_user,
    operator_reset_password,
    pending_password_changes,
    session_account,
    session_user,
)
from signals.queue.lifecycle import Forbidden, InvalidInput
from signals.queue.schema import SCHEMA_VERSION, schema_version, sessions, users
from tests.signals.queue.conftest import BANK_A, CGA, FAST_SCRYPT

INITIAL = "set-by-the-admin-1"
OWN = "chosen-by-the-user-2"


def _flag(store: QueueStore, username: str) -> bool:
    with store.engine.connect() as conn:
        return bool(conn.execute(select(users.c.must_change_password).where(users.c.username == username))
                    .scalar_one())


def _revoked(store: QueueStore, user_id: int) -> list[str | None]:
    with store.engine.connect() as conn:
        return conn.execute(select(sessions.c.revoked_reason).where(sessions.c.user_id == user_id)
                            .order_by(sessions.c.created_at, sessions.c.id)).scalars().all()


def test_an_admin_created_account_must_change_its_password_and_only_its_own_change_clears_it(store, people, clock):
    assert not any(_flag(store, d.username) for d in people.demo)  # the demo's public passwords are exempt
    create_user(store, people.admin, username="new.analyst", password=INITIAL, role=Role.CGA_ANALYST,
                institution_id=CGA)
    assert _flag(store, "new.analyst") and pending_password_changes(store, people.admin) == {"new.analyst"}
    user = authenticate(store, "new.analyst", INITIAL)
    assert user is not None  # the password works: the web app decides what the user may do with it
    here, other = open_session(store, user, 3600), open_session(store, user, 3600)
    account = session_account(store, here)
    assert account is not None and account.user == user and account.must_change_password

    for new, refusal in ((INITIAL, InvalidInput), ("short", InvalidInput), ("x" * 1025, InvalidInput)):
        with pytest.raises(refusal):
            change_password(store, user, INITIAL, new, keep_session=here)
    with pytest.raises(Forbidden):
        change_password(store, user, "not the password", OWN, keep_session=here)
    assert _flag(store, "new.analyst") and session_user(store, other) == user  # nothing changed

    clock.advance(seconds=1)
    assert change_password(store, user, INITIAL, OWN, keep_session=here) == 1
    assert not _flag(store, "new.analyst") and pending_password_changes(store, people.admin) == frozenset()
    assert session_account(store, here) == SessionAccount(user, must_change_password=False)  # this one stays
    assert session_user(store, other) is None  # the other one ended
    assert sorted(_revoked(store, user.id), key=str) == [None, "password_changed"]
    assert authenticate(store, "new.analyst", INITIAL) is None and authenticate(store, "new.analyst", OWN)
    event = list_account_events(store, people.admin, limit=50)
    changed = next(e for e in event if e.event == "password_changed")
    assert (changed.actor, changed.subject) == ("new.analyst", "new.analyst")
    assert changed.detail == "changed by the user; 1 other session(s) revoked; this session kept"


def test_resets_by_an_administrator_or_the_operator_set_the_flag_and_end_every_session(store, people):
    reviewer = people.bank_a
    token = open_session(store, reviewer, 3600)
    assert admin_reset_password(store, people.admin, reviewer.username, INITIAL) == 1
    assert _flag(store, reviewer.username) and session_user(store, token) is None
    assert _revoked(store, reviewer.id) == ["password_reset"]
    user = authenticate(store, reviewer.username, INITIAL)
    change_password(store, user, INITIAL, OWN)
    assert not _flag(store, reviewer.username)

    assert operator_reset_password(store, "ops", reviewer.username, "by-the-operator-3") == 0
    assert _flag(store, reviewer.username)
    details = [(e.actor, e.detail) for e in list_account_events(store, people.admin, limit=50)
               if e.event == "password_changed"]
    assert details[0] == ("operator:ops", "reset by the operator; 0 session(s) revoked; "
                                          "must change it at the next login")
    assert details[2] == ("admin", "reset by an administrator; 1 session(s) revoked; "
                                   "must change it at the next login")

    with pytest.raises(Forbidden):  # an administrator changes their own on the password page
        admin_reset_password(store, people.admin, "admin", INITIAL)
    with pytest.raises(Forbidden):  # and nobody else resets anybody's
        admin_reset_password(store, people.bank_b, reviewer.username, INITIAL)
    with pytest.raises(InvalidInput):
        admin_reset_password(store, people.admin, reviewer.username, "short")
    with pytest.raises(InvalidInput):
        admin_reset_password(store, people.admin, "nobody", INITIAL)
    assert not _flag(store, "admin")


def test_accounts_the_operator_creates_must_change_their_password(store):
    """`yocho users create`: the operator typed the password, the first administrator's too."""
    operator_create_user(store, "ops", username="first.admin", password=INITIAL, role=Role.ADMIN)
    assert _flag(store, "first.admin")
    admin = authenticate(store, "first.admin", INITIAL)
    change_password(store, admin, INITIAL, OWN)
    assert not _flag(store, "first.admin")


def test_a_version_7_database_gets_the_flag(queue_url, clock):
    """Schema v8 on a database as version 7 left it: every account keeps its password, and the
    accounts whose latest password change was the operator's reset must change it."""
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as store:
        seed_demo_users(store, [(BANK_A, "北陸第一銀行"), (CGA, "東京信用保証協会")])
        operator_reset_password(store, "ops", f"reviewer.{BANK_A}", INITIAL)  # reset, never changed since
        operator_reset_password(store, "ops", f"analyst.{CGA}", INITIAL)  # reset, then changed by its user
        analyst = authenticate(store, f"analyst.{CGA}", INITIAL)
        change_password(store, analyst, INITIAL, OWN)
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE users DROP COLUMN must_change_password"))
            conn.execute(update(schema_version).values(version=7))
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as store:
        with store.engine.connect() as conn:
            assert conn.execute(select(schema_version.c.version).order_by(schema_version.c.version)
                                ).scalars().all() == list(range(7, SCHEMA_VERSION + 1)) == [7, 8, 9, 10, 11, 12]
            flags = dict(conn.execute(select(users.c.username, users.c.must_change_password)).tuples().all())
        assert flags == {"admin": False, f"reviewer.{BANK_A}": True, f"analyst.{CGA}": False,
                         "intake.council_13": False}
        reviewer = authenticate(store, f"reviewer.{BANK_A}", INITIAL)
        account = session_account(store, open_session(store, reviewer, 3600))
        assert account is not None and account.must_change_password
        # a row written without the column (as by an older process) gets the column's default
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO users (username, password_hash, role, display_name, active, created_at) "
                              "VALUES ('raw', 'x', 'admin', 'raw', TRUE, CURRENT_TIMESTAMP)"))
        assert not _flag(store, "raw")
