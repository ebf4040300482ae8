"""Deposit-account activity on hand-made rows; expected values worked out by hand.

The standard history is one account at bank 0116 with a row for every month from 2024-05 to
2025-08, each received on the 15th of the following month, so as of T = 2025-09-30 the
reference month is 2025-08 (k=0), the last 3 months are 2025-06..08, the same months a year
earlier 2024-06..08, and the 3 months before the last 3 are 2025-03..05. Every month has
inflow = outflow = 1,000,000, balances 2,000,000, payroll 500,000, tax 100,000, social
insurance 200,000 and no failed debit, unless a test changes it.
"""
from __future__ import annotations

import json
from datetime import date

import pytest

from features.catalog import Family
from tests.features.tiny import Tiny

CN = "7000012050002"  # a valid 法人番号
T = date(2025, 9, 30)
LATER = date(2025, 10, 31)
LATE = date(2025, 10, 5)  # received after T, before LATER


def _month(y: int, m: int) -> date:
    return date(y, m, 1)


def _received(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 15)


def _row(month: date, local_id: str = "A1", **changes) -> dict:
    row = dict(local_id=local_id, corporate_number=CN, month=month, inflow_jpy=1_000_000, outflow_jpy=1_000_000,
               month_end_balance_jpy=2_000_000, average_balance_jpy=2_000_000, payroll_jpy=500_000,
               tax_paid_jpy=100_000, social_insurance_paid_jpy=200_000, failed_debits=0,
               received_on=_received(month))
    row.update(changes)
    return row


def _history(changes: dict[date, dict] | None = None, start: date = _month(2024, 5), end: date = _month(2025, 8),
             local_id: str = "A1", **every_month) -> list[dict]:
    """One row per month from start to end; `every_month` applies to all, `changes` per month
    (a month mapped to None is left out)."""
    rows, m = [], start
    changes = changes or {}
    while m <= end:
        if changes.get(m, {}) is not None:
            rows.append(_row(m, local_id, **{**every_month, **changes.get(m, {})}))
        m = date(m.year + m.month // 12, m.month % 12 + 1, 1)
    return rows


def _tiny(*rows: dict, institution: str = "bank_0116") -> Tiny:
    return Tiny().add("accounts", institution, *rows)


def _get(got: dict, indicator: str, as_of: date = T) -> dict:
    return got[(CN, as_of, indicator)]


def _triple(row: dict) -> tuple:
    return row["value"], row["available"], row["fired"]


ALL = ("acc_inflow_decline_yoy", "acc_balance_decline", "acc_near_zero_months", "acc_failed_debits",
       "acc_payroll_decline_yoy", "acc_payroll_stopped", "acc_tax_stopped", "acc_social_insurance_stopped")


# --- the family as a whole ---------------------------------------------------------------

def test_steady_business_is_available_and_fires_nothing():
    got = _tiny(*_history()).run(T, family=Family.ACCOUNTS)
    # every change is 0%, no month is thin, nothing failed, payroll/tax/SI paid in 2025-08 (0 months ago)
    assert [_triple(_get(got, i)) for i in ALL] == [(0.0, True, False)] * 8
    assert all(_get(got, i)["evidence"] is None for i in ALL)


def test_business_without_account_rows_or_with_stale_rows_is_unavailable():
    tiny = Tiny().add("business", "bank_0116", dict(
        local_id="X1", corporate_number="2000012010019", name="無口座商店", entity_type="corporation",
        jsic_division="I", prefecture_code=13, received_on=date(2025, 1, 10)))
    # rows stop at 2025-04: as of 2025-09-30 the reference month is 4 months before 2025-09 (> 3): stale
    tiny.add("accounts", "bank_0116", *_history(end=_month(2025, 4)))
    got = tiny.run(T, family=Family.ACCOUNTS)
    for key in ("2000012010019", CN):
        for i in ALL:
            row = got[(key, T, i)]
            assert (row["available"], row["value"], row["fired"], row["evidence"]) == (False, None, None, None)


# --- acc_inflow_decline_yoy --------------------------------------------------------------

def test_inflow_decline_fires_with_its_evidence():
    low = {_month(2025, m): dict(inflow_jpy=750_000) for m in (6, 7, 8)}
    row = _get(_tiny(*_history(low)).run(T, family=Family.ACCOUNTS), "acc_inflow_decline_yoy")
    # (3 x 750,000 - 3 x 1,000,000) / 3,000,000 = -25% <= -20%
    assert _triple(row) == (-25.0, True, True)
    assert json.loads(row["evidence"]) == {"months": ["2025-06", "2025-07", "2025-08"], "inflow_jpy": 2_250_000,
                                           "same_months_a_year_earlier_jpy": 3_000_000, "change_pct": -25.0}


def test_inflow_small_decline_does_not_fire():
    low = {_month(2025, m): dict(inflow_jpy=900_000) for m in (6, 7, 8)}
    row = _get(_tiny(*_history(low)).run(T, family=Family.ACCOUNTS), "acc_inflow_decline_yoy")
    assert _triple(row) == (-10.0, True, False)  # 2.7M vs 3.0M


def test_inflow_without_a_year_earlier_is_unavailable():
    got = _tiny(*_history(start=_month(2025, 1))).run(T, family=Family.ACCOUNTS)
    row = _get(got, "acc_inflow_decline_yoy")
    assert (row["available"], row["value"], row["fired"], row["evidence"]) == (False, None, None, None)


def test_inflow_correction_received_later_counts_only_from_then():
    tiny = _tiny(*_history(), _row(_month(2025, 8), inflow_jpy=100_000, received_on=LATE))
    got = tiny.run(T, LATER, family=Family.ACCOUNTS)
    assert _triple(_get(got, "acc_inflow_decline_yoy", T)) == (0.0, True, False)
    # as of 10-31 the corrected 2025-08 wins: (1M + 1M + 0.1M - 3M) / 3M = -30%
    assert _triple(_get(got, "acc_inflow_decline_yoy", LATER)) == (-30.0, True, True)


def test_month_one_bank_has_not_delivered_yet_is_left_out():
    # Same business (法人番号) at two banks, 500,000 of inflows at each every month. Bank 0117's
    # 2025-08 arrives on 10-05: as of T the reference month is 2025-07 (2025-05..07 vs 2024),
    # not a half-reported 2025-08 that would read (2.5M - 3M) / 3M = -16.7%.
    tiny = _tiny(*_history(inflow_jpy=500_000))
    tiny.add("accounts", "bank_0117", *_history({_month(2025, 8): dict(received_on=LATE)},
                                                 local_id="B1", inflow_jpy=500_000))
    got = tiny.run(T, LATER, family=Family.ACCOUNTS)
    assert _triple(_get(got, "acc_inflow_decline_yoy", T)) == (0.0, True, False)
    assert _triple(_get(got, "acc_inflow_decline_yoy", LATER)) == (0.0, True, False)


def test_account_that_stopped_reporting_no_longer_holds_back_the_reference_month():
    # Bank 0117's account stops after 2025-04 (4 months behind 2025-08: closed). The reference
    # month stays 2025-08; 2025-06..08 = 3 x 500,000 against 3 x 1,000,000 a year earlier = -50%.
    tiny = _tiny(*_history(inflow_jpy=500_000))
    tiny.add("accounts", "bank_0117", *_history(end=_month(2025, 4), local_id="B1", inflow_jpy=500_000))
    row = _get(tiny.run(T, family=Family.ACCOUNTS), "acc_inflow_decline_yoy")
    assert _triple(row) == (-50.0, True, True)


def test_month_missing_at_one_bank_is_not_compared():
    # Bank 0117 never sends 2025-07: that month is incomplete, the comparison uses the
    # 2025-06 and 2025-08 pairs only (2 x 1M against 2 x 1M).
    tiny = _tiny(*_history(inflow_jpy=500_000))
    tiny.add("accounts", "bank_0117", *_history({_month(2025, 7): None}, local_id="B1", inflow_jpy=500_000))
    got = tiny.run(T, family=Family.ACCOUNTS, thresholds={"acc_inflow_decline_yoy.max_change_pct": 0})
    row = _get(got, "acc_inflow_decline_yoy")
    assert _triple(row) == (0.0, True, True)  # fires only because the override moves the line to 0%
    assert json.loads(row["evidence"])["months"] == ["2025-06", "2025-08"]


# --- acc_balance_decline -----------------------------------------------------------------

def test_balance_decline_fires_with_its_evidence():
    low = {_month(2025, m): dict(average_balance_jpy=1_200_000) for m in (6, 7, 8)}
    row = _get(_tiny(*_history(low)).run(T, family=Family.ACCOUNTS), "acc_balance_decline")
    # (1,200,000 - 2,000,000) / 2,000,000 = -40% <= -30%
    assert _triple(row) == (-40.0, True, True)
    assert json.loads(row["evidence"]) == {
        "recent_months": ["2025-06", "2025-07", "2025-08"], "recent_average_balance_jpy": 1_200_000,
        "earlier_months": ["2025-03", "2025-04", "2025-05"], "earlier_average_balance_jpy": 2_000_000,
        "change_pct": -40.0}


def test_balance_moderate_decline_does_not_fire():
    low = {_month(2025, m): dict(average_balance_jpy=1_500_000) for m in (6, 7, 8)}
    row = _get(_tiny(*_history(low)).run(T, family=Family.ACCOUNTS), "acc_balance_decline")
    assert _triple(row) == (-25.0, True, False)


def test_balance_with_short_history_or_overdrawn_before_is_unavailable():
    short = _get(_tiny(*_history(start=_month(2025, 5))).run(T, family=Family.ACCOUNTS), "acc_balance_decline")
    assert (short["available"], short["value"], short["fired"]) == (False, None, None)  # only 2025-05 before
    overdrawn = {_month(2025, m): dict(average_balance_jpy=-100_000) for m in (3, 4, 5)}
    row = _get(_tiny(*_history(overdrawn)).run(T, family=Family.ACCOUNTS), "acc_balance_decline")
    assert (row["available"], row["value"], row["fired"]) == (False, None, None)


def test_balance_month_received_after_as_of_counts_only_from_then():
    tiny = _tiny(*_history(), _row(_month(2025, 9), average_balance_jpy=200_000, received_on=LATE))
    got = tiny.run(T, LATER, family=Family.ACCOUNTS)
    assert _triple(_get(got, "acc_balance_decline", T)) == (0.0, True, False)
    # as of 10-31: 2025-07..09 = (2M + 2M + 0.2M) / 3 = 1.4M against 2M for 2025-04..06: -30%
    assert _triple(_get(got, "acc_balance_decline", LATER)) == (-30.0, True, True)


# --- acc_near_zero_months ----------------------------------------------------------------

def test_two_thin_month_ends_fire_with_their_evidence():
    thin = {_month(2025, m): dict(month_end_balance_jpy=50_000) for m in (7, 8)}
    row = _get(_tiny(*_history(thin)).run(T, family=Family.ACCOUNTS), "acc_near_zero_months")
    # 50,000 < 0.10 x 1,000,000 in 2025-07 and 2025-08; 2025-03..06 hold 2,000,000
    assert _triple(row) == (2.0, True, True)
    assert json.loads(row["evidence"]) == {
        "months": [{"month": "2025-07", "month_end_balance_jpy": 50_000, "outflow_jpy": 1_000_000},
                   {"month": "2025-08", "month_end_balance_jpy": 50_000, "outflow_jpy": 1_000_000}],
        "complete_months_in_window": 6, "floor_ratio": 0.1}


def test_one_thin_month_end_does_not_fire_and_the_floor_is_configurable():
    thin = {_month(2025, 7): dict(month_end_balance_jpy=50_000), _month(2025, 8): dict(month_end_balance_jpy=150_000)}
    tiny = _tiny(*_history(thin))
    assert _triple(_get(tiny.run(T, family=Family.ACCOUNTS), "acc_near_zero_months")) == (1.0, True, False)
    # with a floor of 20% of outflows (200,000) 150,000 is thin too
    got = tiny.run(T, family=Family.ACCOUNTS, thresholds={"acc_near_zero_months.floor_ratio": 0.2})
    assert _triple(_get(got, "acc_near_zero_months")) == (2.0, True, True)


def test_near_zero_with_fewer_than_three_months_is_unavailable():
    rows = _history({_month(2025, 8): dict(month_end_balance_jpy=-10_000)}, start=_month(2025, 7))
    row = _get(_tiny(*rows).run(T, family=Family.ACCOUNTS), "acc_near_zero_months")
    assert (row["available"], row["value"], row["fired"]) == (False, None, None)


def test_near_zero_month_received_after_as_of_counts_only_from_then():
    rows = _history({_month(2025, 7): dict(month_end_balance_jpy=50_000), _month(2025, 8): None})
    tiny = _tiny(*rows, _row(_month(2025, 8), month_end_balance_jpy=-20_000, received_on=LATE))
    got = tiny.run(T, LATER, family=Family.ACCOUNTS)
    assert _triple(_get(got, "acc_near_zero_months", T)) == (1.0, True, False)  # 2025-02..07: only 07
    assert _triple(_get(got, "acc_near_zero_months", LATER)) == (2.0, True, True)  # 2025-03..08: 07 and 08


# --- acc_failed_debits -------------------------------------------------------------------

def test_failed_debits_fire_with_their_evidence():
    row = _get(_tiny(*_history({_month(2025, 7): dict(failed_debits=2)})).run(T, family=Family.ACCOUNTS),
               "acc_failed_debits")
    assert _triple(row) == (2.0, True, True)
    assert row["severity"] == "high"
    assert json.loads(row["evidence"]) == {"failed_debits": 2, "by_month": ["2025-07: 2"]}


def test_failed_debit_before_the_window_does_not_fire():
    # 2025-05 is outside the last 3 months (2025-06..08)
    row = _get(_tiny(*_history({_month(2025, 5): dict(failed_debits=1)})).run(T, family=Family.ACCOUNTS),
               "acc_failed_debits")
    assert _triple(row) == (0.0, True, False)


def test_failed_debit_received_after_as_of_counts_only_from_then():
    tiny = _tiny(*_history({_month(2025, 8): None}), _row(_month(2025, 8), failed_debits=2, received_on=LATE))
    got = tiny.run(T, LATER, family=Family.ACCOUNTS)
    assert _triple(_get(got, "acc_failed_debits", T)) == (0.0, True, False)  # 2025-05..07
    assert _triple(_get(got, "acc_failed_debits", LATER)) == (2.0, True, True)  # 2025-06..08


def test_failed_debits_unavailable_without_current_account_data():
    # only rows up to 2025-05: the reference month is 4 months before 2025-09
    row = _get(_tiny(*_history({_month(2025, 5): dict(failed_debits=3)}, end=_month(2025, 5)))
               .run(T, family=Family.ACCOUNTS), "acc_failed_debits")
    assert (row["available"], row["value"], row["fired"], row["evidence"]) == (False, None, None, None)


# --- acc_payroll_decline_yoy -------------------------------------------------------------

def test_payroll_decline_fires_with_its_evidence():
    low = {_month(2025, m): dict(payroll_jpy=300_000) for m in (6, 7, 8)}
    row = _get(_tiny(*_history(low)).run(T, family=Family.ACCOUNTS), "acc_payroll_decline_yoy")
    # 900,000 against 1,500,000: -40% <= -30%
    assert _triple(row) == (-40.0, True, True)
    assert json.loads(row["evidence"]) == {"months": ["2025-06", "2025-07", "2025-08"], "payroll_jpy": 900_000,
                                           "same_months_a_year_earlier_jpy": 1_500_000, "change_pct": -40.0}


def test_payroll_small_decline_does_not_fire():
    low = {_month(2025, m): dict(payroll_jpy=400_000) for m in (6, 7, 8)}
    row = _get(_tiny(*_history(low)).run(T, family=Family.ACCOUNTS), "acc_payroll_decline_yoy")
    assert _triple(row) == (-20.0, True, False)  # 1.2M vs 1.5M


def test_payroll_decline_unavailable_without_payroll_a_year_earlier():
    none_before = {_month(2024, m): dict(payroll_jpy=0) for m in (6, 7, 8)}
    row = _get(_tiny(*_history(none_before)).run(T, family=Family.ACCOUNTS), "acc_payroll_decline_yoy")
    assert (row["available"], row["value"], row["fired"]) == (False, None, None)


def test_payroll_correction_received_later_counts_only_from_then():
    tiny = _tiny(*_history(), _row(_month(2025, 8), payroll_jpy=0, received_on=LATE))
    got = tiny.run(T, LATER, family=Family.ACCOUNTS)
    assert _triple(_get(got, "acc_payroll_decline_yoy", T)) == (0.0, True, False)
    later = _get(got, "acc_payroll_decline_yoy", LATER)  # (1.0M - 1.5M) / 1.5M = -33.3%
    assert later["value"] == pytest.approx(-100 / 3) and later["fired"] is True


# --- acc_payroll_stopped -----------------------------------------------------------------

def test_payroll_stopped_after_regular_payroll_fires_with_its_evidence():
    row = _get(_tiny(*_history({_month(2025, 7): dict(payroll_jpy=0)})).run(T, family=Family.ACCOUNTS),
               "acc_payroll_stopped")
    # 2025-07 empty; 2025-08 paid 500,000 < 1.5 x 500,000 (not made up); 2024-12..2025-05 all paid
    assert _triple(row) == (1.0, True, True)
    assert json.loads(row["evidence"]) == {"months_without_payroll": ["2025-07"], "regular_months_before": 6,
                                           "average_payroll_before_jpy": 500_000}


def test_payday_slipped_into_the_next_month_does_not_fire():
    slipped = {_month(2025, 7): dict(payroll_jpy=0), _month(2025, 8): dict(payroll_jpy=1_000_000)}
    row = _get(_tiny(*_history(slipped)).run(T, family=Family.ACCOUNTS), "acc_payroll_stopped")
    assert _triple(row) == (0.0, True, False)  # 1,000,000 >= 1.5 x 500,000: made up


def test_payroll_stop_after_irregular_payroll_does_not_fire():
    irregular = {_month(2025, 3): dict(payroll_jpy=0), _month(2025, 8): dict(payroll_jpy=0)}
    row = _get(_tiny(*_history(irregular)).run(T, family=Family.ACCOUNTS), "acc_payroll_stopped")
    assert _triple(row) == (1.0, True, False)  # 2025-08 empty, but 2025-03 was empty too


def test_payroll_stopped_unavailable_without_payroll():
    row = _get(_tiny(*_history(payroll_jpy=0)).run(T, family=Family.ACCOUNTS), "acc_payroll_stopped")
    assert (row["available"], row["value"], row["fired"]) == (False, None, None)


def test_payroll_stop_received_after_as_of_counts_only_from_then():
    tiny = _tiny(*_history({_month(2025, 8): None}), _row(_month(2025, 8), payroll_jpy=0, received_on=LATE))
    got = tiny.run(T, LATER, family=Family.ACCOUNTS)
    assert _triple(_get(got, "acc_payroll_stopped", T)) == (0.0, True, False)  # 2025-05..07 paid
    assert _triple(_get(got, "acc_payroll_stopped", LATER)) == (1.0, True, True)  # 2025-08 empty, 09 not in


# --- acc_tax_stopped ---------------------------------------------------------------------

def test_tax_stopped_fires_with_its_evidence():
    quiet = {_month(2025, m): dict(tax_paid_jpy=0) for m in (5, 6, 7, 8)}
    row = _get(_tiny(*_history(quiet)).run(T, family=Family.ACCOUNTS), "acc_tax_stopped")
    # last paid 2025-04, 4 months before 2025-08; paid in all 12 months 2024-05..2025-04
    assert _triple(row) == (4.0, True, True)
    assert json.loads(row["evidence"]) == {"last_paid_month": "2025-04", "last_paid_jpy": 100_000,
                                           "reference_month": "2025-08", "months_paid_in_lookback": 12}


def test_tax_gap_shorter_than_the_window_or_annual_payer_does_not_fire():
    quiet = {_month(2025, m): dict(tax_paid_jpy=0) for m in (6, 7, 8)}
    row = _get(_tiny(*_history(quiet)).run(T, family=Family.ACCOUNTS), "acc_tax_stopped")
    assert _triple(row) == (3.0, True, False)  # 2025-05 paid
    annual = _history({_month(2025, 3): dict(tax_paid_jpy=800_000)}, tax_paid_jpy=0)
    row = _get(_tiny(*annual).run(T, family=Family.ACCOUNTS), "acc_tax_stopped")
    assert _triple(row) == (5.0, True, False)  # silent since 2025-03, but paid in only 1 month of 12


def test_tax_stopped_unavailable_when_no_tax_is_paid_through_the_accounts():
    row = _get(_tiny(*_history(tax_paid_jpy=0)).run(T, family=Family.ACCOUNTS), "acc_tax_stopped")
    assert (row["available"], row["value"], row["fired"]) == (False, None, None)


def test_tax_month_received_after_as_of_counts_only_from_then():
    quiet = {_month(2025, m): dict(tax_paid_jpy=0) for m in (5, 6, 7)} | {_month(2025, 8): None}
    tiny = _tiny(*_history(quiet), _row(_month(2025, 8), tax_paid_jpy=0, received_on=LATE))
    got = tiny.run(T, LATER, family=Family.ACCOUNTS)
    assert _triple(_get(got, "acc_tax_stopped", T)) == (3.0, True, False)  # 2025-04..07: 04 paid
    assert _triple(_get(got, "acc_tax_stopped", LATER)) == (4.0, True, True)  # 2025-05..08: none


# --- acc_social_insurance_stopped --------------------------------------------------------

def test_social_insurance_stopped_fires_with_its_evidence():
    quiet = {_month(2025, m): dict(social_insurance_paid_jpy=0) for m in (7, 8)}
    row = _get(_tiny(*_history(quiet)).run(T, family=Family.ACCOUNTS), "acc_social_insurance_stopped")
    # last paid 2025-06; paid in 2024-07..2025-06 (12 months, k = 2..13)
    assert _triple(row) == (2.0, True, True)
    assert json.loads(row["evidence"]) == {"last_paid_month": "2025-06", "last_paid_jpy": 200_000,
                                           "reference_month": "2025-08", "months_paid_in_lookback": 12}


def test_social_insurance_one_month_gap_does_not_fire():
    row = _get(_tiny(*_history({_month(2025, 8): dict(social_insurance_paid_jpy=0)})).run(T, family=Family.ACCOUNTS),
               "acc_social_insurance_stopped")
    assert _triple(row) == (1.0, True, False)


def test_social_insurance_not_reported_is_unavailable():
    # a bank that does not report social-insurance payments (column empty)
    row = _get(_tiny(*_history(social_insurance_paid_jpy=None)).run(T, family=Family.ACCOUNTS),
               "acc_social_insurance_stopped")
    assert (row["available"], row["value"], row["fired"]) == (False, None, None)


def test_social_insurance_month_received_after_as_of_counts_only_from_then():
    quiet = {_month(2025, 7): dict(social_insurance_paid_jpy=0), _month(2025, 8): None}
    tiny = _tiny(*_history(quiet), _row(_month(2025, 8), social_insurance_paid_jpy=0, received_on=LATE))
    got = tiny.run(T, LATER, family=Family.ACCOUNTS)
    assert _triple(_get(got, "acc_social_insurance_stopped", T)) == (1.0, True, False)  # 2025-06 paid
    assert _triple(_get(got, "acc_social_insurance_stopped", LATER)) == (2.0, True, True)
