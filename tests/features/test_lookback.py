"""How far back each family reads its history: computed from the declarations, never shorter
than any indicator's declared window, and growing with it."""
from __future__ import annotations

import re
from datetime import date

import pytest

from features.catalog import Family, by_family, family_lookback_months, indicators, threshold_values
from features.compute import family_sql
from tests.features.tiny import Tiny

T = date(2025, 6, 30)
CN = "7000012050002"


def _reaching_back() -> list[tuple[str, str]]:
    """(indicator id, threshold name) of every threshold declared as months reaching back."""
    return [(i.id, t.name) for i in indicators().values() for t in i.thresholds if t.reaches_back]


def _settings() -> list[dict[str, float]]:
    """The defaults, and each month window lengthened on its own, shortened on its own."""
    out: list[dict[str, float]] = [{}]
    for ind, name in _reaching_back():
        default = next(t.default for t in indicators()[ind].thresholds if t.name == name)
        out += [{f"{ind}.{name}": default + 17}, {f"{ind}.{name}": 1}]
    return out


@pytest.mark.parametrize("family", list(Family))
@pytest.mark.parametrize("overrides", _settings(), ids=lambda o: ",".join(o) or "defaults")
def test_family_lookback_covers_every_declared_window(family: Family, overrides: dict[str, float]):
    values = threshold_values(overrides)
    lookback = family_lookback_months(family, values)
    assert isinstance(lookback, int)
    for ind in by_family(family):
        declared = ind.lookback_months(values)
        assert lookback >= declared, ind.id
        for t in ind.thresholds:
            if t.reaches_back:
                # a declared sum (Indicator.lookback) must not leave out one of its own windows
                assert declared >= values[ind.param(t.name)], f"{ind.id}.{t.name}"


def _hand_lists(th: dict[str, float]) -> dict[Family, float]:
    """The look-backs as they were once kept by hand in repayment.sql and accounts.sql."""
    return {
        Family.REPAYMENT: max(
            th["rep_dpd_any__recent_months"], th["rep_dpd_30__recent_months"], th["rep_dpd_90__recent_months"],
            th["rep_partial_payment__recent_months"] + th["rep_partial_payment__window_months"],
            th["rep_restructured__recent_months"], th["rep_restructured__window_months"],
            th["rep_overdraft_near_limit__recent_months"],
            th["rep_overdraft_rising__recent_months"]
            + max(th["rep_overdraft_rising__compare_months"], th["rep_overdraft_rising__rising_months"]),
            th["rep_borrowing_up_inflow_down__recent_months"] + th["rep_borrowing_up_inflow_down__compare_months"],
            th["rep_more_lenders__recent_months"] + th["rep_more_lenders__compare_months"],
        ),
        Family.ACCOUNTS: 4 + max(
            15, th["acc_near_zero_months__window_months"], th["acc_failed_debits__window_months"],
            3 + th["acc_payroll_stopped__regular_months"],
            th["acc_tax_stopped__quiet_months"] + th["acc_tax_stopped__lookback_months"],
            th["acc_social_insurance_stopped__quiet_months"] + th["acc_social_insurance_stopped__lookback_months"],
        ),
    }


def test_defaults_read_exactly_as_far_back_as_the_old_hand_lists():
    assert family_lookback_months(Family.REPAYMENT) == 15
    assert family_lookback_months(Family.ACCOUNTS) == 20
    assert family_lookback_months(Family.ACCOUNTS, threshold_values()) == 20


@pytest.mark.parametrize("overrides", _settings(), ids=lambda o: ",".join(o) or "defaults")
def test_never_shorter_than_the_old_hand_lists(overrides: dict[str, float]):
    values = threshold_values(overrides)
    for family, hand in _hand_lists(values).items():
        assert family_lookback_months(family, values) >= hand, family


@pytest.mark.parametrize(("indicator", "threshold"), _reaching_back())
def test_a_longer_declared_window_makes_the_family_read_further_back(indicator: str, threshold: str):
    ind = indicators()[indicator]
    default = family_lookback_months(ind.family)
    longer = family_lookback_months(ind.family, threshold_values({f"{indicator}.{threshold}": default + 10}))
    assert longer >= default + 10 > default


def test_declared_sums_grow_the_family_lookback():
    # recent_months + window_months: 3 + 30
    assert family_lookback_months(
        Family.REPAYMENT, threshold_values({"rep_partial_payment.window_months": 30})) == 33
    # recent_months + greatest(compare_months, rising_months): 3 + 20
    assert family_lookback_months(
        Family.REPAYMENT, threshold_values({"rep_overdraft_rising.rising_months": 20})) == 23
    # reference-month lag + quiet_months + lookback_months: 4 + 4 + 24
    assert family_lookback_months(
        Family.ACCOUNTS, threshold_values({"acc_tax_stopped.lookback_months": 24})) == 32
    # a fractional month is rounded up, never down
    assert family_lookback_months(
        Family.REPAYMENT, threshold_values({"rep_restructured.window_months": 20.2})) == 21


@pytest.mark.parametrize("family", list(Family))
def test_families_that_read_a_shared_history_bound_it_with_the_lookback(family: Family):
    uses = "$lookback_months" in family_sql(family)
    assert uses == (family_lookback_months(family) > 0), family
    if uses:
        # no hand-kept list of windows left next to it
        assert not re.search(r"to_months\(\s*\d*\s*\+?\s*greatest\(", family_sql(family)), family


def _loan(month: date, *, restructured: bool = False) -> dict:
    received = date(month.year + month.month // 12, month.month % 12 + 1, 12)
    return dict(loan_id="L1", local_id="A1", corporate_number=CN, month=month, balance_jpy=10_000_000,
                scheduled_jpy=100_000, paid_jpy=100_000, days_past_due=0, restructured=restructured,
                guaranteed=False, overdraft_limit_jpy=0, overdraft_used_jpy=0, received_on=received)


def test_the_family_sql_reads_as_far_back_as_a_lengthened_window():
    # restructured 21 months before T: beyond every default window, within a 24-month one
    tiny = Tiny().add("loans", "bank_0116", _loan(date(2023, 10, 1), restructured=True), _loan(date(2025, 5, 1)))
    default = tiny.run(T, family=Family.REPAYMENT)[(CN, T, "rep_restructured")]
    assert (default["value"], default["fired"]) == (0.0, False)
    wider = tiny.run(T, family=Family.REPAYMENT, thresholds={"rep_restructured.window_months": 24})
    assert (wider[(CN, T, "rep_restructured")]["value"], wider[(CN, T, "rep_restructured")]["fired"]) == (1.0, True)
