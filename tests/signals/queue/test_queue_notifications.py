"""The new work each user owns (signals/queue/notifications.py): which items each role gets,
only in its scope, and the inbox's read state; schema v9 on an existing database. Both backends."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import inspect, select, text, update

from signals.queue import QueueStore, State, create_user, record_account_event, seed_demo_users
from signals.queue.lifecycle import NotFound
from signals.queue.notifications import Kind, items, mark_all_read, mark_read, unread_count
from signals.queue.schema import SCHEMA_VERSION, schema_version, users
from tests.signals.queue.conftest import BANK_A, BANK_B, CGA, FAST_SCRYPT

NEXT = date(2026, 11, 30)  # the night after AS_OF


def _kinds(store, user) -> list[tuple[str, str | None]]:
    return sorted((i.kind.value, i.business_key or i.subject) for i in items(store, user))


def test_each_role_gets_the_new_work_of_its_scope_only(store, people, work, make_flags, clock):
    ids = work.open(make_flags(
        make_flags.row("7000010000001"),  # bank A
        make_flags.row("7000020000002", institutions=[(BANK_B, "B-2")]),  # bank B
        make_flags.row("7000030000003", institutions=[(BANK_A, "A-3"), (CGA, "G-3")]),  # bank A + CGA
    ))
    assert _kinds(store, people.bank_a) == [("case_opened", "7000010000001"), ("case_opened", "7000030000003")]
    assert _kinds(store, people.bank_b) == [("case_opened", "7000020000002")]
    assert _kinds(store, people.cga) == [("case_opened", "7000030000003")]
    assert _kinds(store, people.cga_other) == [] and _kinds(store, people.council) == []
    assert _kinds(store, people.admin) == []  # the demo's accounts have chosen passwords, none locked

    # Bank A refers one case: council intake receives it; bank B hears nothing of it.
    clock.advance(hours=1)
    work.move(ids["7000010000001"], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)
    assert _kinds(store, people.council) == [("referral_received", "7000010000001")]
    clock.advance(hours=1)
    work.move(ids["7000010000001"], State.DECLINED, note="対象外の業種")
    decided = [i for i in items(store, people.bank_a) if i.kind is Kind.REFERRAL_DECIDED]
    assert [(i.business_key, i.detail) for i in decided] == [("7000010000001", "declined")]
    # the case is closed: its opening is no longer work to do; the council's receipt neither
    assert ("case_opened", "7000010000001") not in _kinds(store, people.bank_a)
    assert _kinds(store, people.council) == []
    assert _kinds(store, people.bank_b) == [("case_opened", "7000020000002")]

    # Bank A snoozes the shared case; the next night brings a critical sign to it and to bank B's.
    work.move(ids["7000030000003"], State.SNOOZED)
    clock.advance(days=6)
    store.apply_flags(make_flags(
        make_flags.row("7000030000003", institutions=[(BANK_A, "A-3"), (CGA, "G-3")], as_of=NEXT,
                       critical_signs=["rep_dpd_90"]),
        make_flags.row("7000020000002", institutions=[(BANK_B, "B-2")], as_of=NEXT, critical_signs=["rep_dpd_90"]),
        make_flags.row("7000010000001", as_of=NEXT),  # in the cool-down: no new case
    ), NEXT, 6)
    shared = {("snooze_ended", "7000030000003"), ("new_critical_sign", "7000030000003")}
    assert shared <= set(_kinds(store, people.bank_a)) and shared <= set(_kinds(store, people.cga))
    assert _kinds(store, people.bank_b) == [("case_opened", "7000020000002"), ("new_critical_sign", "7000020000002")]
    sign = next(i for i in items(store, people.bank_b) if i.kind is Kind.NEW_CRITICAL_SIGN)
    assert sign.signs == ["rep_dpd_90"] and sign.case_id == ids["7000020000002"]
    # A night that repeats a sign the case already had is nothing new.
    clock.advance(days=30)
    store.apply_flags(make_flags(make_flags.row("7000020000002", institutions=[(BANK_B, "B-2")],
                                                as_of=date(2026, 12, 31), critical_signs=["rep_dpd_90"])),
                      date(2026, 12, 31), 6)
    assert [i.kind for i in items(store, people.bank_b, since=clock.now - timedelta(days=1))] == []
    # newest first
    listed = items(store, people.bank_a)
    assert [i.at for i in listed] == sorted((i.at for i in listed), reverse=True)


def test_administrators_get_accounts_waiting_for_a_password_change_or_locked(store, people, clock):
    create_user(store, people.admin, username="new.reviewer", password="initial-password-1", role="bank_reviewer",
                institution_id=BANK_A)
    clock.advance(minutes=5)
    record_account_event(store, "login_throttled", actor_name="reviewer.bank_0005", address="10.0.0.9",
                         detail="refused for 60 s")
    assert _kinds(store, people.admin) == [("account_locked", "reviewer.bank_0005"),
                                           ("password_pending", "new.reviewer")]
    assert _kinds(store, people.bank_a) == [] and _kinds(store, people.council) == []


def test_read_state_is_per_user_one_item_or_all(store, people, work, make_flags, clock):
    work.open(make_flags("7000010000001", "7000010000002",
                         make_flags.row("7000030000003", institutions=[(BANK_A, "A-3"), (CGA, "G-3")])))
    assert unread_count(store, people.bank_a) == 3 and unread_count(store, people.cga) == 1
    first = items(store, people.bank_a)[0]
    mark_read(store, people.bank_a, first.kind, first.ref_id)
    mark_read(store, people.bank_a, first.kind, first.ref_id)  # twice is once
    assert unread_count(store, people.bank_a) == 2
    assert [i.read for i in items(store, people.bank_a) if i.ref_id == first.ref_id] == [True]
    assert unread_count(store, people.cga) == 1  # another user's read state is theirs
    # another institution's item, or one that does not exist, is not found alike
    other = items(store, people.cga)[0]
    bank_b_view = [i for i in items(store, people.bank_a) if i.case_id == other.case_id]
    assert bank_b_view  # the shared case is bank A's too ...
    with pytest.raises(NotFound):
        mark_read(store, people.bank_b, other.kind, other.ref_id)  # ... but never bank B's
    with pytest.raises(NotFound):
        mark_read(store, people.bank_a, "case_opened", 999_999)
    with pytest.raises(NotFound):
        mark_read(store, people.bank_a, "no_such_kind", first.ref_id)
    mark_all_read(store, people.bank_a)
    assert unread_count(store, people.bank_a) == 0 and len(items(store, people.bank_a)) == 3
    assert unread_count(store, people.cga) == 1
    clock.advance(days=1)
    store.apply_flags(make_flags(make_flags.row("7000010000009", as_of=NEXT)), NEXT, 6)
    assert unread_count(store, people.bank_a) == 1
    assert [i.business_key for i in items(store, people.bank_a, unread_only=True)] == ["7000010000009"]


def test_a_version_8_database_gets_email_and_the_inbox_tables(queue_url, clock):
    """Schema v9 on a database as version 8 left it: accounts kept, no address, inbox unread."""
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as store:
        seed_demo_users(store, [(BANK_A, "北陸第一銀行")])
        with store.engine.begin() as conn:
            for table in ("digest_runs", "notification_reads", "notification_state"):
                conn.execute(text(f"DROP TABLE {table}"))
            conn.execute(text("ALTER TABLE users DROP COLUMN email"))
            for index in ("ix_transitions_at", "ix_evidence_snapshots_taken_at", "ix_account_events_event_at"):
                conn.execute(text(f"DROP INDEX {index}"))
            conn.execute(update(schema_version).values(version=8))
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as store:
        with store.engine.connect() as conn:
            assert conn.execute(select(schema_version.c.version).order_by(schema_version.c.version)
                                ).scalars().all() == list(range(8, SCHEMA_VERSION + 1)) == [8, 9, 10, 11, 12]
            addresses = dict(conn.execute(select(users.c.username, users.c.email)).tuples().all())
            assert {"admin", f"reviewer.{BANK_A}"} <= set(addresses) and set(addresses.values()) == {None}
            indexes = {i["name"] for t in ("transitions", "evidence_snapshots", "account_events")
                       for i in inspect(conn).get_indexes(t)}
            assert {"ix_transitions_at", "ix_evidence_snapshots_taken_at", "ix_account_events_event_at"} <= indexes
        from signals.queue import authenticate
        reviewer = authenticate(store, f"reviewer.{BANK_A}", f"demo-reviewer.{BANK_A}")
        assert reviewer is not None and unread_count(store, reviewer) == 0
        mark_all_read(store, reviewer)
