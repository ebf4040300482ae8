"""The council's report (signals/queue/stage_kpis.py), on both backends, with known answers:
consultations by route and fiscal quarter of acceptance (April start), completions under the
latest phase, and the median months from first sign to referral to plan agreed; per council
for council intake, national with the breakdown for an administrator."""
from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from signals.queue import State
from signals.queue.followup_cohort import cohort
from signals.queue.stage_kpis import DAYS_PER_MONTH, NATIONAL, NO_PHASE
from tests.signals.queue.conftest import consent_record
from tests.signals.queue.test_queue_councils import placed

A, B, C, D = "7000012050002", "4000012090001", "1010001000006", "2000012010019"
E, F = "bank_0116:L-E", "bank_0005:L-F"  # flagged, never referred: 東京都 (bank A) and 大阪府 (bank B)


def _move(store, user, case_id, target, **kwargs):
    version = store.get_case(user, case_id).version
    return store.transition(user, case_id, target, expected_version=version, note="理由", **kwargs)


def _refer_and_accept(store, people, clock, case_id, reviewer, intake, day):
    clock.set_day(day)
    _move(store, reviewer, case_id, State.UNDER_REVIEW)
    _move(store, reviewer, case_id, State.CONSENT_OBTAINED, consent=consent_record(day))
    _move(store, reviewer, case_id, State.REFERRED)
    _move(store, intake, case_id, State.ACCEPTED)


@pytest.fixture
def report(store, people, make_flags, work, clock):
    """A (bank A, 東京都) accepted 2027-03-31; B (the association) 2027-04-01; C (士業, by hand)
    2027-04-10; D (bank B, 大阪府's council) 2027-04-02. First signs on 2026-06-30 (C: none)."""
    ids = work.open(make_flags(make_flags.row(A), make_flags.row(B, institutions=[("cga_13", "G-1")]),
                               make_flags.row(D, institutions=[("bank_0005", "B-1")]),
                               placed(E, 13), placed(F, 27, institutions=[("bank_0005", "B-9")])))
    _refer_and_accept(store, people, clock, ids[A], people.bank_a, people.council, date(2027, 3, 31))
    _refer_and_accept(store, people, clock, ids[B], people.cga, people.council, date(2027, 4, 1))
    _refer_and_accept(store, people, clock, ids[D], people.bank_b, people.council_other, date(2027, 4, 2))
    clock.set_day(date(2027, 4, 10))
    c = store.register_manual_referral(people.council, C, "professional", "税理士から").id
    _move(store, people.council, c, State.ACCEPTED)
    clock.set_day(date(2027, 12, 31))
    stage = store.record_stage
    stage(people.council, ids[A], "management_improvement", on=date(2027, 4, 15), measures=["value_up"])
    stage(people.council, ids[A], "plan_agreed", on=date(2027, 6, 30))  # 91 days after the referral
    stage(people.council, ids[A], "completed", on=date(2027, 7, 1))  # FY2027 Q2
    stage(people.council, ids[B], "revitalization", on=date(2027, 5, 1), measures=["dds"])
    stage(people.council, ids[B], "plan_agreed", on=date(2027, 10, 1))  # 183 days
    stage(people.council, ids[B], "completed", on=date(2027, 12, 1))  # FY2027 Q3
    stage(people.council, c, "plan_agreed", on=date(2027, 5, 10))  # 30 days
    stage(people.council, c, "completed", on=date(2027, 5, 11))  # FY2027 Q1, no phase recorded
    stage(people.council_other, ids[D], "earnings_improvement", on=date(2027, 4, 30))
    stage(people.council_other, ids[D], "completed", on=date(2027, 6, 30))  # FY2027 Q1
    return ids


def test_the_council_counts_its_own_consultations_by_route_and_fiscal_quarter(store, people, report):
    k = store.stage_kpis(people.council)
    # 2027-03-31 is the last day of FY2026; 2027-04-01 opens FY2027 Q1
    assert k.consultations[NATIONAL] == {("FY2026 Q4", "金融機関"): 1, ("FY2027 Q1", "信用保証協会"): 1,
                                         ("FY2027 Q1", "士業"): 1}
    assert k.completions[NATIONAL] == {("FY2027 Q2", "経営改善支援"): 1, ("FY2027 Q3", "事業再生支援"): 1,
                                       ("FY2027 Q1", NO_PHASE): 1}
    assert k.councils == ["council_13"] and k.quarters(k.consultations) == ["FY2026 Q4", "FY2027 Q1"]


def test_the_medians_in_months_with_their_counts(store, people, report):
    d = store.stage_kpis(people.council).durations[NATIONAL]
    # referral → plan: 30, 91, 183 days; sign → referral: 274 and 275 days (C has no first sign)
    assert (d["referral_to_plan"].count, d["referral_to_plan"].median_months) == (3, pytest.approx(91 / DAYS_PER_MONTH))
    assert (d["sign_to_referral"].count, d["sign_to_referral"].median_months) == (
        2, pytest.approx(274.5 / DAYS_PER_MONTH))
    # sign → plan: A 365, B 458 days
    assert (d["sign_to_plan"].count, d["sign_to_plan"].median_months) == (2, pytest.approx(411.5 / DAYS_PER_MONTH))


def test_an_administrator_counts_every_council_with_the_breakdown(store, people, report):
    k = store.stage_kpis(people.admin)
    assert k.councils == ["council_13", "council_27"]
    assert sum(k.consultations[NATIONAL].values()) == 4
    assert k.consultations["council_27"] == {("FY2027 Q1", "金融機関"): 1}
    assert k.completions["council_27"] == {("FY2027 Q1", "収益力改善支援"): 1}
    assert k.durations["council_27"]["sign_to_referral"].count == 1
    assert k.durations[NATIONAL]["sign_to_referral"].count == 3
    other = store.stage_kpis(people.council_other)
    assert other.councils == ["council_27"] and sum(other.consultations[NATIONAL].values()) == 1
    # a bank counts the referrals among its own cases only
    assert store.stage_kpis(people.bank_b).consultations[NATIONAL] == {("FY2027 Q1", "金融機関"): 1}


def test_the_follow_up_cohort_of_each_user(store, people, report):
    """Referred with a plan agreed (A, B, C; D has none) within scope; the comparison: flagged,
    never referred, within scope — none for council intake, which reads no business without consent."""
    def groups(user):
        with store.engine.connect() as conn:
            frame = cohort(conn, store._actor(conn, user))
        return {g: sorted(frame.filter(frame["grp"] == g)["business_key"]) for g in ("referred", "comparison")}

    assert groups(people.admin) == {"referred": sorted([A, B, C]), "comparison": sorted([E, F])}
    assert groups(people.council) == {"referred": sorted([A, B, C]), "comparison": []}
    assert groups(people.council_other) == {"referred": [], "comparison": []}
    assert groups(people.bank_a) == {"referred": [A], "comparison": [E]}
    with store.engine.connect() as conn:
        row = cohort(conn, store._actor(conn, people.admin)).filter(pl.col("business_key") == A).row(0, named=True)
    assert (row["flagged_on"], row["phase"], row["band"], row["plan_agreed_on"]) == (
        date(2026, 10, 31), "management_improvement", "high", date(2027, 6, 30))


def test_the_fiscal_quarter_in_sql_agrees_with_the_reports_rule(store):
    """Every month of two years, on the backend's own date functions: April–June is Q1 of the
    fiscal year that starts in April, January–March Q4 of the year before."""
    from sqlalchemy import literal, select
    from sqlalchemy.types import Date

    from signals.queue.kpis import fiscal_quarter
    from signals.queue.stage_kpis import fiscal_quarter_sql

    days = [date(year, month, day) for year in (2026, 2027) for month in range(1, 13) for day in (1, 28)]
    with store.engine.connect() as conn:
        got = [tuple(int(v) for v in conn.execute(select(*fiscal_quarter_sql(literal(d, Date)))).one())
               for d in days]
    assert got == [fiscal_quarter(d) for d in days]
    assert fiscal_quarter(date(2027, 3, 31)) == (2026, 4) and fiscal_quarter(date(2027, 4, 1)) == (2027, 1)
