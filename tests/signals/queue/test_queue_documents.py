"""Documents a case's lead institution asks the other lenders to send (signals/queue/documents.py):
only the lead requests and waives, only the asked institution marks received, scope, overdue,
the audit rows, the inbox's kinds; schema v11 on an existing database. Both backends."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from signals.queue import Conflict, Forbidden, InvalidInput, NotFound, QueueStore, seed_demo_users
from signals.queue.documents import case_requests, mark_received, request_documents, requested_of_me, waive
from signals.queue.kpis import decision_kpis
from signals.queue.notifications import Kind, items
from signals.queue.schema import SCHEMA_VERSION, schema_version, transitions
from tests.signals.queue.conftest import BANK_A, BANK_B, CGA, FAST_SCRYPT

KEY = "7000050000005"


@pytest.fixture
def led(work, make_flags):
    """A business the association guarantees more than either bank lends: it leads the case,
    banks A and B are its other lenders."""
    ids = work.open(make_flags(
        make_flags.row(KEY, institutions=[(CGA, "G-5"), (BANK_A, "A-5"), (BANK_B, "B-5")]),
        make_flags.row("7000060000006", institutions=[(BANK_A, "A-6")]),
    ))
    return ids[KEY]


def test_the_association_leads_and_asks_the_banks_only_it_may(store, people, led):
    assert store.get_case(people.cga, led).lead_institution_id == CGA
    today = store.today()
    due = today + timedelta(days=7)
    # a bank of the case may not request, nor may anyone ask the lead itself or an outsider
    with pytest.raises(Forbidden):
        request_documents(store, people.bank_a, led, BANK_B, ["trial_balance"], due)
    with pytest.raises(InvalidInput):
        request_documents(store, people.cga, led, CGA, ["trial_balance"], due)
    with pytest.raises(InvalidInput):
        request_documents(store, people.cga, led, "bank_9999", ["trial_balance"], due)
    with pytest.raises(InvalidInput, match="期限"):
        request_documents(store, people.cga, led, BANK_A, ["trial_balance"], today - timedelta(days=1))
    with pytest.raises(InvalidInput, match="その他"):
        request_documents(store, people.cga, led, BANK_A, ["other"], due)
    with pytest.raises(NotFound):  # another association: the case does not exist for it
        request_documents(store, people.cga_other, led, BANK_A, ["trial_balance"], due)
    ids = request_documents(store, people.cga, led, BANK_A, ["trial_balance", "cash_flow_plan"], due, "11月末まで")
    assert len(ids) == 2
    listed = case_requests(store, people.cga, led)
    assert [(r.document_ja, r.institution_id, r.status, r.requested_by, r.due_on) for r in listed] == [
        ("最新の試算表", BANK_A, "requested", f"analyst.{CGA}", due), ("資金繰り表", BANK_A, "requested", f"analyst.{CGA}", due)]
    # the asked bank sees them, and so does the other lender of the case; an outsider nothing
    assert [r.id for r in requested_of_me(store, people.bank_a)] == ids
    assert requested_of_me(store, people.bank_b) == [] and len(case_requests(store, people.bank_b, led)) == 2
    with pytest.raises(NotFound):
        case_requests(store, people.cga_other, led)
    assert requested_of_me(store, people.cga_other) == []
    assert case_requests(store, people.admin, led) == listed


def test_only_the_asked_institution_marks_received_and_only_the_lead_waives(store, people, led, clock):
    today = store.today()
    trial, cash, plan = request_documents(store, people.cga, led, BANK_A,
                                          ["trial_balance", "cash_flow_plan", "repayment_schedule"],
                                          today + timedelta(days=3))
    with pytest.raises(Forbidden):  # the lead does not mark the bank's sending
        mark_received(store, people.cga, trial, today, "試算表_2026-10.pdf")
    with pytest.raises(Forbidden):  # nor does the other bank of the case
        mark_received(store, people.bank_b, trial, today, "試算表_2026-10.pdf")
    with pytest.raises(NotFound):
        mark_received(store, people.cga_other, trial, today, "x")
    with pytest.raises(InvalidInput):
        mark_received(store, people.bank_a, trial, today, "  ")
    with pytest.raises(InvalidInput):
        mark_received(store, people.bank_a, trial, today + timedelta(days=1), "x")
    mark_received(store, people.bank_a, trial, today, "試算表_2026-10.pdf")
    with pytest.raises(Conflict):
        mark_received(store, people.bank_a, trial, today, "again")
    with pytest.raises(Forbidden):
        waive(store, people.bank_a, cash, "不要")
    waive(store, people.cga, plan, "返済予定表は保証協会で保有")
    with pytest.raises(Conflict):
        waive(store, people.cga, trial)
    got = {r.id: r for r in case_requests(store, people.cga, led)}
    assert (got[trial].status, got[trial].received_on, got[trial].received_ref) == (
        "received", today, "試算表_2026-10.pdf")
    assert (got[plan].status, got[plan].waive_reason) == ("waived", "返済予定表は保証協会で保有")
    assert [r.id for r in requested_of_me(store, people.bank_a)] == [cash]
    # every change is a row of the case audit log, the case's state unchanged
    with store.engine.connect() as conn:
        audit = conn.execute(select(transitions.c.actor, transitions.c.from_state, transitions.c.to_state,
                                    transitions.c.reason_code, transitions.c.note)
                             .where(transitions.c.case_id == led, transitions.c.reason_code.like("document_%"))
                             .order_by(transitions.c.id)).all()
    assert [(a.actor, a.reason_code) for a in audit] == [
        (f"analyst.{CGA}", "document_requested")] * 3 + [
        (f"reviewer.{BANK_A}", "document_received"), (f"analyst.{CGA}", "document_waived")]
    assert all(a.from_state == a.to_state == "new" for a in audit)
    assert "試算表_2026-10.pdf" in audit[3].note and "最新の試算表" in audit[3].note
    # an audit row that moves nothing is no reviewer's decision
    assert sum(decision_kpis(store, people.cga).total.values()) == 0


def test_overdue_requests_are_flagged_and_told(store, people, led, clock):
    today = store.today()
    soon, later = request_documents(store, people.cga, led, BANK_A, ["trial_balance", "financial_statements"],
                                    today + timedelta(days=1))
    request_documents(store, people.cga, led, BANK_B, ["cash_flow_plan"], today + timedelta(days=10))
    assert not any(r.overdue for r in case_requests(store, people.cga, led))
    asked = {(i.kind, i.ref_id) for i in items(store, people.bank_a)}
    assert {(Kind.DOCUMENT_REQUESTED, soon), (Kind.DOCUMENT_REQUESTED, later)} <= asked
    assert not any(i.kind is Kind.DOCUMENT_REQUESTED for i in items(store, people.cga))  # the lead asked
    assert not any(i.kind.value.startswith("document") for i in items(store, people.cga_other))
    mark_received(store, people.bank_a, later, today, "決算書_R7.pdf")
    clock.advance(days=2)  # the due date has passed
    overdue = {r.id: r.overdue for r in case_requests(store, people.cga, led)}
    assert overdue[soon] is True and overdue[later] is False and sum(overdue.values()) == 1
    assert [r.overdue for r in requested_of_me(store, people.bank_a)] == [True]
    late_a = [i for i in items(store, people.bank_a) if i.kind is Kind.DOCUMENT_OVERDUE]
    late_cga = [i for i in items(store, people.cga) if i.kind is Kind.DOCUMENT_OVERDUE]
    assert [i.ref_id for i in late_a] == [soon] == [i.ref_id for i in late_cga]
    assert not any(i.kind is Kind.DOCUMENT_OVERDUE for i in items(store, people.bank_b))
    # the received request is no longer a request of bank A's inbox
    assert later not in {i.ref_id for i in items(store, people.bank_a) if i.kind is Kind.DOCUMENT_REQUESTED}


def test_closed_cases_take_no_requests_and_councils_see_none(store, people, work, led):
    due = store.today() + timedelta(days=5)
    (first,) = request_documents(store, people.cga, led, BANK_A, ["trial_balance"], due)
    assert requested_of_me(store, people.council) == []
    work.move(led, "dismissed", reviewer=people.cga)
    with pytest.raises(InvalidInput):
        request_documents(store, people.cga, led, BANK_A, ["cash_flow_plan"], due)
    with pytest.raises(InvalidInput):
        mark_received(store, people.bank_a, first, store.today(), "late.pdf")
    assert requested_of_me(store, people.bank_a) == []  # a closed case's request is nobody's work


def test_a_version_10_database_gets_the_document_requests(queue_url, clock):
    """Schema v11 on a database as version 10 left it: its rows kept, requests usable."""
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as store:
        seed_demo_users(store, [(BANK_A, "北陸第一銀行"), (CGA, "東京信用保証協会")])
        with store.engine.begin() as conn:
            conn.execute(text("DROP TABLE document_requests"))
            conn.execute(update(schema_version).values(version=10))
            users_before = conn.execute(text("SELECT username FROM users ORDER BY username")).scalars().all()
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as store:
        with store.engine.connect() as conn:
            assert conn.execute(select(schema_version.c.version).order_by(schema_version.c.version)
                                ).scalars().all() == list(range(10, SCHEMA_VERSION + 1)) == [10, 11, 12]
            assert conn.execute(text("SELECT username FROM users ORDER BY username")).scalars().all() == users_before
            assert conn.execute(text("SELECT count(*) FROM document_requests")).scalar_one() == 0
        from signals.queue import authenticate
        analyst = authenticate(store, f"analyst.{CGA}", f"demo-analyst.{CGA}")
        assert analyst is not None and requested_of_me(store, analyst) == []


def test_the_headers_count_is_counted_in_sql_past_the_lists_limit(store, people, led):
    from signals.queue.documents import open_count

    due = store.today() + timedelta(days=1)
    for _ in range(3):
        request_documents(store, people.cga, led, BANK_A, ["trial_balance", "cash_flow_plan"], due)
    assert len(requested_of_me(store, people.bank_a, limit=4)) == 4
    assert open_count(store, people.bank_a) == (6, 0) and open_count(store, people.bank_b) == (0, 0)
    assert open_count(store, people.council) == (0, 0)
