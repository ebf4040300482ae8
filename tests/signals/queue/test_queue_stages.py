"""The council's stage log of an accepted referral (signals/queue/stages.py), on both backends:
only the case's council intake records, on its own accepted referrals; the institutions
sharing the case read stages and dates but never the council's notes; the log is
append-only in the database; schema v12 on a database as version 11 left it."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, insert, select, text, update

from signals.queue import Forbidden, InvalidInput, NotFound, QueueStore, State
from signals.queue.schema import SCHEMA_VERSION, cases, schema_version, support_stages, users
from signals.queue.stage_terms import Measure, Stage
from tests.signals.queue.conftest import FAST_SCRYPT, assert_append_only

X, Y = "7000012050002", "4000012090001"
NOTE = "社長と面談。資金繰り表の提出待ち（協議会内部メモ）"


@pytest.fixture
def accepted(store, people, make_flags, work):
    """X: shared by bank A and the association, referred by bank A, accepted by 東京都's council
    on 2026-11-24; Y: referred, not yet accepted."""
    ids = work.open(make_flags(make_flags.row(X, institutions=[("bank_0116", "A-1"), ("cga_13", "G-1")]),
                               make_flags.row(Y)))
    work.move(ids[X], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, State.ACCEPTED)
    work.move(ids[Y], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)
    return ids


def test_the_council_records_stages_and_the_institutions_read_them_without_notes(store, people, accepted, clock):
    case_id = accepted[X]
    clock.set_day(date(2026, 12, 20))
    store.record_stage(people.council, case_id, "pre_consultation", on=date(2026, 11, 30), note=NOTE)
    store.record_stage(people.council, case_id, Stage.MANAGEMENT, on=date(2026, 12, 10),
                       measures=["value_up"], note="Vアップで計画策定へ")
    log = store.record_stage(people.council, case_id, Stage.PLAN_AGREED, on=date(2026, 12, 18), note="全行同意")
    assert [(e.stage, e.on, e.measures, e.note) for e in log] == [
        (Stage.PRE, date(2026, 11, 30), (), NOTE),
        (Stage.MANAGEMENT, date(2026, 12, 10), (Measure.VALUE_UP,), "Vアップで計画策定へ"),
        (Stage.PLAN_AGREED, date(2026, 12, 18), (), "全行同意")]
    for reader in (people.bank_a, people.cga, people.admin):
        seen = store.stage_timeline(reader, case_id)
        assert [(e.stage, e.on) for e in seen] == [(e.stage, e.on) for e in log]
        assert all(e.note is None for e in seen)
    assert store.stage_timeline(people.bank_b, case_id) == []  # not its case
    assert store.stage_timeline(people.council_other, case_id) == []


def test_the_institutions_read_never_selects_the_note(store, people, accepted):
    """The institutions' read is a query without the column, not a filter after it."""
    from signals.queue import stages

    store.record_stage(people.council, accepted[X], "window_consultation", on=date(2026, 11, 24), note=NOTE)
    statements: list[str] = []
    from sqlalchemy import event

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        with store.engine.connect() as conn:
            entries = stages.institution_timeline(conn, store._actor(conn, people.bank_a), accepted[X])
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert [e.stage for e in entries] == [Stage.WINDOW]
    reads = [s for s in statements if "support_stages" in s]
    assert reads and not any("support_stages.note" in s for s in reads)


def test_only_the_case_council_intake_records_and_only_on_accepted_referrals(store, people, accepted):
    for user in (people.bank_a, people.cga, people.admin):
        with pytest.raises(Forbidden):
            store.record_stage(user, accepted[X], "pre_consultation", on=date(2026, 11, 24))
    with pytest.raises(NotFound):  # another prefecture's council
        store.record_stage(people.council_other, accepted[X], "pre_consultation", on=date(2026, 11, 24))
    with pytest.raises(InvalidInput, match="受付済み"):  # referred, not accepted
        store.record_stage(people.council, accepted[Y], "pre_consultation", on=date(2026, 11, 24))
    with pytest.raises(Forbidden):  # nor read the council's notes
        from signals.queue import stages
        with store.engine.connect() as conn:
            stages.council_log(conn, store._actor(conn, people.bank_a), accepted[X])
    with store.engine.connect() as conn:
        assert conn.execute(select(support_stages)).all() == []


@pytest.mark.parametrize("kwargs, message", [
    ({"stage": "board_meeting", "on": date(2026, 11, 24)}, "段階"),
    ({"stage": "pre_consultation", "on": None}, "日付"),
    ({"stage": "pre_consultation", "on": date(2026, 11, 25)}, "未来"),
    ({"stage": "pre_consultation", "on": date(2026, 11, 23)}, "受付日"),
    ({"stage": "earnings_improvement", "on": date(2026, 11, 24), "measures": ["dds"]}, "施策"),
])
def test_a_stage_needs_a_known_stage_a_date_and_its_own_measures(store, people, accepted, kwargs, message):
    kwargs = dict(kwargs)  # the parameters are shared by both backends' runs
    stage = kwargs.pop("stage")
    with pytest.raises(InvalidInput, match=message):
        store.record_stage(people.council, accepted[X], stage, **kwargs)


def test_dates_run_forward_and_nothing_follows_the_end(store, people, accepted, clock):
    clock.set_day(date(2027, 1, 31))
    store.record_stage(people.council, accepted[X], "revitalization", on=date(2026, 12, 20),
                       measures=["pre_revitalization", "dds"])
    with pytest.raises(InvalidInput, match="前の段階"):
        store.record_stage(people.council, accepted[X], "plan_started", on=date(2026, 12, 1))
    store.record_stage(people.council, accepted[X], "abandoned", on=date(2027, 1, 10))
    with pytest.raises(InvalidInput, match="終了"):
        store.record_stage(people.council, accepted[X], "plan_started", on=date(2027, 1, 20))
    log = store.stage_timeline(people.council, accepted[X])
    assert [(e.stage, e.measures) for e in log] == [
        (Stage.REVITALIZATION, (Measure.PRE_REVITALIZATION, Measure.DDS)), (Stage.ABANDONED, ())]


def test_a_withdrawal_of_consent_hides_the_log_from_the_council(store, people, accepted):
    store.record_stage(people.council, accepted[X], "pre_consultation", on=date(2026, 11, 24), note=NOTE)
    case = store.get_case(people.bank_a, accepted[X])
    store.withdraw_consent(people.bank_a, accepted[X], expected_version=case.version)
    assert store.stage_timeline(people.council, accepted[X]) == []
    with pytest.raises(NotFound):
        store.record_stage(people.council, accepted[X], "plan_started", on=date(2026, 11, 24))
    assert [e.stage for e in store.stage_timeline(people.bank_a, accepted[X])] == [Stage.PRE]


def test_the_stage_log_is_append_only_in_the_database(store, people, accepted):
    store.record_stage(people.council, accepted[X], "pre_consultation", on=date(2026, 11, 24), note=NOTE)
    assert_append_only(store, support_stages, update(support_stages).values(note="書き換え"),
                       delete(support_stages))


def test_a_version_11_database_gets_an_empty_stage_log(queue_url, clock):
    """Schema v12 on a database as version 11 left it: the table and its append-only guard
    appear, the cases already stored are kept as they were."""
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as store:
        now = datetime.now(UTC)
        with store.engine.begin() as conn:
            conn.execute(insert(cases).values(id=1, business_key=X, state="accepted", version=5, critical_signs=[],
                                              council_id="council_13", created_at=now, updated_at=now))
            conn.execute(text("DROP TABLE support_stages"))
            conn.execute(delete(schema_version))
            conn.execute(insert(schema_version).values(version=11, applied_at=now, description="v11"))
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as store:
        with store.engine.connect() as conn:
            assert conn.execute(select(schema_version.c.version).order_by(schema_version.c.version)
                                ).scalars().all() == [11, SCHEMA_VERSION] == [11, 12]
            assert [(r.id, r.state, r.version) for r in conn.execute(select(cases))] == [(1, "accepted", 5)]
            assert conn.execute(select(support_stages)).all() == []
        with store.engine.begin() as conn:  # a row for the row-level guard to refuse touching
            conn.execute(insert(users).values(id=1, username="intake", password_hash="x", role="council_intake",
                                              display_name="受付", active=True, created_at=now))
            conn.execute(insert(support_stages).values(case_id=1, council_id="council_13", stage="completed",
                                                       stage_on=date(2026, 11, 1), measures=[], recorded_by=1, at=now))
        assert_append_only(store, support_stages, delete(support_stages), update(support_stages).values(note="x"))
