"""Financial-statement indicators on hand-made statements; expected values worked out by hand.

Every indicator has a case that fires, one that does not, one unavailable, and one showing
the point-in-time cut-off (a statement received after T counts only from its receipt)."""
from __future__ import annotations

import json
from datetime import date

from features.catalog import Family, by_family, measures_of
from tests.features.tiny import Tiny

CN = "7000012050002"
T = date(2025, 10, 31)
LATER = date(2025, 12, 31)

FY22 = date(2022, 3, 31)
FY23 = date(2023, 3, 31)
FY24 = date(2024, 3, 31)  # 2023-04-01 .. 2024-03-31: 366 days (leap year)
FY25 = date(2025, 3, 31)  # 2024-04-01 .. 2025-03-31: 365 days

# Default figures (JPY): sales 120m, operating profit 6m, borrowings 20m + 40m = 60m
# (= 6.0 months of 10m monthly sales), current ratio 50m / 40m = 1.25, ICR 6m / 1m = 6.0.
BASE = dict(
    sales_jpy=120_000_000, operating_profit_jpy=6_000_000, net_assets_jpy=30_000_000,
    total_assets_jpy=100_000_000, total_liabilities_jpy=70_000_000,
    current_assets_jpy=50_000_000, current_liabilities_jpy=40_000_000,
    short_term_borrowings_jpy=20_000_000, long_term_borrowings_jpy=40_000_000,
    interest_expense_jpy=1_000_000, receivables_jpy=20_000_000, inventory_jpy=10_000_000, cash_jpy=15_000_000,
)


def _statement(end: date, received: date, kind: str = "annual", start: date | None = None, **figures) -> dict:
    # an annual statement covers the twelve months ending at period_end unless told otherwise
    year_start = date(end.year, 1, 1) if end.month == 12 else date(end.year - 1, end.month + 1, 1)
    return dict(local_id="A1", corporate_number=CN, statement_type=kind, period_start=start or year_start,
                period_end=end, received_on=received, **{**BASE, **figures})


def _quarter(start: date, end: date, received: date, sales: int) -> dict:
    return _statement(end, received, kind="quarterly", start=start, sales_jpy=sales)


def _run(*statements: dict, at: tuple[date, ...] = (T,), thresholds: dict | None = None) -> dict:
    # the business is known from its master record (2020), and the bank sends the record again
    # with each as-of date's extract (features.inactive_after_months: a business nobody has
    # reported on for 15 months has left), so it is in the universe at every date even when
    # none of its statements has been received yet
    master = dict(local_id="A1", corporate_number=CN, name="株式会社テスト", entity_type="corporation",
                  jsic_division="E", prefecture_code=13)
    tiny = Tiny().add("business", "bank_0116",
                      *(dict(master, received_on=d) for d in sorted({date(2020, 4, 1), *at})))
    if statements:
        tiny.add("financials", "bank_0116", *statements)
    return tiny.run(*at, family=Family.FINANCIALS, thresholds=thresholds)


def _get(got: dict, indicator: str, at: date = T) -> tuple:
    row = got[(CN, at, indicator)]
    value = None if row["value"] is None else round(row["value"], 4)
    return value, row["available"], row["fired"]


def _evidence(got: dict, indicator: str, at: date = T) -> dict:
    return json.loads(got[(CN, at, indicator)]["evidence"])


UNAVAILABLE = (None, False, None)


def _flat_alone(value: float) -> dict:
    """What a sign with an industry-relative threshold adds to its evidence for the one
    business of these tests: one peer in its division (E), fewer than 30, so the flat
    threshold decided; the division's 90th (10th) percentile of one value is that value."""
    return {"threshold": "flat", "value": value, "jsic_division": "E", "division_percentile": 90.0,
            "division_threshold": value, "peers": 1,
            "flat_because": "businesses of the division with a value: 1, fewer than 30"}


# --- fin_sales_decline_yoy ---------------------------------------------------------

def test_sales_decline_yoy_fires_and_cuts_off_at_receipt():
    # 120m -> 102m: 100 * (102 - 120) / 120 = -15% <= -10%
    prev = _statement(FY24, date(2024, 6, 20))
    cur = _statement(FY25, date(2025, 11, 20), sales_jpy=102_000_000)  # received after T
    got = _run(prev, cur, at=(T, LATER))
    # at T only FY24 is known: no previous statement to compare with
    assert _get(got, "fin_sales_decline_yoy") == UNAVAILABLE
    assert _get(got, "fin_sales_decline_yoy", LATER) == (-15.0, True, True)
    assert _evidence(got, "fin_sales_decline_yoy", LATER) == {
        "period_end": "2025-03-31", "sales_jpy": 102000000, "previous_period_end": "2024-03-31",
        "previous_sales_jpy": 120000000, "change_pct": -15.0}


def test_sales_decline_yoy_small_drop_does_not_fire():
    # 120m -> 114m: -5% > -10%
    got = _run(_statement(FY24, date(2024, 6, 1)), _statement(FY25, date(2025, 6, 1), sales_jpy=114_000_000))
    assert _get(got, "fin_sales_decline_yoy") == (-5.0, True, False)
    assert got[(CN, T, "fin_sales_decline_yoy")]["evidence"] is None


def test_sales_decline_yoy_needs_the_fiscal_year_just_before():
    # FY23 and FY25 without FY24: two years apart, not comparable
    got = _run(_statement(FY23, date(2023, 6, 1)), _statement(FY25, date(2025, 6, 1), sales_jpy=50_000_000))
    assert _get(got, "fin_sales_decline_yoy") == UNAVAILABLE
    # fiscal year end moved from March to December: the 9-month 変則決算 2024-04..2024-12 ends only
    # 9 months after FY24 (outside 11-13 months): no previous statement
    got = _run(_statement(FY24, date(2024, 6, 1)),
               _statement(date(2024, 12, 31), date(2025, 3, 1), start=date(2024, 4, 1), sales_jpy=90_000_000))
    assert _get(got, "fin_sales_decline_yoy") == UNAVAILABLE


def test_sales_decline_yoy_ignores_a_period_of_different_length():
    # FY Dec-2024 covers 9 months (2024-04..2024-12, after a change of year end), FY Dec-2025 12 months:
    # period_ends 12 months apart, but 9 vs 12 months of sales are not comparable
    got = _run(_statement(date(2024, 12, 31), date(2025, 3, 1), start=date(2024, 4, 1), sales_jpy=90_000_000),
               _statement(date(2025, 12, 31), date(2026, 3, 1), sales_jpy=100_000_000), at=(date(2026, 3, 31),))
    assert _get(got, "fin_sales_decline_yoy", date(2026, 3, 31)) == UNAVAILABLE


# --- fin_sales_decline_consecutive ---------------------------------------------------

def test_consecutive_sales_declines_fire_and_count_up_to_three():
    # 130 -> 125 -> 120 -> 110: three declines in a row (the cap)
    rows = [_statement(FY22, date(2022, 6, 1), sales_jpy=130_000_000),
            _statement(FY23, date(2023, 6, 1), sales_jpy=125_000_000),
            _statement(FY24, date(2024, 6, 1), sales_jpy=120_000_000),
            _statement(FY25, date(2025, 6, 1), sales_jpy=110_000_000)]
    got = _run(*rows)
    assert _get(got, "fin_sales_decline_consecutive") == (3.0, True, True)
    assert _evidence(got, "fin_sales_decline_consecutive") == {
        "years_of_decline": 3, "period_ends": ["2025-03-31", "2024-03-31", "2023-03-31", "2022-03-31"],
        "sales_jpy": [110000000, 120000000, 125000000, 130000000]}


def test_consecutive_sales_declines_broken_run_does_not_fire():
    # 125 -> 130 -> 110: only the last year fell; the run is closed by the rise: 1 < 2
    rows = [_statement(FY23, date(2023, 6, 1), sales_jpy=125_000_000),
            _statement(FY24, date(2024, 6, 1), sales_jpy=130_000_000),
            _statement(FY25, date(2025, 6, 1), sales_jpy=110_000_000)]
    assert _get(_run(*rows), "fin_sales_decline_consecutive") == (1.0, True, False)
    # sales rose in the latest year: 0, known without any older statement
    rows = [_statement(FY24, date(2024, 6, 1)), _statement(FY25, date(2025, 6, 1), sales_jpy=121_000_000)]
    assert _get(_run(*rows), "fin_sales_decline_consecutive") == (0.0, True, False)


def test_consecutive_sales_declines_unavailable_when_the_run_reaches_the_oldest_statement():
    # 120 -> 110 with nothing before FY24: one decline, but FY24 may itself have been a decline
    rows = [_statement(FY24, date(2024, 6, 1)), _statement(FY25, date(2025, 6, 1), sales_jpy=110_000_000)]
    assert _get(_run(*rows), "fin_sales_decline_consecutive") == UNAVAILABLE
    # a single statement: nothing to compare
    assert _get(_run(rows[0]), "fin_sales_decline_consecutive") == UNAVAILABLE
    # ... unless the threshold is one year: then one decline is enough to decide
    got = _run(*rows, thresholds={"fin_sales_decline_consecutive.min_years": 1})
    assert _get(got, "fin_sales_decline_consecutive") == (1.0, True, True)


def test_consecutive_sales_declines_point_in_time():
    # FY22 130 -> FY23 125 -> FY24 120 -> FY25 130, FY25 received after T
    # at T: latest FY24: 120 < 125 < 130: 2 declines (the run reaches FY22, the oldest, but already
    # counts min_years) -> fires; later: FY25 130 > 120: 0 -> does not fire
    rows = [_statement(FY22, date(2022, 6, 1), sales_jpy=130_000_000),
            _statement(FY23, date(2023, 6, 1), sales_jpy=125_000_000),
            _statement(FY24, date(2024, 6, 1), sales_jpy=120_000_000),
            _statement(FY25, date(2025, 11, 15), sales_jpy=130_000_000)]
    got = _run(*rows, at=(T, LATER))
    assert _get(got, "fin_sales_decline_consecutive") == (2.0, True, True)
    assert _get(got, "fin_sales_decline_consecutive", LATER) == (0.0, True, False)


# --- fin_operating_loss / fin_consecutive_operating_losses -------------------------

def test_operating_losses_fire():
    rows = [_statement(FY24, date(2024, 6, 1), operating_profit_jpy=-1_000_000),
            _statement(FY25, date(2025, 6, 1), operating_profit_jpy=-2_500_000)]
    got = _run(*rows)
    assert _get(got, "fin_operating_loss") == (-2_500_000.0, True, True)
    assert _evidence(got, "fin_operating_loss") == {
        "period_end": "2025-03-31", "operating_profit_jpy": -2500000, "sales_jpy": 120000000}
    # FY25 and FY24 both lost; FY24 is the oldest on file but the run already reached 2
    assert _get(got, "fin_consecutive_operating_losses") == (2.0, True, True)
    assert _evidence(got, "fin_consecutive_operating_losses") == {
        "years_of_loss": 2, "period_ends": ["2025-03-31", "2024-03-31"],
        "operating_profit_jpy": [-2500000, -1000000]}


def test_operating_profit_does_not_fire():
    # a profit in the latest year: no loss, run of 0 (known even without older statements)
    got = _run(_statement(FY25, date(2025, 6, 1), operating_profit_jpy=100))
    assert _get(got, "fin_operating_loss") == (100.0, True, False)
    assert _get(got, "fin_consecutive_operating_losses") == (0.0, True, False)
    # a loss after a profitable year: one loss, closed run: 1 < 2
    got = _run(_statement(FY24, date(2024, 6, 1)), _statement(FY25, date(2025, 6, 1), operating_profit_jpy=-1))
    assert _get(got, "fin_operating_loss") == (-1.0, True, True)
    assert _get(got, "fin_consecutive_operating_losses") == (1.0, True, False)


def test_operating_losses_unavailable():
    # no annual statement (only a trial balance)
    got = _run(_quarter(date(2025, 4, 1), date(2025, 6, 30), date(2025, 8, 1), 30_000_000))
    assert _get(got, "fin_operating_loss") == UNAVAILABLE
    assert _get(got, "fin_consecutive_operating_losses") == UNAVAILABLE
    # a first loss-making year on file: was the year before a loss too? unknown
    got = _run(_statement(FY25, date(2025, 6, 1), operating_profit_jpy=-1))
    assert _get(got, "fin_operating_loss") == (-1.0, True, True)
    assert _get(got, "fin_consecutive_operating_losses") == UNAVAILABLE
    # operating profit left empty
    got = _run(_statement(FY25, date(2025, 6, 1), operating_profit_jpy=None))
    assert _get(got, "fin_operating_loss") == UNAVAILABLE


def test_operating_losses_point_in_time():
    rows = [_statement(FY24, date(2024, 6, 1), operating_profit_jpy=-1_000_000),
            _statement(FY25, date(2025, 11, 10), operating_profit_jpy=-3_000_000)]
    got = _run(*rows, at=(T, LATER))
    # at T: only FY24 (a loss, the oldest on file): loss fires, the run is undecided
    assert _get(got, "fin_operating_loss") == (-1_000_000.0, True, True)
    assert _get(got, "fin_consecutive_operating_losses") == UNAVAILABLE
    assert _get(got, "fin_consecutive_operating_losses", LATER) == (2.0, True, True)


# --- fin_negative_net_assets -----------------------------------------------------

def test_negative_net_assets():
    got = _run(_statement(FY25, date(2025, 6, 1), net_assets_jpy=-5_000_000,
                          total_assets_jpy=80_000_000, total_liabilities_jpy=85_000_000))
    assert _get(got, "fin_negative_net_assets") == (-5_000_000.0, True, True)
    assert _evidence(got, "fin_negative_net_assets") == {
        "period_end": "2025-03-31", "net_assets_jpy": -5000000, "total_assets_jpy": 80000000,
        "total_liabilities_jpy": 85000000}
    assert _get(_run(_statement(FY25, date(2025, 6, 1))), "fin_negative_net_assets") == (30_000_000.0, True, False)
    assert _get(_run(_statement(FY25, date(2025, 6, 1), net_assets_jpy=None)), "fin_negative_net_assets") == UNAVAILABLE
    assert _get(_run(), "fin_negative_net_assets") == UNAVAILABLE


def test_negative_net_assets_point_in_time():
    got = _run(_statement(FY24, date(2024, 6, 1)),
               _statement(FY25, date(2025, 11, 1), net_assets_jpy=-1), at=(T, LATER))
    assert _get(got, "fin_negative_net_assets") == (30_000_000.0, True, False)
    assert _get(got, "fin_negative_net_assets", LATER) == (-1.0, True, True)


# --- fin_current_ratio_low -------------------------------------------------------

def test_current_ratio():
    got = _run(_statement(FY25, date(2025, 6, 1), current_assets_jpy=30_000_000, current_liabilities_jpy=40_000_000))
    assert _get(got, "fin_current_ratio_low") == (0.75, True, True)  # 30 / 40
    assert _evidence(got, "fin_current_ratio_low") == {
        "period_end": "2025-03-31", "current_assets_jpy": 30000000, "current_liabilities_jpy": 40000000,
        "current_ratio": 0.75}
    assert _get(_run(_statement(FY25, date(2025, 6, 1))), "fin_current_ratio_low") == (1.25, True, False)  # 50 / 40
    assert _get(_run(_statement(FY25, date(2025, 6, 1), current_liabilities_jpy=0)),
                "fin_current_ratio_low") == UNAVAILABLE
    assert _get(_run(_statement(FY25, date(2025, 6, 1), current_assets_jpy=None)),
                "fin_current_ratio_low") == UNAVAILABLE


def test_current_ratio_point_in_time():
    got = _run(_statement(FY25, date(2025, 11, 1), current_assets_jpy=36_000_000), at=(T, LATER))
    assert _get(got, "fin_current_ratio_low") == UNAVAILABLE
    assert _get(got, "fin_current_ratio_low", LATER) == (0.9, True, True)  # 36 / 40


# --- fin_borrowings_to_monthly_sales / fin_borrowings_multiple_rising ----------------

def test_borrowings_to_monthly_sales_level_and_rise_fire():
    # FY24: 60m / (120m / 12) = 6.0 months; FY25: (20m + 64m) / (96m / 12) = 84 / 8 = 10.5 months
    rows = [_statement(FY24, date(2024, 6, 1)),
            _statement(FY25, date(2025, 6, 1), sales_jpy=96_000_000, long_term_borrowings_jpy=64_000_000)]
    got = _run(*rows)
    assert _get(got, "fin_borrowings_to_monthly_sales") == (10.5, True, True)
    assert _evidence(got, "fin_borrowings_to_monthly_sales") == {
        "period_end": "2025-03-31", "short_term_borrowings_jpy": 20000000, "long_term_borrowings_jpy": 64000000,
        "sales_jpy": 96000000, "monthly_sales_jpy": 8000000.0, "months_of_sales": 10.5,
        # alone in its division: the flat threshold decided (tests/features/test_peer_thresholds.py)
        **_flat_alone(10.5)}
    assert _get(got, "fin_borrowings_multiple_rising") == (4.5, True, True)  # 10.5 - 6.0
    assert _evidence(got, "fin_borrowings_multiple_rising") == {
        "period_end": "2025-03-31", "borrowings_jpy": 84000000, "sales_jpy": 96000000, "months_of_sales": 10.5,
        "previous_period_end": "2024-03-31", "previous_borrowings_jpy": 60000000,
        "previous_sales_jpy": 120000000, "previous_months_of_sales": 6.0}


def test_borrowings_multiple_at_the_threshold_does_not_fire():
    # both years 6.0 months: not above 6; rise 0 < 1
    got = _run(_statement(FY24, date(2024, 6, 1)), _statement(FY25, date(2025, 6, 1)))
    assert _get(got, "fin_borrowings_to_monthly_sales") == (6.0, True, False)
    assert _get(got, "fin_borrowings_multiple_rising") == (0.0, True, False)
    # a rise of 0.9 month: 60m -> 69m borrowings = 6.9 months, 6.9 - 6.0 = 0.9 < 1 (level fires, rise does not)
    got = _run(_statement(FY24, date(2024, 6, 1)),
               _statement(FY25, date(2025, 6, 1), long_term_borrowings_jpy=49_000_000))
    assert _get(got, "fin_borrowings_to_monthly_sales") == (6.9, True, True)
    assert _get(got, "fin_borrowings_multiple_rising") == (0.9, True, False)


def test_borrowings_multiple_unavailable_and_blank_lines():
    # both borrowing lines empty: unknown, not zero
    got = _run(_statement(FY25, date(2025, 6, 1), short_term_borrowings_jpy=None, long_term_borrowings_jpy=None))
    assert _get(got, "fin_borrowings_to_monthly_sales") == UNAVAILABLE
    # only one line given: the other counts as none: 40m / 10m = 4.0 months
    got = _run(_statement(FY25, date(2025, 6, 1), short_term_borrowings_jpy=None))
    assert _get(got, "fin_borrowings_to_monthly_sales") == (4.0, True, False)
    # no previous statement: no rise to measure
    assert _get(got, "fin_borrowings_multiple_rising") == UNAVAILABLE
    # zero sales: no monthly sales to divide by
    got = _run(_statement(FY25, date(2025, 6, 1), sales_jpy=0))
    assert _get(got, "fin_borrowings_to_monthly_sales") == UNAVAILABLE


def test_borrowings_multiple_uses_the_months_the_statement_covers():
    # a 9-month statement (2024-04..2024-12): monthly sales 90m / 9 = 10m; 60m / 10m = 6.0 months, not 8.0
    got = _run(_statement(date(2024, 12, 31), date(2025, 3, 1), start=date(2024, 4, 1), sales_jpy=90_000_000))
    assert _get(got, "fin_borrowings_to_monthly_sales") == (6.0, True, False)


def test_borrowings_multiple_point_in_time():
    rows = [_statement(FY24, date(2024, 6, 1)),
            _statement(FY25, date(2025, 11, 1), long_term_borrowings_jpy=60_000_000)]  # 80m / 10m = 8.0
    got = _run(*rows, at=(T, LATER))
    assert _get(got, "fin_borrowings_to_monthly_sales") == (6.0, True, False)
    assert _get(got, "fin_borrowings_multiple_rising") == UNAVAILABLE
    assert _get(got, "fin_borrowings_to_monthly_sales", LATER) == (8.0, True, True)
    assert _get(got, "fin_borrowings_multiple_rising", LATER) == (2.0, True, True)  # 8.0 - 6.0


# --- fin_interest_coverage_low ---------------------------------------------------

def test_interest_coverage():
    got = _run(_statement(FY25, date(2025, 6, 1), operating_profit_jpy=800_000))
    assert _get(got, "fin_interest_coverage_low") == (0.8, True, True)  # 800k / 1m
    assert _evidence(got, "fin_interest_coverage_low") == {
        "period_end": "2025-03-31", "operating_profit_jpy": 800000, "interest_expense_jpy": 1000000,
        "interest_coverage": 0.8, **_flat_alone(0.8)}
    assert _get(_run(_statement(FY25, date(2025, 6, 1))), "fin_interest_coverage_low") == (6.0, True, False)
    # no interest paid: nothing to cover, no value, does not fire
    assert _get(_run(_statement(FY25, date(2025, 6, 1), interest_expense_jpy=0)),
                "fin_interest_coverage_low") == (None, True, False)
    # interest expense left empty: unknown
    assert _get(_run(_statement(FY25, date(2025, 6, 1), interest_expense_jpy=None)),
                "fin_interest_coverage_low") == UNAVAILABLE


def test_interest_coverage_point_in_time():
    got = _run(_statement(FY24, date(2024, 6, 1)),
               _statement(FY25, date(2025, 11, 1), operating_profit_jpy=-500_000), at=(T, LATER))
    assert _get(got, "fin_interest_coverage_low") == (6.0, True, False)
    assert _get(got, "fin_interest_coverage_low", LATER) == (-0.5, True, True)  # -500k / 1m


# --- fin_receivable_days_up / fin_inventory_days_up -----------------------------------

def test_receivable_and_inventory_days():
    # FY24 covers 366 days, FY25 365.
    # receivables: 20m / 120m * 366 = 61.0 days -> 30m / 120m * 365 = 91.25 days:
    #   100 * (91.25 - 61) / 61 = 49.5902% >= 30% and +30.25 days >= 15: fires
    # inventory:   10m / 120m * 366 = 30.5 days -> 12m / 120m * 365 = 36.5 days:
    #   100 * (36.5 - 30.5) / 30.5 = 19.6721% < 30%: does not fire
    got = _run(_statement(FY24, date(2024, 6, 1)),
               _statement(FY25, date(2025, 6, 1), receivables_jpy=30_000_000, inventory_jpy=12_000_000))
    assert _get(got, "fin_receivable_days_up") == (49.5902, True, True)
    assert _evidence(got, "fin_receivable_days_up") == {
        "period_end": "2025-03-31", "receivables_jpy": 30000000, "sales_jpy": 120000000, "receivable_days": 91.3,
        "previous_period_end": "2024-03-31", "previous_receivables_jpy": 20000000,
        "previous_sales_jpy": 120000000, "previous_receivable_days": 61.0}
    assert _get(got, "fin_inventory_days_up") == (19.6721, True, False)


def test_days_up_by_a_large_share_of_a_small_base_do_not_fire():
    # inventory 1m -> 2m on 120m sales: 1/120*366 = 3.05 days -> 2/120*365 = 6.0833 days:
    #   100 * (6.0833 - 3.05) / 3.05 = 99.4536% but only +3.03 days < 15: does not fire
    # inventory 10m -> 20m: 30.5 -> 60.8333 days, +99.4536% and +30.33 days: fires
    got = _run(_statement(FY24, date(2024, 6, 1), inventory_jpy=1_000_000),
               _statement(FY25, date(2025, 6, 1), inventory_jpy=2_000_000))
    assert _get(got, "fin_inventory_days_up") == (99.4536, True, False)
    got = _run(_statement(FY24, date(2024, 6, 1)), _statement(FY25, date(2025, 6, 1), inventory_jpy=20_000_000))
    assert _get(got, "fin_inventory_days_up") == (99.4536, True, True)
    assert _evidence(got, "fin_inventory_days_up")["inventory_days"] == 60.8


def test_days_up_unavailable():
    # no previous statement; previous receivables empty; previous inventory zero
    one = _run(_statement(FY25, date(2025, 6, 1)))
    assert _get(one, "fin_receivable_days_up") == UNAVAILABLE
    assert _get(one, "fin_inventory_days_up") == UNAVAILABLE
    got = _run(_statement(FY24, date(2024, 6, 1), receivables_jpy=None, inventory_jpy=0),
               _statement(FY25, date(2025, 6, 1)))
    assert _get(got, "fin_receivable_days_up") == UNAVAILABLE
    assert _get(got, "fin_inventory_days_up") == UNAVAILABLE


def test_days_up_point_in_time():
    # FY23 (365 days) and FY24 (366 days) on file at T; FY25 (365 days) received after T.
    # at T: receivables 20m both: 20/120*365 = 60.8333 -> 20/120*366 = 61.0: +0.274% (only the leap day)
    # later: 61.0 -> 40/120*365 = 121.6667 days: +99.4536%, +60.67 days: fires
    rows = [_statement(FY23, date(2023, 6, 1)), _statement(FY24, date(2024, 6, 1)),
            _statement(FY25, date(2025, 11, 1), receivables_jpy=40_000_000, inventory_jpy=20_000_000)]
    got = _run(*rows, at=(T, LATER))
    assert _get(got, "fin_receivable_days_up") == (0.274, True, False)
    assert _get(got, "fin_inventory_days_up") == (0.274, True, False)
    assert _get(got, "fin_receivable_days_up", LATER) == (99.4536, True, True)
    assert _get(got, "fin_inventory_days_up", LATER) == (99.4536, True, True)


# --- fin_cash_decline ------------------------------------------------------------

def test_cash_decline():
    # 15m -> 9m: -40% <= -30%
    got = _run(_statement(FY24, date(2024, 6, 1)), _statement(FY25, date(2025, 6, 1), cash_jpy=9_000_000))
    assert _get(got, "fin_cash_decline") == (-40.0, True, True)
    assert _evidence(got, "fin_cash_decline") == {
        "period_end": "2025-03-31", "cash_jpy": 9000000, "previous_period_end": "2024-03-31",
        "previous_cash_jpy": 15000000}
    # 15m -> 12m: -20%
    got = _run(_statement(FY24, date(2024, 6, 1)), _statement(FY25, date(2025, 6, 1), cash_jpy=12_000_000))
    assert _get(got, "fin_cash_decline") == (-20.0, True, False)
    # previous cash empty, or no previous statement
    got = _run(_statement(FY24, date(2024, 6, 1), cash_jpy=None), _statement(FY25, date(2025, 6, 1)))
    assert _get(got, "fin_cash_decline") == UNAVAILABLE
    assert _get(_run(_statement(FY25, date(2025, 6, 1))), "fin_cash_decline") == UNAVAILABLE


def test_cash_decline_point_in_time():
    got = _run(_statement(FY24, date(2024, 6, 1)), _statement(FY25, date(2025, 11, 1), cash_jpy=3_000_000),
               at=(T, LATER))
    assert _get(got, "fin_cash_decline") == UNAVAILABLE
    assert _get(got, "fin_cash_decline", LATER) == (-80.0, True, True)  # (3 - 15) / 15


# --- fin_statements_overdue ------------------------------------------------------

def test_statements_overdue_fires_after_eighteen_months():
    # latest FY 2024-03-31: 2024-03 -> 2025-10 is 19 months > 18
    got = _run(_statement(FY24, date(2024, 6, 1)))
    assert _get(got, "fin_statements_overdue") == (19.0, True, True)
    assert _evidence(got, "fin_statements_overdue") == {
        "latest_annual_period_end": "2024-03-31", "latest_annual_received_on": "2024-06-01",
        "first_trial_balance_period_start": None, "months_since": 19}


def test_statements_overdue_eighteen_months_is_not_yet_overdue():
    # as of 2025-09-30: 2024-03 -> 2025-09 is 18 months
    got = _run(_statement(FY24, date(2024, 6, 1)), at=(date(2025, 9, 30),))
    assert _get(got, "fin_statements_overdue", date(2025, 9, 30)) == (18.0, True, False)


def test_statements_overdue_counts_statements_of_any_age():
    # a statement more than 5 years old is ignored by the ratios but still dates the last filing:
    # 2019-03 -> 2025-10 = 79 months
    got = _run(_statement(date(2019, 3, 31), date(2019, 6, 1)))
    assert _get(got, "fin_statements_overdue") == (79.0, True, True)
    assert _get(got, "fin_operating_loss") == UNAVAILABLE


def test_statements_overdue_trial_balances_only():
    # fiscal year from 2024-04-01: counted from 2024-03-31: 19 months -> the annual statement of the
    # year before, or of this one, should have come
    got = _run(_quarter(date(2024, 4, 1), date(2024, 6, 30), date(2024, 8, 1), 30_000_000))
    assert _get(got, "fin_statements_overdue") == (19.0, True, True)
    assert _evidence(got, "fin_statements_overdue")["first_trial_balance_period_start"] == "2024-04-01"
    # a new business's first trial balance (from 2025-04-01): 2025-03-31 -> 2025-10 = 7 months
    got = _run(_quarter(date(2025, 4, 1), date(2025, 6, 30), date(2025, 8, 1), 30_000_000))
    assert _get(got, "fin_statements_overdue") == (7.0, True, False)


def test_statements_overdue_unavailable_without_any_statement():
    assert _get(_run(), "fin_statements_overdue") == UNAVAILABLE


def test_statements_overdue_point_in_time():
    # FY25 arrives 2025-11-20: at T the latest is FY24 (19 months, overdue); later FY25 (9 months)
    got = _run(_statement(FY24, date(2024, 6, 1)), _statement(FY25, date(2025, 11, 20)), at=(T, LATER))
    assert _get(got, "fin_statements_overdue") == (19.0, True, True)
    assert _get(got, "fin_statements_overdue", LATER) == (9.0, True, False)  # 2025-03 -> 2025-12


# --- fin_quarterly_sales_decline -------------------------------------------------

def test_quarterly_sales_decline_same_period_last_year():
    # Apr-Sep 2025 YTD 48m vs Apr-Sep 2024 YTD 60m: 100 * (48 - 60) / 60 = -20% <= -15%
    rows = [_quarter(date(2024, 4, 1), date(2024, 9, 30), date(2024, 11, 1), 60_000_000),
            _quarter(date(2025, 4, 1), date(2025, 9, 30), date(2025, 11, 10), 48_000_000)]
    got = _run(*rows, at=(T, LATER))
    # at T the 2025 trial balance is not received: the latest is Apr-Sep 2024, whose year before is not on file
    assert _get(got, "fin_quarterly_sales_decline") == UNAVAILABLE
    assert _get(got, "fin_quarterly_sales_decline", LATER) == (-20.0, True, True)
    assert _evidence(got, "fin_quarterly_sales_decline", LATER) == {
        "period_start": "2025-04-01", "period_end": "2025-09-30", "sales_jpy": 48000000,
        "previous_period_start": "2024-04-01", "previous_period_end": "2024-09-30",
        "previous_sales_jpy": 60000000, "change_pct": -20.0}


def test_quarterly_sales_decline_small_drop_does_not_fire():
    # Apr-Jun: 30m -> 27m: -10% > -15%
    got = _run(_quarter(date(2024, 4, 1), date(2024, 6, 30), date(2024, 8, 1), 30_000_000),
               _quarter(date(2025, 4, 1), date(2025, 6, 30), date(2025, 8, 1), 27_000_000))
    assert _get(got, "fin_quarterly_sales_decline") == (-10.0, True, False)


def test_quarterly_sales_decline_unavailable():
    prev = _quarter(date(2024, 4, 1), date(2024, 9, 30), date(2024, 11, 1), 60_000_000)
    # a different period length (Jul-Sep vs Apr-Sep) is not comparable
    got = _run(prev, _quarter(date(2025, 7, 1), date(2025, 9, 30), date(2025, 10, 10), 20_000_000))
    assert _get(got, "fin_quarterly_sales_decline") == UNAVAILABLE
    # the latest trial balance ends more than 12 months before T (Apr-Sep 2024 vs 2023, as of 2025-10-31)
    got = _run(_quarter(date(2023, 4, 1), date(2023, 9, 30), date(2023, 11, 1), 60_000_000), prev)
    assert _get(got, "fin_quarterly_sales_decline") == UNAVAILABLE
    # superseded by an annual statement for a later period end (FY25 ends 2025-03-31 > 2024-09-30);
    # without it, as of 2025-07-31, Apr-Sep 2024 30m vs 2023 60m = -50% would fire
    pair = [_quarter(date(2023, 4, 1), date(2023, 9, 30), date(2023, 11, 1), 60_000_000),
            _quarter(date(2024, 4, 1), date(2024, 9, 30), date(2024, 11, 1), 30_000_000)]
    at = date(2025, 7, 31)
    assert _get(_run(*pair, at=(at,)), "fin_quarterly_sales_decline", at) == (-50.0, True, True)
    got = _run(*pair, _statement(FY25, date(2025, 6, 1)), at=(at,))
    assert _get(got, "fin_quarterly_sales_decline", at) == UNAVAILABLE


# --- the whole family ------------------------------------------------------------

def test_correction_replaces_the_statement_it_corrects():
    # FY25 first sent with sales 102m, then restated to 118m: 100 * (118 - 120) / 120 = -1.6667%
    rows = [_statement(FY24, date(2024, 6, 1)),
            _statement(FY25, date(2025, 6, 1), sales_jpy=102_000_000),
            _statement(FY25, date(2025, 7, 1), sales_jpy=118_000_000)]
    got = _run(*rows, at=(date(2025, 6, 15), T))
    assert _get(got, "fin_sales_decline_yoy", date(2025, 6, 15)) == (-15.0, True, True)
    assert _get(got, "fin_sales_decline_yoy") == (-1.6667, True, False)


def test_same_statement_from_two_institutions_counts_once():
    # the association sends FY25 later than the bank, with the same figures: still one FY25
    tiny = Tiny().add("financials", "bank_0116", _statement(FY24, date(2024, 6, 1)),
                      _statement(FY25, date(2025, 6, 1), sales_jpy=102_000_000))
    tiny.add("financials", "cga_01", {**_statement(FY25, date(2025, 8, 1), sales_jpy=102_000_000), "local_id": "G9"})
    got = tiny.run(T, family=Family.FINANCIALS)
    assert _get(got, "fin_sales_decline_yoy") == (-15.0, True, True)
    assert _get(got, "fin_borrowings_to_monthly_sales") == (7.0588, True, True)  # 60m / (102m / 12)


def test_same_period_from_two_institutions_the_preferred_one_is_used():
    # two institutions send FY25 with different figures: the one received later is used; received
    # the same day, the lower institution_id's (yocho.warehouse.pit: pit_preference)
    def both(bank_received: date, cga_received: date) -> dict:
        tiny = Tiny().add("financials", "bank_0116", _statement(FY24, date(2024, 6, 1)),
                          _statement(FY25, bank_received, sales_jpy=102_000_000))
        tiny.add("financials", "cga_01",
                 {**_statement(FY25, cga_received, sales_jpy=108_000_000), "local_id": "G9"})
        return tiny.run(T, family=Family.FINANCIALS)

    same_day = both(date(2025, 6, 1), date(2025, 6, 1))
    assert _get(same_day, "fin_sales_decline_yoy") == (-15.0, True, True)  # bank_0116 < cga_01: 102m
    assert _evidence(same_day, "fin_sales_decline_yoy")["sales_jpy"] == 102_000_000
    later_cga = both(date(2025, 6, 1), date(2025, 6, 2))
    assert _get(later_cga, "fin_sales_decline_yoy") == (-10.0, True, True)  # cga_01 received later: 108m
    later_bank = both(date(2025, 6, 2), date(2025, 6, 1))
    assert _get(later_bank, "fin_sales_decline_yoy") == (-15.0, True, True)


def test_business_without_statements_is_unavailable_everywhere():
    got = _run()
    rows = [r for (key, _, _), r in got.items() if key == CN]
    assert len(rows) == len(by_family(Family.FINANCIALS)) + len(measures_of(Family.FINANCIALS)) == 14 + 16
    assert all((r["available"], r["value"], r["fired"], r["evidence"]) == (False, None, None, None) for r in rows)


def test_business_known_only_from_a_later_statement_is_not_in_the_universe_yet():
    tiny = Tiny().add("financials", "bank_0116", _statement(FY25, date(2025, 11, 5), operating_profit_jpy=-1))
    assert tiny.run(T, family=Family.FINANCIALS) == {}


def test_threshold_override():
    # 19 months overdue does not fire with a 24-month tolerance
    got = _run(_statement(FY24, date(2024, 6, 1)), thresholds={"fin_statements_overdue.max_months": 24})
    assert _get(got, "fin_statements_overdue") == (19.0, True, False)
