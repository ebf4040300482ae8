"""The case lifecycle: every legal move, illegal ones refused, roles, the audit log."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from signals.queue import (
    TRANSITIONS,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    Route,
    State,
    allowed_targets,
)
from signals.queue.lifecycle import Role
from tests.signals.queue.conftest import consent_record

A = "7000012050002"
# How to bring a fresh case to each state a move starts from.
PATH_TO = {
    State.NEW: (),
    State.UNDER_REVIEW: (State.UNDER_REVIEW,),
    State.CONSENT_OBTAINED: (State.UNDER_REVIEW, State.CONSENT_OBTAINED),
    State.REFERRED: (State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED),
    State.SNOOZED: (State.SNOOZED,),
    State.ACCEPTED: (State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, State.ACCEPTED),
    State.DECLINED: (State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, State.DECLINED),
    State.DISMISSED: (State.DISMISSED,),
}


@pytest.mark.parametrize("move", sorted(TRANSITIONS), ids=lambda m: f"{m[0].value}->{m[1].value}")
def test_every_legal_transition_is_made_and_audited(store, people, make_flags, work, move):
    source, target = move
    case_id = work.open(make_flags(A))[A]
    work.move(case_id, *PATH_TO[source])
    user = people.council if target in (State.ACCEPTED, State.DECLINED) else people.bank_a
    before = store.get_case(user, case_id)
    assert before.state is source and target in before.allowed_transitions
    kwargs = {}
    if target is State.SNOOZED:
        kwargs["snooze_until"] = store.today() + timedelta(days=14)
    if target is State.CONSENT_OBTAINED:
        kwargs["consent"] = consent_record(store.today() - timedelta(days=1))
    if target is State.DISMISSED:
        kwargs["reason_code"] = "temporary"
    after = store.transition(user, case_id, target, expected_version=before.version, note="メモ", **kwargs)
    assert after.state is target and after.version == before.version + 1
    assert len(after.history) == len(before.history) + 1
    entry = after.history[-1]
    assert (entry.actor, entry.actor_role, entry.from_state, entry.to_state, entry.note) == (
        user.username, user.role.value, source, target, "メモ")
    assert entry.at == store.now()
    assert entry.reason_code == ("temporary" if target is State.DISMISSED else None)


def test_the_whole_way_to_the_council(store, people, make_flags, work, clock):
    case_id = work.open(make_flags(make_flags.row(A, institutions=[("bank_0116", "L1"), ("cga_13", "G1")],
                                                  phase="revitalisation")))[A]
    bank = people.bank_a
    case = store.transition(bank, case_id, State.UNDER_REVIEW, expected_version=1)
    case = store.transition(bank, case_id, State.CONSENT_OBTAINED, expected_version=case.version,
                            consent=consent_record(date(2026, 11, 20), shared=("repayment", "signs"),
                                                   method="electronic"), note="社長の同意書受領")
    assert (case.consent_on, case.consent_note) == (date(2026, 11, 20), "社長の同意書受領")
    assert (case.consent_method, case.consent_from, case.consent_document_ref, case.consent_shared,
            case.consent_recorded_by) == ("electronic", "代表取締役 山田太郎", "同意書-2026-001",
                                          ("repayment", "signs"), "reviewer.bank_0116")
    clock.set_day(date(2026, 11, 26))
    case = store.transition(bank, case_id, State.REFERRED, expected_version=case.version)
    assert (case.route, case.route_ja, case.referred_on) == (Route.BANK, "金融機関", date(2026, 11, 26))
    assert (case.referral_phase, case.referring_institution_id) == ("revitalisation", "bank_0116")
    clock.set_day(date(2026, 12, 3))
    case = store.transition(people.council, case_id, State.ACCEPTED, expected_version=case.version,
                            note="事前相談を受付")
    assert (case.state, case.closed_on, case.close_reason) == (State.ACCEPTED, date(2026, 12, 3), "事前相談を受付")
    assert [(h.actor, h.from_state, h.to_state) for h in case.history] == [
        ("system", None, State.NEW),
        ("reviewer.bank_0116", State.NEW, State.UNDER_REVIEW),
        ("reviewer.bank_0116", State.UNDER_REVIEW, State.CONSENT_OBTAINED),
        ("reviewer.bank_0116", State.CONSENT_OBTAINED, State.REFERRED),
        ("intake.council_13", State.REFERRED, State.ACCEPTED),
    ]
    assert case.allowed_transitions == ()


def test_a_cga_referral_is_counted_as_the_cga_route(store, people, make_flags, work):
    case_id = work.open(make_flags(make_flags.row(A, institutions=[("cga_13", "G1")])))[A]
    case = work.move(case_id, State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, reviewer=people.cga)
    assert (case.route, case.referring_institution_id) == (Route.CGA, "cga_13")


@pytest.mark.parametrize("source, target", [
    (State.NEW, State.CONSENT_OBTAINED),
    (State.NEW, State.REFERRED),
    (State.NEW, State.ACCEPTED),
    (State.UNDER_REVIEW, State.REFERRED),
    (State.UNDER_REVIEW, State.NEW),
    (State.CONSENT_OBTAINED, State.ACCEPTED),
    (State.REFERRED, State.DISMISSED),
    (State.REFERRED, State.SNOOZED),
    (State.SNOOZED, State.CONSENT_OBTAINED),
    (State.SNOOZED, State.DISMISSED),
    (State.DISMISSED, State.UNDER_REVIEW),
    (State.DECLINED, State.REFERRED),
    (State.ACCEPTED, State.DECLINED),
])
def test_illegal_transitions_are_refused_and_change_nothing(store, people, make_flags, work, source, target):
    case_id = work.open(make_flags(A))[A]
    work.move(case_id, *PATH_TO[source])
    user = people.council if source in (State.REFERRED, State.ACCEPTED, State.DECLINED) else people.bank_a
    before = store.get_case(user, case_id)
    with pytest.raises(IllegalTransition, match=f"{source.value} → {target.value}"):
        store.transition(user, case_id, target, expected_version=before.version, note="x",
                         snooze_until=date(2027, 1, 31), consent=consent_record(date(2026, 11, 1)))
    assert store.get_case(user, case_id) == before


def test_roles_may_only_make_their_own_moves(store, people, make_flags, work):
    case_id = work.open(make_flags(make_flags.row(A, institutions=[("bank_0116", "L1"), ("cga_13", "G1")])))[A]
    # Admin sees the case but does no case work.
    with pytest.raises(Forbidden):
        store.transition(people.admin, case_id, State.UNDER_REVIEW, expected_version=1)
    # Council intake does not see a case before it is referred.
    with pytest.raises(NotFound):
        store.transition(people.council, case_id, State.UNDER_REVIEW, expected_version=1)
    case = work.move(case_id, State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)
    # Reviewers do not decide for the council.
    for reviewer in (people.bank_a, people.cga):
        with pytest.raises(Forbidden):
            store.transition(reviewer, case_id, State.ACCEPTED, expected_version=case.version)
    assert allowed_targets(State.REFERRED, Role.BANK_REVIEWER) == []
    assert set(allowed_targets(State.REFERRED, Role.COUNCIL_INTAKE)) == {State.ACCEPTED, State.DECLINED}
    assert allowed_targets(State.NEW, Role.ADMIN) == []
    assert len(store.get_case(people.admin, case_id).history) == 4


def test_reasons_dates_and_consent_are_required(store, people, make_flags, work):
    case_id = work.open(make_flags(A))[A]
    bank, today = people.bank_a, store.today()
    with pytest.raises(InvalidInput, match="reason"):
        store.transition(bank, case_id, State.DISMISSED, expected_version=1, note="   ")
    with pytest.raises(InvalidInput, match="reason"):
        store.transition(bank, case_id, State.SNOOZED, expected_version=1, snooze_until=today + timedelta(days=9))
    with pytest.raises(InvalidInput, match="after today"):
        store.transition(bank, case_id, State.SNOOZED, expected_version=1, note="決算待ち", snooze_until=today)
    case = store.transition(bank, case_id, State.SNOOZED, expected_version=1, note="決算待ち",
                            snooze_until=today + timedelta(days=60))
    assert (case.snooze_until, case.snooze_reason) == (today + timedelta(days=60), "決算待ち")
    case = store.transition(bank, case_id, State.UNDER_REVIEW, expected_version=case.version)  # woken by hand
    assert case.snooze_until is None
    with pytest.raises(InvalidInput, match="consent"):
        store.transition(bank, case_id, State.CONSENT_OBTAINED, expected_version=case.version)
    with pytest.raises(InvalidInput, match="consent"):
        store.transition(bank, case_id, State.CONSENT_OBTAINED, expected_version=case.version,
                         consent=consent_record(today + timedelta(days=1)))
    case = work.move(case_id, State.CONSENT_OBTAINED, State.REFERRED)
    with pytest.raises(InvalidInput, match="reason"):
        store.transition(people.council, case_id, State.DECLINED, expected_version=case.version)
    with pytest.raises(InvalidInput, match="unknown state"):
        store.transition(people.council, case_id, "approved", expected_version=case.version)
    assert [h.to_state for h in store.get_case(bank, case_id).history] == [
        State.NEW, State.SNOOZED, State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED]
