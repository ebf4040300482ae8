"""The financial measures (continuous figures for the models) on hand-made statements;
expected values worked out by hand. Measures never fire and carry no evidence."""
from __future__ import annotations

import math
from datetime import date

import pytest

from features.catalog import Family, measures_of
from tests.features.test_financials import CN, FY24, FY25, T, _run, _statement

# FY25 (latest): sales 120m, operating profit 6m, ordinary 5m, net income 3m, depreciation 2m,
# total assets 100m, net assets 30m, retained earnings 20m, current 50m / 40m,
# borrowings 20m + 40m = 60m, cash 15m (the BASE figures of test_financials plus these).
LATEST = dict(ordinary_profit_jpy=5_000_000, net_income_jpy=3_000_000, depreciation_jpy=2_000_000,
              retained_earnings_jpy=20_000_000)
# FY24 (previous): sales 100m, operating profit 2m, ordinary 2m, net income 1m, depreciation 2m,
# total assets 80m, net assets 20m, retained earnings 16m, current 40m / 40m,
# borrowings 20m + 30m = 50m, cash 10m.
PREVIOUS = dict(sales_jpy=100_000_000, operating_profit_jpy=2_000_000, ordinary_profit_jpy=2_000_000,
                net_income_jpy=1_000_000, depreciation_jpy=2_000_000, total_assets_jpy=80_000_000,
                net_assets_jpy=20_000_000, total_liabilities_jpy=60_000_000, retained_earnings_jpy=16_000_000,
                current_assets_jpy=40_000_000, current_liabilities_jpy=40_000_000,
                long_term_borrowings_jpy=30_000_000, cash_jpy=10_000_000)


def _two_years(**latest) -> dict:
    return _run(_statement(FY24, date(2024, 6, 1), **PREVIOUS),
                _statement(FY25, date(2025, 6, 1), **{**LATEST, **latest}), at=(date(2025, 5, 31), T))


def _value(got: dict, measure: str, at: date = T):
    row = got[(CN, at, measure)]
    assert row["fired"] is None and row["evidence"] is None, "a measure never fires"
    return None if row["value"] is None else round(row["value"], 4)


EXPECTED = {
    "fin_equity_ratio": 30.0,                       # 30m / 100m
    "fin_equity_ratio_change": 5.0,                 # 30% - 20m/80m = 25%
    "fin_roa": 5.0,                                 # 5m / 100m
    "fin_roa_change": 2.5,                          # 5% - 2m/80m = 2.5%
    "fin_net_income_to_assets": 3.0,                # 3m / 100m
    "fin_net_income_to_assets_change": 1.75,        # 3% - 1m/80m = 1.25%
    "fin_operating_margin": 5.0,                    # 6m / 120m
    "fin_operating_margin_change": 3.0,             # 5% - 2m/100m
    "fin_debt_service_years": 9.0,                  # (60m - 15m) / (3m + 2m)
    "fin_debt_service_years_change": -4.3333,       # 9 - (50m - 10m) / (1m + 2m)
    "fin_current_ratio_change": 0.25,               # 1.25 - 1.0
    "fin_retained_earnings_to_assets": 20.0,        # 20m / 100m
    "fin_retained_earnings_to_assets_change": 0.0,  # 20% - 16m/80m
    "fin_log_total_assets": 8.0,                    # log10(100,000,000)
    "fin_log_sales": round(math.log10(120_000_000), 4),
    "fin_total_assets_growth": 25.0,                # (100m - 80m) / 80m
}


def test_every_measure_has_a_hand_worked_value():
    assert set(EXPECTED) == {m.id for m in measures_of(Family.FINANCIALS)}


@pytest.mark.parametrize("measure", sorted(EXPECTED))
def test_measure_values(measure):
    got = _two_years()
    assert _value(got, measure) == EXPECTED[measure]
    assert got[(CN, T, measure)]["available"] is True


def test_point_in_time_only_the_statements_received_by_then():
    # on 2025-05-31 FY25 has not arrived: FY24 is the latest, with no year before it on file
    got = _two_years()
    before = date(2025, 5, 31)
    assert _value(got, "fin_equity_ratio", before) == 25.0
    assert _value(got, "fin_log_total_assets", before) == round(math.log10(80_000_000), 4)
    for change in ("fin_equity_ratio_change", "fin_roa_change", "fin_total_assets_growth"):
        assert _value(got, change, before) is None
        assert got[(CN, before, change)]["available"] is False


def test_operating_profit_stands_in_for_a_missing_ordinary_profit():
    got = _two_years(ordinary_profit_jpy=None)
    assert _value(got, "fin_roa") == 6.0  # 6m / 100m


def test_debt_service_years_without_cash_flow_is_the_cap_and_without_net_debt_zero():
    assert _value(_two_years(net_income_jpy=-5_000_000), "fin_debt_service_years") == 50.0  # -5m + 2m <= 0
    assert _value(_two_years(cash_jpy=70_000_000), "fin_debt_service_years") == 0.0  # 60m - 70m <= 0
    # a long but finite horizon is capped too: (60m - 15m) / (0.5m + 0.3m) = 56.25 years
    assert _value(_two_years(net_income_jpy=500_000, depreciation_jpy=300_000), "fin_debt_service_years") == 50.0


def test_negative_retained_earnings_and_net_assets_are_ratios_below_zero():
    got = _two_years(retained_earnings_jpy=-40_000_000, net_assets_jpy=-10_000_000)
    assert _value(got, "fin_retained_earnings_to_assets") == -40.0
    assert _value(got, "fin_equity_ratio") == -10.0


def test_missing_optional_figures_leave_their_measures_unavailable():
    got = _two_years(retained_earnings_jpy=None, net_income_jpy=None)
    for measure in ("fin_retained_earnings_to_assets", "fin_retained_earnings_to_assets_change",
                    "fin_net_income_to_assets", "fin_debt_service_years"):
        assert _value(got, measure) is None and got[(CN, T, measure)]["available"] is False
    assert _value(got, "fin_equity_ratio") == 30.0  # the other figures are still there
