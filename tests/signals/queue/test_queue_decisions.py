"""Reviewers' decisions: coded dismissal reasons in the audit log, and how similar closed cases
ended (signals/queue/outcomes.py), counted within the viewer's scope only."""
from __future__ import annotations

from datetime import UTC, date

import pytest
from sqlalchemy import select

from signals.queue import InvalidInput, NotFound, State
from signals.queue.lifecycle import DISMISS_REASON_JA, REASON_CODES, DismissReason
from signals.queue.outcomes import MIN_SIMILAR, similar_outcomes
from signals.queue.schema import transitions
from yocho.contract import corporate_number_check_digit


def key(n: int) -> str:
    base = f"{n:012d}"
    return f"{corporate_number_check_digit(base)}{base}"


def test_the_declared_codes_have_japanese_labels() -> None:
    assert set(REASON_CODES[State.DISMISSED]) == {r.value for r in DismissReason}
    assert REASON_CODES[State.DISMISSED]["temporary"] == "一時的な要因"
    assert DISMISS_REASON_JA[DismissReason.OTHER] == "その他（記述）"


def test_a_dismissal_needs_a_valid_code_and_the_code_is_audited(store, people, make_flags, work):
    case_id = work.open(make_flags(key(1)))[key(1)]
    bank = people.bank_a
    with pytest.raises(InvalidInput, match="理由を選んでください.*一時的な要因 \\(temporary\\)"):
        store.transition(bank, case_id, State.DISMISSED, expected_version=1, note="返済は正常")
    with pytest.raises(InvalidInput, match="理由コード 'fine' はありません"):
        store.transition(bank, case_id, State.DISMISSED, expected_version=1, reason_code="fine")
    with pytest.raises(InvalidInput, match="記述してください"):  # その他 needs its description
        store.transition(bank, case_id, State.DISMISSED, expected_version=1, reason_code="other", note="  ")
    with pytest.raises(InvalidInput, match="takes no reason code"):
        store.transition(bank, case_id, State.UNDER_REVIEW, expected_version=1, reason_code="healthy")
    assert store.get_case(bank, case_id).state is State.NEW  # nothing changed

    case = store.transition(bank, case_id, State.DISMISSED, expected_version=1, reason_code="healthy")
    assert case.state is State.DISMISSED
    assert case.close_reason == "事業は健全"  # the label, when no note was written
    assert (case.history[-1].to_state, case.history[-1].reason_code) == (State.DISMISSED, "healthy")
    with store.engine.connect() as conn:
        row = conn.execute(select(transitions.c.reason_code, transitions.c.note)
                           .where(transitions.c.case_id == case_id, transitions.c.to_state == "dismissed")).one()
    assert tuple(row) == ("healthy", None)

    other = work.open(make_flags(key(2)))[key(2)]
    case = store.transition(bank, other, State.DISMISSED, expected_version=1, reason_code="other",
                            note="代表者交代で事業承継済")
    assert case.close_reason == "その他（記述）：代表者交代で事業承継済"
    assert case.history[-1].reason_code == "other"


def _open_many(work, make_flags, numbers, institution, phase="management_improvement"):
    rows = [make_flags.row(key(n), institutions=[(institution, f"L-{n}")], phase=phase) for n in numbers]
    opened = work.open(make_flags(*rows))
    return [opened[key(n)] for n in numbers]


def test_similar_cases_are_counted_in_the_viewers_scope_only(store, people, make_flags, work, clock):
    bank_a_cases = _open_many(work, make_flags, range(10, 18), "bank_0116")
    bank_b_cases = _open_many(work, make_flags, range(30, 37), "bank_0005")
    other_phase = _open_many(work, make_flags, range(50, 56), "bank_0116", phase="revitalisation")
    target = bank_a_cases[0]
    clock.set_day(date(2027, 1, 31))  # flagged 2026-10-31: 92 days, 3.0 months to close

    # Another bank's closed cases, and other phases, are never counted.
    for case_id in bank_b_cases:
        work.move(case_id, State.DISMISSED, reviewer=people.bank_b, reason_code="data_error")
    for case_id in other_phase:
        work.move(case_id, State.DISMISSED, reason_code="healthy")
    work.move(bank_a_cases[1], State.DISMISSED, reason_code="temporary")
    work.move(bank_a_cases[2], State.DISMISSED, reason_code="temporary")
    work.move(bank_a_cases[3], State.DISMISSED, reason_code="already_supported")
    work.move(bank_a_cases[4], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, State.ACCEPTED)
    few = similar_outcomes(store, people.bank_a, target)
    assert not few.shown and few.total == 0 and few.by_outcome == {} and few.median_months_to_close is None

    work.move(bank_a_cases[5], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)
    work.move(bank_a_cases[5], State.DECLINED, note="支援対象外")
    shown = similar_outcomes(store, people.bank_a, target)
    assert shown.shown and shown.total == MIN_SIMILAR == 5
    assert shown.trigger == "score" and shown.phase == "management_improvement"
    assert shown.by_outcome == {State.ACCEPTED: 1, State.DECLINED: 1, State.DISMISSED: 3}
    assert shown.dismissed_by_reason == {"temporary": 2, "already_supported": 1}
    assert shown.median_months_to_close == 3.0

    # The other bank sees its own 7 dismissals, for its own case, and never bank A's case.
    b = similar_outcomes(store, people.bank_b, _open_many(work, make_flags, [40], "bank_0005")[0])
    assert b.total == 7 and b.dismissed_by_reason == {"data_error": 7}
    with pytest.raises(NotFound):
        similar_outcomes(store, people.bank_b, target)
    # Council intake counts only referrals made to it: 2 here, fewer than 5, so nothing is shown.
    work.move(bank_a_cases[6], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)
    council = similar_outcomes(store, people.council, bank_a_cases[6])
    assert not council.shown and council.total == 0
    # An administrator counts everything: bank A's 5 and bank B's 7.
    assert similar_outcomes(store, people.admin, target).total == 12


def test_fewer_with_the_same_trigger_falls_back_to_the_phase(store, people, make_flags, work):
    rows = [make_flags.row(key(n), institutions=[("bank_0116", f"L-{n}")]) for n in range(60, 66)]
    critical = make_flags.row(key(70), institutions=[("bank_0116", "L-70")], critical_signs=["rep_dpd_90"])
    opened = work.open(make_flags(*rows, critical))
    for n in range(60, 66):
        work.move(opened[key(n)], State.DISMISSED)
    result = similar_outcomes(store, people.bank_a, opened[key(70)])
    assert result.trigger is None and result.total == 6  # no closed case with its trigger ("both")


def test_decision_kpis_per_fiscal_quarter_in_the_users_scope(store, people, make_flags, work, clock):
    from datetime import datetime

    from signals.queue.kpis import decision_kpis

    opened = work.open(make_flags(*(make_flags.row(key(n), institutions=[("bank_0116", f"L-{n}")])
                                    for n in (80, 81, 82, 83)),
                                  make_flags.row(key(90), institutions=[("bank_0005", "B-90")])))
    clock.set_day(date(2026, 11, 24))  # FY2026 Q3
    work.move(opened[key(80)], State.DISMISSED, reason_code="temporary")
    work.move(opened[key(81)], State.SNOOZED)
    work.move(opened[key(90)], State.DISMISSED, reviewer=people.bank_b, reason_code="healthy")
    clock.now = datetime(2027, 3, 31, 16, 0, tzinfo=UTC)  # 2027-04-01 01:00 in Japan: FY2027 Q1
    work.move(opened[key(82)], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)
    work.move(opened[key(83)], State.DISMISSED, reason_code="other", note="廃業済み")
    store.register_manual_referral(people.council, key(99), "士業", None)  # not a reviewer's decision

    bank = decision_kpis(store, people.bank_a)
    assert bank.total == {State.DISMISSED: 2, State.SNOOZED: 1, State.CONSENT_OBTAINED: 1, State.REFERRED: 1}
    assert list(bank.by_quarter) == ["FY2026 Q3", "FY2027 Q1"]
    assert bank.by_quarter["FY2026 Q3"] == {State.DISMISSED: 1, State.SNOOZED: 1, State.CONSENT_OBTAINED: 0,
                                            State.REFERRED: 0}
    assert bank.by_quarter["FY2027 Q1"][State.REFERRED] == 1
    assert bank.dismissed_by_reason == {"temporary": 1, "other": 1}
    assert bank.dismissed_by_quarter_reason == {("FY2026 Q3", "temporary"): 1, ("FY2027 Q1", "other"): 1}
    # Another bank's decisions are its own.
    assert decision_kpis(store, people.bank_b).dismissed_by_reason == {"healthy": 1}
    # Council intake sees the referral made to it, nothing of the banks' dismissals or snoozes.
    council = decision_kpis(store, people.council)
    assert council.total == {State.DISMISSED: 0, State.SNOOZED: 0, State.CONSENT_OBTAINED: 1, State.REFERRED: 1}
    assert decision_kpis(store, people.admin).total[State.DISMISSED] == 3
    # A period, in days in Japan.
    q1 = decision_kpis(store, people.bank_a, since=date(2027, 4, 1))
    assert list(q1.by_quarter) == ["FY2027 Q1"] and q1.total[State.SNOOZED] == 0
