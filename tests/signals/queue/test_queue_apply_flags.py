"""apply_flags: one open case per business, appended evidence, cooldown, idempotence."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import event, func, select

from signals.queue import ApplyResult, CaseQuery, InvalidInput, State
from signals.queue.schema import case_institutions, cases, evidence_snapshots, transitions

A, B, C = "7000012050002", "4000012090001", "1010001000006"
NOV, DEC = date(2026, 11, 30), date(2026, 12, 31)


def _counts(store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (cases, case_institutions, evidence_snapshots, transitions)}


def test_new_flags_open_cases_with_an_initial_snapshot_and_an_audit_row(store, people, make_flags):
    frame = make_flags(make_flags.row(A, critical_signs=["rep_dpd_90"], probability=0.31, band="very_high",
                                      priority=0.9, priority_rank=1, phase="revitalisation"),
                       make_flags.row(B, priority=0.4, priority_rank=2))
    assert store.apply_flags(frame, make_flags.as_of, 6) == ApplyResult(opened=2)
    by_key = {c.business_key: c for c in store.all_cases(people.admin)}
    case = store.get_case(people.admin, by_key[A].id)
    assert (case.state, case.version, case.trigger, case.critical_signs) == (State.NEW, 1, "both", ["rep_dpd_90"])
    assert (case.probability, case.band, case.phase, case.priority_rank) == (0.31, "very_high", "revitalisation", 1)
    assert (case.flagged_on, case.last_as_of, case.first_sign_on) == (make_flags.as_of, make_flags.as_of,
                                                                     date(2026, 6, 30))
    assert case.lead_institution_id == "bank_0116"
    assert [(i.institution_id, i.local_id) for i in case.institutions] == [("bank_0116", "L-0002")]
    [snapshot] = case.snapshots
    assert (snapshot.kind, snapshot.as_of, snapshot.critical_signs) == ("initial", make_flags.as_of, ["rep_dpd_90"])
    assert snapshot.evidence == frame.filter(business_key=A)["evidence"][0]  # stored verbatim
    assert snapshot.data["top_factors"][0]["indicator"] == "rep_dpd_30"
    [audit] = case.history
    assert (audit.actor, audit.from_state, audit.to_state) == ("system", None, State.NEW)


def test_one_case_per_business_across_sources_with_every_local_id(store, people, make_flags):
    # The same business from a bank and from the guarantee association in one night ...
    frame = make_flags(make_flags.row(A, institutions=[("bank_0116", "L-1")], priority=0.3),
                       make_flags.row(A, institutions=[("cga_13", "G-9")], priority=0.7,
                                      critical_signs=["cga_subrogation_requested"]))
    assert store.apply_flags(frame, make_flags.as_of, 6).opened == 1
    [case] = store.all_cases(people.admin)
    assert {(i.institution_id, i.local_id) for i in case.institutions} == {("bank_0116", "L-1"), ("cga_13", "G-9")}
    assert case.priority == 0.7 and case.critical_signs == ["cga_subrogation_requested"]
    # ... and a month later a second bank appears: its local id joins the same case.
    later = make_flags(make_flags.row(A, as_of=NOV, institutions=[("bank_0116", "L-1"), ("bank_0005", "X-77")]))
    assert store.apply_flags(later, NOV, 6) == ApplyResult(updated=1)
    [case] = store.all_cases(people.admin)
    assert {(i.institution_id, i.local_id) for i in case.institutions} == {
        ("bank_0116", "L-1"), ("cga_13", "G-9"), ("bank_0005", "X-77")}
    assert _counts(store)["cases"] == 1


def test_new_evidence_is_appended_and_the_initial_snapshot_never_changes(store, people, make_flags):
    store.apply_flags(make_flags(make_flags.row(A, probability=0.12)), make_flags.as_of, 6)
    [case] = store.all_cases(people.admin)
    initial = store.get_case(people.admin, case.id).snapshots[0]
    result = store.apply_flags(make_flags(make_flags.row(A, as_of=NOV, probability=0.27, band="very_high",
                                                         first_sign_on=date(2026, 3, 31))), NOV, 6)
    assert result == ApplyResult(updated=1)
    detail = store.get_case(people.admin, case.id)
    assert [s.kind for s in detail.snapshots] == ["initial", "update"]
    assert detail.snapshots[0] == initial
    assert json.loads(detail.snapshots[1].evidence)["score"]["probability"] == 0.27
    assert (detail.probability, detail.band, detail.last_as_of) == (0.27, "very_high", NOV)
    assert detail.first_sign_on == date(2026, 3, 31)  # the earliest first sign is kept
    assert detail.flagged_on == make_flags.as_of and detail.version == 1  # reviewers' version untouched


def test_a_late_older_night_is_appended_without_overwriting_newer_values(store, people, make_flags):
    store.apply_flags(make_flags(make_flags.row(A, as_of=NOV, probability=0.3)), NOV, 6)
    store.apply_flags(make_flags(make_flags.row(A, probability=0.1)), make_flags.as_of, 6)
    [case] = store.all_cases(people.admin)
    detail = store.get_case(people.admin, case.id)
    assert [(s.kind, s.as_of) for s in detail.snapshots] == [("update", make_flags.as_of), ("initial", NOV)]
    assert (detail.probability, detail.last_as_of) == (0.3, NOV)


def test_reapplying_the_same_night_changes_nothing(store, people, make_flags, clock):
    frame = make_flags(A, B, make_flags.row(C, institutions=[("cga_13", "G-1")]))
    assert store.apply_flags(frame, make_flags.as_of, 6) == ApplyResult(opened=3)
    before, cases_before = _counts(store), store.all_cases(people.admin)
    clock.advance(hours=3)
    assert store.apply_flags(frame, make_flags.as_of, 6) == ApplyResult(unchanged=3)
    assert _counts(store) == before
    assert store.all_cases(people.admin) == cases_before  # not even updated_at moved
    # The next night appends once; re-running it is again a no-op.
    nov = make_flags(*(make_flags.row(k, as_of=NOV) for k in (A, B)))
    assert store.apply_flags(nov, NOV, 6) == ApplyResult(updated=2)
    after_nov = _counts(store)
    assert store.apply_flags(nov, NOV, 6) == ApplyResult(unchanged=2)
    assert _counts(store) == after_nov


def test_cooldown_after_dismissal(store, people, make_flags, work, clock):
    ids = work.open(make_flags(make_flags.row(A, critical_signs=["acc_tax_stopped"]), B))
    clock.set_day(date(2026, 11, 5))
    work.move(ids[A], State.DISMISSED)
    work.move(ids[B], State.DISMISSED)
    # Within six months, the same signs (or none) do not reopen the business ...
    result = store.apply_flags(make_flags(make_flags.row(A, as_of=NOV, critical_signs=["acc_tax_stopped"]),
                                          make_flags.row(B, as_of=NOV)), NOV, 6)
    assert result == ApplyResult(suppressed_by_cooldown=2)
    # ... a critical sign the dismissed case's initial snapshot did not have does.
    result = store.apply_flags(make_flags(
        make_flags.row(A, as_of=DEC, critical_signs=["acc_tax_stopped", "rep_dpd_90"]),
        make_flags.row(B, as_of=DEC)), DEC, 6)
    assert result == ApplyResult(opened=1, suppressed_by_cooldown=1)
    reopened = [c for c in store.all_cases(people.admin) if c.state is State.NEW]
    assert [c.business_key for c in reopened] == [A]
    assert reopened[0].id != ids[A]
    # Once the cooldown has passed (dismissed 2026-11-05, six months: 2027-05-05), B reopens.
    may = date(2027, 5, 31)
    assert store.apply_flags(make_flags(make_flags.row(B, as_of=may)), may, 6).opened == 1
    assert store.apply_flags(make_flags(make_flags.row(B, as_of=may)), may, 6) == ApplyResult(unchanged=1)


def test_no_cooldown_reopens_at_once(store, people, make_flags, work):
    ids = work.open(make_flags(A))
    work.move(ids[A], State.DISMISSED)
    assert store.apply_flags(make_flags(make_flags.row(A, as_of=NOV)), NOV, 0) == ApplyResult(opened=1)


def test_a_snoozed_case_wakes_on_a_new_critical_sign_or_when_its_snooze_is_over(store, people, make_flags, work, clock):
    ids = work.open(make_flags(make_flags.row(A, critical_signs=["acc_tax_stopped"]), B))
    work.move(ids[A], State.SNOOZED)
    work.move(ids[B], State.SNOOZED)  # until today + 30 days = 2026-12-24
    # Same sign again: stays snoozed. A sign never seen on the case: wakes.
    result = store.apply_flags(make_flags(
        make_flags.row(A, as_of=NOV, critical_signs=["acc_tax_stopped", "acc_payroll_stopped"]),
        make_flags.row(B, as_of=NOV)), NOV, 6)
    assert result == ApplyResult(updated=2, woken=1)
    a, b = store.get_case(people.bank_a, ids[A]), store.get_case(people.bank_a, ids[B])
    assert (a.state, b.state) == (State.UNDER_REVIEW, State.SNOOZED)
    assert a.history[-1].actor == "system" and "acc_payroll_stopped" in a.history[-1].note
    assert a.snooze_until is None
    # B's snooze ends 2026-12-24: the December night wakes it.
    assert store.apply_flags(make_flags(make_flags.row(B, as_of=DEC)), DEC, 6) == ApplyResult(updated=1, woken=1)
    b = store.get_case(people.bank_a, ids[B])
    assert b.state is State.UNDER_REVIEW and b.history[-1].from_state is State.SNOOZED


def test_wake_snoozed_by_date(store, people, make_flags, work):
    ids = work.open(make_flags(A))
    work.move(ids[A], State.SNOOZED)
    assert store.wake_snoozed(date(2026, 12, 23)) == 0
    assert store.wake_snoozed(date(2026, 12, 24)) == 1
    assert store.get_case(people.bank_a, ids[A]).state is State.UNDER_REVIEW


def test_a_referred_case_keeps_receiving_evidence_and_an_accepted_one_cools_down(
        store, people, make_flags, work):
    ids = work.open(make_flags(A))
    work.move(ids[A], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)
    assert store.apply_flags(make_flags(make_flags.row(A, as_of=NOV)), NOV, 6) == ApplyResult(updated=1)
    work.move(ids[A], State.ACCEPTED)
    assert store.apply_flags(make_flags(make_flags.row(A, as_of=DEC)), DEC, 6) == ApplyResult(
        suppressed_by_cooldown=1)


@pytest.mark.parametrize("change, message", [
    (lambda f: f.drop("evidence"), "lacks columns: evidence"),
    (lambda f: f.with_columns(phase=f["phase"].str.replace("management_improvement", "nope")), "unknown phase"),
    (lambda f: f.with_columns(evidence=f["evidence"].str.slice(0, 5)), "not JSON"),
])
def test_a_malformed_frame_is_refused_whole(store, people, make_flags, change, message):
    with pytest.raises(InvalidInput, match=message):
        store.apply_flags(change(make_flags(A, B)), make_flags.as_of, 6)
    with pytest.raises(InvalidInput, match="not 2026-11-30"):
        store.apply_flags(make_flags(A), NOV, 6)
    assert _counts(store)["cases"] == 0


def test_bulk_statements_not_one_round_trip_per_business(store, people, make_flags):
    keys = [f"{9000000000000 + i}" for i in range(2500)]
    frame = make_flags(*(make_flags.row(k, priority=i / 2500, priority_rank=2500 - i,
                                        institutions=[("bank_0116" if i % 2 else "cga_13", f"L{i}")])
                         for i, k in enumerate(keys)))
    statements = []
    event.listen(store.engine, "before_cursor_execute", lambda *a, **k: statements.append(1))
    assert store.apply_flags(frame, make_flags.as_of, 6).opened == 2500
    opened_with = len(statements)
    nov = frame.with_columns(as_of=NOV)
    assert store.apply_flags(nov, NOV, 6).updated == 2500
    assert opened_with < 60 and len(statements) - opened_with < 60
    page = store.list_cases(people.bank_a, CaseQuery(page_size=10))
    assert page.total == 1250 and page.items[0].priority == pytest.approx(2499 / 2500)


def test_a_night_written_in_small_chunks_is_the_same_night(store, people, make_flags, monkeypatch):
    """The night's rows go to the queue a chunk at a time (never all in memory at once); with
    chunks of two, eleven new cases and their updates a month later come out whole."""
    from signals.queue import batches, nightly

    keys = [f"{1010001000006 + 11 * i:013d}" for i in range(11)]
    monkeypatch.setattr(nightly, "CHUNK", 2)
    monkeypatch.setattr(nightly, "chunks", lambda items, size=2: batches.chunks(items, 2))
    first = make_flags(*[make_flags.row(k, priority=0.5 + i / 100, priority_rank=i + 1) for i, k in enumerate(keys)])
    assert store.apply_flags(first, make_flags.as_of, 6).opened == 11
    later = make_flags(*[make_flags.row(k, as_of=NOV, probability=0.3) for k in keys])
    assert store.apply_flags(later, NOV, 6).updated == 11
    assert _counts(store) == {"cases": 11, "case_institutions": 11, "evidence_snapshots": 22, "transitions": 11}
    assert {c.business_key for c in store.all_cases(people.admin)} == set(keys)
