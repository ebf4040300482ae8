"""Loan-repayment signals on hand-made rows; expected values worked out by hand.

T = 2025-06-30 throughout. With recent_months = 3 a loan month counts as "latest" only when it is
after 2025-03-30 (April, May or June 2025); a month's row is received on the 12th of the next
month unless a test says otherwise, so as of T the latest visible month is May 2025.
"""
from __future__ import annotations

import json
from datetime import date

from features.catalog import Family
from tests.features.tiny import Tiny

CN = "7000012050002"  # valid 法人番号s
CN2 = "5100012050002"
CN3 = "3200012050002"
T = date(2025, 6, 30)
LATER = date(2025, 7, 31)
R = Family.REPAYMENT


def _m(year: int, month: int) -> date:
    return date(year, month, 1)


def _received(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 12)


def _loan(loan_id: str, month: date, *, local_id: str = "A1", cn: str = CN, received: date | None = None,
          balance: int = 10_000_000, scheduled: int = 100_000, paid: int | None = None, dpd: int = 0,
          restructured: bool = False, od_limit: int = 0, od_used: int = 0) -> dict:
    return dict(loan_id=loan_id, local_id=local_id, corporate_number=cn, month=month, balance_jpy=balance,
                scheduled_jpy=scheduled, paid_jpy=scheduled if paid is None else paid, days_past_due=dpd,
                restructured=restructured, guaranteed=False, overdraft_limit_jpy=od_limit,
                overdraft_used_jpy=od_used, received_on=received or _received(month))


def _od(loan_id: str, month: date, used: int, *, limit: int = 1_000_000, received: date | None = None) -> dict:
    return _loan(loan_id, month, balance=used, scheduled=0, od_limit=limit, od_used=used, received=received)


def _account(month: date, inflow: int, *, received: date | None = None, local_id: str = "A1") -> dict:
    return dict(local_id=local_id, corporate_number=CN, month=month, inflow_jpy=inflow, outflow_jpy=inflow,
                month_end_balance_jpy=5_000_000, average_balance_jpy=5_000_000, failed_debits=0,
                received_on=received or _received(month))


def _guarantee(gid: str, month: date, lender: str, *, status: str = "normal", balance: int = 5_000_000,
               received: date | None = None) -> dict:
    return dict(guarantee_id=gid, local_id="G-A1", corporate_number=CN, lender_bank_code=lender, month=month,
                balance_jpy=balance, status=status, received_on=received or _received(month))


def _class(classified_on: date, debtor_class: str, received: date, local_id: str = "A1") -> dict:
    return dict(local_id=local_id, corporate_number=CN, classified_on=classified_on, debtor_class=debtor_class,
                received_on=received)


def _vaf(row: dict) -> tuple:
    return row["value"], row["available"], row["fired"]


def _unavailable(row: dict) -> bool:
    return (row["available"], row["value"], row["fired"], row["evidence"]) == (False, None, None, None)


# --- days past due -----------------------------------------------------------------------

def test_days_past_due_takes_each_loans_latest_month_across_banks():
    tiny = Tiny().add("loans", "bank_0116",
                      _loan("L1", _m(2025, 4), dpd=95),
                      _loan("L1", _m(2025, 5), dpd=35),    # L1's latest month: 35 days (the April 95 is history)
                      _loan("L2", _m(2025, 5)),
                      _loan("L3", _m(2025, 2), dpd=120))   # February is before 2025-03-30: stale, ignored
    tiny.add("loans", "bank_0117", _loan("K1", _m(2025, 5), local_id="B1"))
    got = tiny.run(T, family=R)
    # max over the latest months: max(35, 0, 0) = 35
    assert _vaf(got[(CN, T, "rep_dpd_any")]) == (35.0, True, True)
    assert _vaf(got[(CN, T, "rep_dpd_30")]) == (35.0, True, True)
    assert _vaf(got[(CN, T, "rep_dpd_90")]) == (35.0, True, False)   # 35 < 90
    assert got[(CN, T, "rep_dpd_90")]["evidence"] is None
    assert json.loads(got[(CN, T, "rep_dpd_30")]["evidence"]) == {
        "max_days_past_due": 35,
        "loans": [{"bank": "bank_0116", "loan_id": "L1", "month": "2025-05-01", "days_past_due": 35}]}


def test_ninety_days_at_another_bank_is_critical():
    tiny = Tiny().add("loans", "bank_0116", _loan("L1", _m(2025, 5), dpd=0))
    tiny.add("loans", "bank_0117", _loan("K1", _m(2025, 4), local_id="B1", dpd=100))  # same 法人番号
    row = tiny.run(T, family=R)[(CN, T, "rep_dpd_90")]
    assert (row["value"], row["fired"], row["severity"]) == (100.0, True, "critical")
    assert json.loads(row["evidence"])["loans"] == [
        {"bank": "bank_0117", "loan_id": "K1", "month": "2025-04-01", "days_past_due": 100}]


def test_loans_paid_on_time_do_not_fire():
    got = Tiny().add("loans", "bank_0116", _loan("L1", _m(2025, 5))).run(T, family=R)
    for indicator in ("rep_dpd_any", "rep_dpd_30", "rep_dpd_90"):
        assert _vaf(got[(CN, T, indicator)]) == (0.0, True, False)


def test_without_a_recent_loan_month_everything_on_loans_is_unavailable():
    # The business is known (a deposit account) but its only loan row is January 2025: stale at T.
    tiny = Tiny().add("accounts", "bank_0116", _account(_m(2025, 5), 1_000_000))
    tiny.add("loans", "bank_0116", _loan("L1", _m(2025, 1), dpd=60))
    got = tiny.run(T, family=R)
    for indicator in ("rep_dpd_any", "rep_dpd_30", "rep_dpd_90", "rep_partial_payment", "rep_restructured",
                      "rep_overdraft_near_limit", "rep_overdraft_rising", "rep_borrowing_up_inflow_down",
                      "rep_more_lenders", "rep_bank_class_watch"):
        assert _unavailable(got[(CN, T, indicator)]), indicator


def test_days_past_due_point_in_time_and_corrections():
    tiny = Tiny().add("loans", "bank_0116",
                      _loan("L1", _m(2025, 4), dpd=10),
                      _loan("L1", _m(2025, 5), dpd=40, received=date(2025, 7, 3)),   # after T
                      _loan("L2", _m(2025, 5), dpd=50, received=date(2025, 6, 12)),
                      _loan("L2", _m(2025, 5), dpd=0, received=date(2025, 6, 20)))   # correction: 0
    got = tiny.run(T, LATER, family=R)
    # at T: L1 latest = April (10), L2 May corrected to 0 -> max 10
    assert _vaf(got[(CN, T, "rep_dpd_30")]) == (10.0, True, False)
    # at 2025-07-31: L1 May (40) is visible -> max 40
    assert _vaf(got[(CN, LATER, "rep_dpd_30")]) == (40.0, True, True)


# --- partial payments --------------------------------------------------------------------

def test_partial_payment_counts_short_months_in_the_last_three():
    tiny = Tiny().add("loans", "bank_0116",
                      _loan("L1", _m(2025, 2), paid=0),          # outside Mar-May: not counted
                      _loan("L1", _m(2025, 3)),
                      _loan("L1", _m(2025, 4), paid=60_000),     # short
                      _loan("L1", _m(2025, 5)),
                      _loan("L2", _m(2025, 4), paid=90_000),     # short, same month as L1's
                      _loan("OD", _m(2025, 5), scheduled=0, paid=0, od_limit=1_000_000))
    row = tiny.run(T, family=R)[(CN, T, "rep_partial_payment")]
    # latest month May; window Mar, Apr, May; only April short (two loans) -> 1 month
    assert _vaf(row) == (1.0, True, True)
    assert json.loads(row["evidence"]) == {
        "months_short": 1, "months": ["2025-04-01"], "latest_month": "2025-05-01",
        "shortfalls": [
            {"bank": "bank_0116", "loan_id": "L1", "month": "2025-04-01", "scheduled_jpy": 100_000, "paid_jpy": 60_000},
            {"bank": "bank_0116", "loan_id": "L2", "month": "2025-04-01", "scheduled_jpy": 100_000, "paid_jpy": 90_000}]}


def test_paid_in_full_does_not_fire_and_overdraft_only_is_unavailable():
    tiny = Tiny().add("loans", "bank_0116", _loan("L1", _m(2025, 5), paid=120_000))  # paid more: fine
    tiny.add("loans", "bank_0117", _od("K1", _m(2025, 5), 100_000) | dict(local_id="B1", corporate_number=CN2))
    got = tiny.run(T, family=R)
    assert _vaf(got[(CN, T, "rep_partial_payment")]) == (0.0, True, False)
    assert _unavailable(got[(CN2, T, "rep_partial_payment")])   # no scheduled repayment at all


def test_partial_payment_point_in_time():
    tiny = Tiny().add("loans", "bank_0116",
                      _loan("L1", _m(2025, 4)),
                      _loan("L1", _m(2025, 5), paid=50_000, received=date(2025, 7, 5)))
    got = tiny.run(T, LATER, family=R)
    # at T the window ends in April (Feb-Apr): nothing short; later May is in and short
    assert _vaf(got[(CN, T, "rep_partial_payment")]) == (0.0, True, False)
    assert _vaf(got[(CN, LATER, "rep_partial_payment")]) == (1.0, True, True)


# --- restructuring -----------------------------------------------------------------------

def test_restructuring_within_twelve_months_fires_even_after_it_ended():
    tiny = Tiny().add("loans", "bank_0116",
                      _loan("L1", _m(2024, 8)),
                      _loan("L1", _m(2024, 9), restructured=True),    # newly restructured
                      _loan("L1", _m(2024, 10), restructured=True),
                      _loan("L1", _m(2024, 11)),
                      _loan("L1", _m(2025, 5)),
                      _loan("L2", _m(2025, 5), restructured=True))    # in force, first seen so (not "newly")
    row = tiny.run(T, family=R)[(CN, T, "rep_restructured")]
    # window: months after 2024-06-30 -> L1 (Sep, Oct) and L2 (May) -> 2 loans; in force now: L2 only
    assert _vaf(row) == (2.0, True, True)
    assert json.loads(row["evidence"]) == {
        "loans": ["bank_0116:L1", "bank_0116:L2"], "in_force_at_latest_month": 1,
        "first_restructured_month_in_window": "2024-09-01", "newly_restructured_month": "2024-09-01"}


def test_restructuring_older_than_the_window_does_not_fire():
    tiny = Tiny().add("loans", "bank_0116",
                      _loan("L1", _m(2024, 6), restructured=True),    # June 2024 is not after 2024-06-30
                      _loan("L1", _m(2025, 5)))
    assert _vaf(tiny.run(T, family=R)[(CN, T, "rep_restructured")]) == (0.0, True, False)
    # a wider window reaches it
    wider = tiny.run(T, family=R, thresholds={"rep_restructured.window_months": 13})
    assert _vaf(wider[(CN, T, "rep_restructured")]) == (1.0, True, True)


def test_restructuring_point_in_time_and_unavailable():
    tiny = Tiny().add("loans", "bank_0116",
                      _loan("L1", _m(2025, 4)),
                      _loan("L1", _m(2025, 5), restructured=True, received=date(2025, 7, 10)))
    tiny.add("loans", "bank_0117", _loan("K1", _m(2024, 12), local_id="B1", cn=CN2, restructured=True))
    got = tiny.run(T, LATER, family=R)
    assert _vaf(got[(CN, T, "rep_restructured")]) == (0.0, True, False)
    assert _vaf(got[(CN, LATER, "rep_restructured")]) == (1.0, True, True)
    assert _unavailable(got[(CN2, T, "rep_restructured")])   # no loan month since 2025-03-30


# --- overdraft ---------------------------------------------------------------------------

def test_overdraft_near_limit():
    tiny = Tiny().add("loans", "bank_0116",
                      _od("OD1", _m(2025, 5), 950_000),                  # 950,000 / 1,000,000 = 0.95
                      _od("OD2", _m(2025, 5), 400_000, limit=2_000_000),  # 0.2
                      _loan("L1", _m(2025, 5)))
    row = tiny.run(T, family=R)[(CN, T, "rep_overdraft_near_limit")]
    assert _vaf(row) == (0.95, True, True)
    assert json.loads(row["evidence"]) == {
        "utilisation": 0.95, "bank": "bank_0116", "loan_id": "OD1", "month": "2025-05-01",
        "limit_jpy": 1_000_000, "used_jpy": 950_000, "overdraft_lines": 2}


def test_overdraft_with_headroom_does_not_fire_and_no_line_is_unavailable():
    tiny = Tiny().add("loans", "bank_0116", _od("OD1", _m(2025, 5), 500_000))   # 0.5
    tiny.add("loans", "bank_0117", _loan("K1", _m(2025, 5), local_id="B1", cn=CN2))
    got = tiny.run(T, family=R)
    assert _vaf(got[(CN, T, "rep_overdraft_near_limit")]) == (0.5, True, False)
    assert _unavailable(got[(CN2, T, "rep_overdraft_near_limit")])
    assert _unavailable(got[(CN2, T, "rep_overdraft_rising")])


def test_overdraft_near_limit_point_in_time():
    tiny = Tiny().add("loans", "bank_0116",
                      _od("OD1", _m(2025, 4), 600_000),
                      _od("OD1", _m(2025, 5), 990_000, received=date(2025, 7, 1)))
    got = tiny.run(T, LATER, family=R)
    assert _vaf(got[(CN, T, "rep_overdraft_near_limit")]) == (0.6, True, False)
    assert _vaf(got[(CN, LATER, "rep_overdraft_near_limit")]) == (0.99, True, True)


def test_overdraft_rising_by_points_over_six_months():
    tiny = Tiny().add("loans", "bank_0116",
                      _od("OD1", _m(2024, 11), 400_000),
                      _od("OD1", _m(2025, 5), 650_000))
    row = tiny.run(T, family=R)[(CN, T, "rep_overdraft_rising")]
    # May vs November: 0.65 - 0.40 = 25 points >= 20
    assert _vaf(row) == (25.0, True, True)
    assert json.loads(row["evidence"])["lines"] == [{
        "bank": "bank_0116", "loan_id": "OD1", "month": "2025-05-01", "utilisation": 0.65,
        "base_month": "2024-11-01", "base_utilisation": 0.4, "rise_points": 25.0,
        "rising_months_running": False, "streak_start_month": None, "streak_start_utilisation": None}]


def test_overdraft_rising_three_months_running():
    rows = [_od("OD1", _m(2024, 11), 550_000)] + [
        _od("OD1", _m(2025, m), used) for m, used in ((2, 500_000), (3, 520_000), (4, 550_000), (5, 610_000))]
    row = Tiny().add("loans", "bank_0116", *rows).run(T, family=R)[(CN, T, "rep_overdraft_rising")]
    # vs November: 0.61 - 0.55 = 6 points (< 20); but Mar, Apr, May each rose and May - Feb = 11 points >= 10
    assert _vaf(row) == (6.0, True, True)
    line = json.loads(row["evidence"])["lines"][0]
    assert (line["rising_months_running"], line["streak_start_month"], line["streak_start_utilisation"]) == (
        True, "2025-02-01", 0.5)


def test_overdraft_drifting_up_a_little_does_not_fire():
    rows = [_od("OD1", _m(2024, 11), 500_000)] + [
        _od("OD1", _m(2025, m), used) for m, used in ((2, 500_000), (3, 510_000), (4, 520_000), (5, 530_000))]
    row = Tiny().add("loans", "bank_0116", *rows).run(T, family=R)[(CN, T, "rep_overdraft_rising")]
    # three rises but only 3 points in all (< 10); 3 points vs November (< 20)
    assert _vaf(row) == (3.0, True, False)
    assert row["evidence"] is None


def test_overdraft_rising_needs_the_month_six_before_and_respects_the_cut_off():
    tiny = Tiny().add("loans", "bank_0116",
                      _od("OD1", _m(2024, 10), 300_000),
                      _od("OD1", _m(2025, 4), 350_000),
                      _od("OD1", _m(2025, 5), 600_000, received=date(2025, 7, 2)))
    tiny.add("loans", "bank_0117", _od("K1", _m(2025, 5), 900_000) | dict(local_id="B1", corporate_number=CN2))
    got = tiny.run(T, LATER, family=R)
    # at T: April vs October 2024 = 35 - 30 = 5 points; later: May vs November 2024 -> no November row
    assert _vaf(got[(CN, T, "rep_overdraft_rising")]) == (5.0, True, False)
    assert _unavailable(got[(CN, LATER, "rep_overdraft_rising")])
    assert _unavailable(got[(CN2, T, "rep_overdraft_rising")])   # a line with one month of history


# --- borrowing up while receipts fall ----------------------------------------------------

def _accounts(year: int, inflow: int) -> list[dict]:
    return [_account(_m(year, m), inflow) for m in (2, 3, 4, 5)]


def test_borrowing_up_while_inflows_fall_fires():
    tiny = Tiny().add("loans", "bank_0116",
                      _loan("L1", _m(2024, 5), balance=10_000_000),
                      _loan("L1", _m(2025, 5), balance=11_500_000))
    tiny.add("accounts", "bank_0116", *_accounts(2024, 1_000_000), *_accounts(2025, 800_000))
    row = tiny.run(T, family=R)[(CN, T, "rep_borrowing_up_inflow_down")]
    # balance 11.5M / 10M - 1 = 0.15 >= 0.10; inflows Mar-May 2.4M vs 3.0M: 2.4/3.0 - 1 = -0.20 <= -0.10
    assert _vaf(row) == (0.15, True, True)
    assert json.loads(row["evidence"]) == {
        "balance_jpy": 11_500_000, "balance_month": "2025-05-01",
        "balance_year_ago_jpy": 10_000_000, "balance_year_ago_month": "2024-05-01", "balance_growth": 0.15,
        "inflow_jpy": 2_400_000, "inflow_year_ago_jpy": 3_000_000, "inflow_latest_month": "2025-05-01",
        "inflow_change": -0.2}


def test_borrowing_up_with_steady_inflows_does_not_fire_and_needs_accounts():
    tiny = Tiny().add("loans", "bank_0116",
                      _loan("L1", _m(2024, 5), balance=10_000_000),
                      _loan("L1", _m(2025, 5), balance=11_500_000))
    tiny.add("accounts", "bank_0116", *_accounts(2024, 1_000_000), *_accounts(2025, 950_000))
    tiny.add("loans", "bank_0117",
             _loan("K1", _m(2024, 5), local_id="B1", cn=CN2, balance=1_000_000),
             _loan("K1", _m(2025, 5), local_id="B1", cn=CN2, balance=2_000_000))
    got = tiny.run(T, family=R)
    # inflows 2.85M vs 3.0M: -0.05, not a 10% fall
    assert _vaf(got[(CN, T, "rep_borrowing_up_inflow_down")]) == (0.15, True, False)
    assert _unavailable(got[(CN2, T, "rep_borrowing_up_inflow_down")])   # no accounts feed


def test_refinancing_another_banks_loan_is_not_new_borrowing():
    # bank_0117 loan of 2M stopped reporting in December (repaid by the bank_0116 increase).
    tiny = Tiny().add("loans", "bank_0116",
                      _loan("L1", _m(2024, 5), balance=10_000_000),
                      _loan("L1", _m(2025, 5), balance=11_500_000))
    tiny.add("loans", "bank_0117",
             _loan("K1", _m(2024, 5), local_id="B1", balance=2_000_000),
             _loan("K1", _m(2024, 12), local_id="B1", balance=1_800_000),
             # another customer keeps bank_0117 reporting: its latest month is May 2025
             _loan("X1", _m(2024, 5), local_id="B9", cn=CN2),
             _loan("X1", _m(2025, 5), local_id="B9", cn=CN2))
    tiny.add("accounts", "bank_0116", *_accounts(2024, 1_000_000), *_accounts(2025, 800_000))
    got = tiny.run(T, family=R)
    row = got[(CN, T, "rep_borrowing_up_inflow_down")]
    # now 11.5M + 0 (bank_0117 May 2025) vs 10M + 2M (May 2024): 11.5 / 12 - 1 = -0.0417
    assert _vaf(row) == (-0.0417, True, False)
    # the other customer's accounts are unknown, so it is unavailable; and a business whose every
    # loan stopped reporting is no longer a borrower: unavailable, not "balance down 100%"
    tiny.add("loans", "bank_0117", _loan("Z1", _m(2024, 5), local_id="B8", cn=CN3),
             _loan("Z1", _m(2024, 12), local_id="B8", cn=CN3))
    tiny.add("accounts", "bank_0117", *(_account(_m(y, m), 1_000_000, local_id="B8") | dict(corporate_number=CN3)
                                        for y in (2024, 2025) for m in (2, 3, 4, 5)))
    assert _unavailable(tiny.run(T, family=R)[(CN3, T, "rep_borrowing_up_inflow_down")])


def test_borrowing_point_in_time():
    tiny = Tiny().add("loans", "bank_0116",
                      _loan("L1", _m(2024, 4), balance=10_000_000),
                      _loan("L1", _m(2024, 5), balance=10_000_000),
                      _loan("L1", _m(2025, 4), balance=10_200_000),
                      _loan("L1", _m(2025, 5), balance=11_500_000, received=date(2025, 7, 8)))
    tiny.add("accounts", "bank_0116", _account(_m(2024, 1), 1_000_000), *_accounts(2024, 1_000_000),
             _account(_m(2025, 1), 800_000), *_accounts(2025, 800_000))
    got = tiny.run(T, LATER, family=R)
    # at T: April 10.2M vs April 2024 10M -> 0.02; later: May 11.5M vs 10M -> 0.15 (inflows -20% both times)
    assert _vaf(got[(CN, T, "rep_borrowing_up_inflow_down")]) == (0.02, True, False)
    assert _vaf(got[(CN, LATER, "rep_borrowing_up_inflow_down")]) == (0.15, True, True)


# --- lenders -----------------------------------------------------------------------------

def test_more_lenders_counts_banks_with_loans_and_guarantee_lenders():
    tiny = Tiny().add("loans", "bank_0116", _loan("L1", _m(2024, 5)), _loan("L1", _m(2025, 5)))
    tiny.add("loans", "bank_0117", _loan("K1", _m(2025, 5), local_id="B1"))
    tiny.add("guarantees", "cga_01",
             _guarantee("G1", _m(2025, 5), "1001"),
             _guarantee("G2", _m(2025, 5), "0116"),                  # same bank as L1: counted once
             _guarantee("G3", _m(2025, 5), "1020", status="repaid"))  # repaid: not a lender
    row = tiny.run(T, family=R)[(CN, T, "rep_more_lenders")]
    # now (Apr-Jun 2025): 0116, 0117, 1001 = 3; a year earlier (Apr-Jun 2024): 0116 = 1; 3 - 1 = 2
    assert _vaf(row) == (2.0, True, True)
    assert json.loads(row["evidence"]) == {
        "lenders_now": ["0116", "0117", "1001"], "lenders_year_ago": ["0116"], "increase": 2}


def test_a_second_bank_is_not_yet_a_sign_and_no_history_is_unavailable():
    tiny = Tiny().add("loans", "bank_0116", _loan("L1", _m(2024, 5)), _loan("L1", _m(2025, 5)))
    tiny.add("guarantees", "cga_01", _guarantee("G1", _m(2025, 5), "1001"))
    tiny.add("loans", "bank_0117", _loan("K1", _m(2025, 5), local_id="B1", cn=CN2))
    got = tiny.run(T, family=R)
    # 0116 -> 0116, 1001: up by 1 but only 2 lenders (< 3)
    assert _vaf(got[(CN, T, "rep_more_lenders")]) == (1.0, True, False)
    assert _unavailable(got[(CN2, T, "rep_more_lenders")])   # nothing a year earlier


def test_more_lenders_point_in_time():
    tiny = Tiny().add("loans", "bank_0116", _loan("L1", _m(2024, 5)), _loan("L1", _m(2025, 5)))
    tiny.add("guarantees", "cga_01", _guarantee("G1", _m(2025, 5), "1001"))
    tiny.add("loans", "bank_0117", _loan("K1", _m(2025, 5), local_id="B1", received=date(2025, 7, 15)))
    got = tiny.run(T, LATER, family=R)
    # at T: 0116, 1001 (2 lenders, +1); later 0116, 0117, 1001 (+2, 3 lenders)
    assert _vaf(got[(CN, T, "rep_more_lenders")]) == (1.0, True, False)
    assert _vaf(got[(CN, LATER, "rep_more_lenders")]) == (2.0, True, True)


# --- bank debtor classification ----------------------------------------------------------

def test_watch_at_any_bank_fires():
    tiny = Tiny().add("classifications", "bank_0116", _class(date(2025, 3, 1), "normal", date(2025, 3, 10)))
    tiny.add("classifications", "bank_0117", _class(date(2025, 4, 15), "watch", date(2025, 4, 25), local_id="B1"))
    row = tiny.run(T, family=R)[(CN, T, "rep_bank_class_watch")]
    assert (row["value"], row["available"], row["fired"], row["severity"]) == (1.0, True, True, "high")
    assert json.loads(row["evidence"]) == {
        "worst_class": "watch", "worst_class_ja": "要注意先", "bank": "bank_0117", "classified_on": "2025-04-15",
        "banks": [{"bank": "bank_0116", "debtor_class": "normal", "classified_on": "2025-03-01"},
                  {"bank": "bank_0117", "debtor_class": "watch", "classified_on": "2025-04-15"}]}


def test_latest_classification_and_correction_win():
    tiny = Tiny().add("classifications", "bank_0116",
                      _class(date(2024, 10, 1), "doubtful", date(2024, 10, 10)),   # superseded by April
                      _class(date(2025, 4, 1), "watch", date(2025, 4, 10)),
                      _class(date(2025, 4, 1), "normal", date(2025, 4, 20)))       # correction of April
    assert _vaf(tiny.run(T, family=R)[(CN, T, "rep_bank_class_watch")]) == (0.0, True, False)


def test_classification_point_in_time_and_staleness():
    tiny = Tiny().add("classifications", "bank_0116",
                      _class(date(2025, 3, 1), "normal", date(2025, 3, 10)),
                      _class(date(2025, 6, 25), "special_attention", date(2025, 7, 5)))
    tiny.add("classifications", "bank_0117", _class(date(2023, 12, 1), "watch", date(2023, 12, 10),
                                                    local_id="B1") | dict(corporate_number=CN2))
    # CN2 is still reported on (a master record version in June 2025), so it is monitored at T
    tiny.add("business", "bank_0117", dict(local_id="B1", corporate_number=CN2, name="テスト商事",
                                           entity_type="corporation", jsic_division="E", prefecture_code=13,
                                           received_on=date(2025, 6, 1)))
    got = tiny.run(T, LATER, family=R)
    assert _vaf(got[(CN, T, "rep_bank_class_watch")]) == (0.0, True, False)
    assert _vaf(got[(CN, LATER, "rep_bank_class_watch")]) == (2.0, True, True)
    # 2023-12-01 is 19 months before T: older than max_age_months = 18
    assert _unavailable(got[(CN2, T, "rep_bank_class_watch")])


def test_a_bank_s_view_is_its_preferred_classification_across_its_local_ids():
    # bank_0116 knows the business under two local ids (A1, A2), both with its 法人番号, and
    # classified both on 2025-03-31. Each is its own record (institution, local_id, classified_on);
    # the bank's view is one classification, the one preferred by pit_preference (the latest
    # received), as in the cross-institution family: A2's normal, received later
    tiny = (Tiny()
            .add("classifications", "bank_0116", _class(date(2025, 3, 31), "watch", date(2025, 4, 9)))
            .add("classifications", "bank_0116", _class(date(2025, 3, 31), "normal", date(2025, 4, 20),
                                                        local_id="A2")))
    got = tiny.run(T, family=R)
    assert _vaf(got[(CN, T, "rep_bank_class_watch")]) == (0.0, True, False)
    # A1 corrected after T (still watch): its latest version is now the latest received
    tiny.add("classifications", "bank_0116", _class(date(2025, 3, 31), "watch", date(2025, 7, 2)))
    got = tiny.run(T, LATER, family=R)
    assert _vaf(got[(CN, T, "rep_bank_class_watch")]) == (0.0, True, False)
    assert _vaf(got[(CN, LATER, "rep_bank_class_watch")]) == (1.0, True, True)
    assert json.loads(got[(CN, LATER, "rep_bank_class_watch")]["evidence"]) == {
        "worst_class": "watch", "worst_class_ja": "要注意先", "bank": "bank_0116", "classified_on": "2025-03-31",
        "banks": [{"bank": "bank_0116", "debtor_class": "watch", "classified_on": "2025-03-31"}]}


def test_a_bank_s_latest_judgement_date_wins_over_a_later_received_older_one():
    # A2's normal of 2025-03-31 arrives after A1's watch of 2025-04-15: the bank's view is its latest
    # 判定日 (A1's watch), and the bank is listed once
    tiny = (Tiny()
            .add("classifications", "bank_0116", _class(date(2025, 4, 15), "watch", date(2025, 4, 25)))
            .add("classifications", "bank_0116", _class(date(2025, 3, 31), "normal", date(2025, 5, 8),
                                                        local_id="A2")))
    row = tiny.run(T, family=R)[(CN, T, "rep_bank_class_watch")]
    assert _vaf(row) == (1.0, True, True)
    assert json.loads(row["evidence"])["banks"] == [
        {"bank": "bank_0116", "debtor_class": "watch", "classified_on": "2025-04-15"}]


def test_worst_classification_across_banks_is_chosen_by_pit_preference():
    # two banks classify the business watch on the same day: the bank named is the one preferred
    # by pit_preference, the latest received (bank_0116), not the higher institution id
    tiny = (Tiny()
            .add("classifications", "bank_0116", _class(date(2025, 4, 15), "watch", date(2025, 4, 25)))
            .add("classifications", "bank_0117", _class(date(2025, 4, 15), "watch", date(2025, 4, 20),
                                                        local_id="B1")))
    row = tiny.run(T, family=R)[(CN, T, "rep_bank_class_watch")]
    assert _vaf(row) == (1.0, True, True)
    evidence = json.loads(row["evidence"])
    assert (evidence["bank"], evidence["classified_on"]) == ("bank_0116", "2025-04-15")
    assert [b["bank"] for b in evidence["banks"]] == ["bank_0116", "bank_0117"]
    # received the same day too: the lowest institution id
    same_day = (Tiny()
                .add("classifications", "bank_0117", _class(date(2025, 4, 15), "watch", date(2025, 4, 25),
                                                            local_id="B1"))
                .add("classifications", "bank_0116", _class(date(2025, 4, 15), "watch", date(2025, 4, 25))))
    assert json.loads(same_day.run(T, family=R)[(CN, T, "rep_bank_class_watch")]["evidence"])["bank"] == "bank_0116"
    # a worse class elsewhere still wins, whatever was received later
    worse = tiny.add("classifications", "bank_0118", _class(date(2025, 3, 1), "doubtful", date(2025, 3, 10),
                                                            local_id="C1"))
    evidence = json.loads(worse.run(T, family=R)[(CN, T, "rep_bank_class_watch")]["evidence"])
    assert (evidence["worst_class"], evidence["bank"]) == ("doubtful", "bank_0118")


def test_every_indicator_has_exactly_one_row_per_business():
    tiny = Tiny().add("loans", "bank_0116", _loan("L1", _m(2025, 5)))
    tiny.add("guarantees", "cga_01", _guarantee("G1", _m(2025, 5), "0116") | dict(corporate_number=CN2))
    got = tiny.run(T, family=R)
    assert len(got) == 2 * 10
