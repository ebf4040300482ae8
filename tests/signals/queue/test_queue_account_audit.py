"""The account audit log: logins, logouts, users created or disabled, role and password
changes, each one append-only row, readable by administrators only."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from signals.queue import (
    Forbidden,
    InvalidInput,
    Role,
    authenticate,
    change_password,
    change_role,
    create_user,
    disable_user,
    list_account_events,
    record_account_event,
)
from signals.queue.schema import account_events
from tests.signals.queue.conftest import assert_append_only


def _events(store, admin):
    return [(e.event, e.actor, e.subject, e.address, e.detail) for e in reversed(list_account_events(store, admin))]


def test_logins_leave_one_row_each_with_the_reason_and_the_address(store, people):
    before = len(list_account_events(store, people.admin))
    assert authenticate(store, "reviewer.bank_0116", "demo-reviewer.bank_0116", address="10.1.2.3")
    assert authenticate(store, "reviewer.bank_0116", "wrong-password-1", address="10.1.2.3") is None
    assert authenticate(store, "nobody.here", "wrong-password-1", address="10.9.9.9") is None
    disable_user(store, people.admin, "reviewer.bank_0005")
    assert authenticate(store, "reviewer.bank_0005", "demo-reviewer.bank_0005") is None
    rows = _events(store, people.admin)[before:]
    assert rows == [
        ("login_succeeded", "reviewer.bank_0116", "reviewer.bank_0116", "10.1.2.3", None),
        ("login_failed", "reviewer.bank_0116", "reviewer.bank_0116", "10.1.2.3", "wrong password"),
        ("login_failed", "nobody.here", "nobody.here", "10.9.9.9", "unknown user"),
        ("user_disabled", "admin", "reviewer.bank_0005", None, "0 session(s) revoked"),
        ("login_failed", "reviewer.bank_0005", "reviewer.bank_0005", None, "disabled user"),
    ]
    with store.engine.connect() as conn:
        details = " ".join(str(v) for row in conn.execute(select(account_events)) for v in row)
    assert "demo-" not in details and "wrong-password" not in details  # never a password


def test_account_changes_are_recorded_in_their_own_transaction(store, people):
    before = len(list_account_events(store, people.admin))
    create_user(store, people.admin, username="new.analyst", password="long-enough-1", role=Role.CGA_ANALYST,
                institution_id="cga_13")
    changed = change_role(store, people.admin, "new.analyst", Role.BANK_REVIEWER, "bank_0116")
    assert (changed.role, changed.institution_id) == (Role.BANK_REVIEWER, "bank_0116")
    new_user = authenticate(store, "new.analyst", "long-enough-1")
    assert new_user.role is Role.BANK_REVIEWER
    change_password(store, new_user, "long-enough-1", "another-one-22")
    record_account_event(store, "logout", actor=new_user, subject=new_user.username, address="127.0.0.1")
    rows = _events(store, people.admin)[before:]
    assert [r[0] for r in rows] == ["user_created", "role_changed", "login_succeeded", "password_changed", "logout"]
    assert rows[0][1:3] == ("admin", "new.analyst") and rows[0][4] == "cga_analyst (cga_13)"
    assert rows[1][4] == "cga_analyst (cga_13) → bank_reviewer (bank_0116)"
    # a refused change records nothing
    with pytest.raises(InvalidInput):
        change_role(store, people.admin, "new.analyst", Role.CGA_ANALYST, "bank_0116")
    with pytest.raises(Forbidden):
        change_role(store, people.admin, "admin", Role.BANK_REVIEWER, "bank_0116")  # the last admin
    assert len(list_account_events(store, people.admin)) == before + 5


def test_only_administrators_read_or_change_accounts(store, people):
    for user in (people.bank_a, people.cga, people.council):
        with pytest.raises(Forbidden):
            list_account_events(store, user)
        with pytest.raises(Forbidden):
            change_role(store, user, "reviewer.bank_0005", Role.ADMIN)


def test_the_account_audit_log_is_append_only_in_the_database(store, people):
    with store.engine.connect() as conn:
        before = conn.execute(select(account_events)).all()
    assert before
    assert_append_only(store, account_events, update(account_events).values(detail="rewritten"),
                       delete(account_events))
