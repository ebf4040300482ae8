"""The budgeted watch list on a hand-built panel whose entries, recall, leads and precision are
worked out by hand (models/watchlist.py)."""
from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from models.watchlist import RETENTION_MONTHS, Window, budget_entries, default_window, evaluate, leads, simulate


def month_end(i: int) -> date:
    """Month-end of month i, month 0 being January 2024."""
    year, month = divmod(2024 * 12 + i + 1, 12)
    return date(year, month + 1, 1) - timedelta(days=1)


MONTHS = range(14)  # 2024-01-31 … 2025-02-28
MONITORED = ["B1", "B2", "B3", "B4", "B5", "B6"]
# X ranks first every month but is outside the universe; B6 is monitored but never scored.
SCORE = {"X": 100.0, "B1": 5.0, "B2": 4.0, "B3": 3.0, "B4": 2.0, "B5": 1.0}
BUDGET = 0.3  # ⌈0.3 × 6⌉ = 2 new entries a month


@pytest.fixture
def universe() -> pl.DataFrame:
    return pl.DataFrame([(k, month_end(m)) for m in MONTHS for k in MONITORED],
                        schema={"business_key": pl.Utf8, "as_of": pl.Date}, orient="row")


@pytest.fixture
def scores() -> pl.DataFrame:
    return pl.DataFrame([(k, month_end(m), s) for m in MONTHS for k, s in SCORE.items()],
                        schema={"business_key": pl.Utf8, "as_of": pl.Date, "score": pl.Float64}, orient="row")


EVENTS = pl.DataFrame({
    "business_key": ["B2", "B5", "B3", "B6", "B4", "B3", "Z"],
    "event_on": [date(2024, 2, 10), date(2024, 9, 3), date(2025, 1, 15), date(2024, 6, 20), date(2025, 3, 5),
                 date(2025, 2, 20),  # B3's second event: only the first counts
                 date(2024, 7, 1)],  # a business never monitored: not in the recall's denominator
})
WINDOW = Window(first_event_month=date(2024, 2, 1), last_event_month=date(2025, 1, 1), observed_month=date(2025, 2, 1))


def test_entries_by_hand(universe, scores):
    entries = simulate(scores, universe, BUDGET)
    got = {(r["business_key"], r["as_of"]) for r in entries.iter_rows(named=True)}
    # month 0: B1, B2; month 1: B3, B4; month 2: B5, the only one left off the list; months
    # 3-11: everyone scored is on the list; month 12: B1 and B2's entries expired (12 months),
    # they are entered again; month 13: B3 and B4 likewise.
    assert got == {("B1", month_end(0)), ("B2", month_end(0)), ("B3", month_end(1)), ("B4", month_end(1)),
                   ("B5", month_end(2)), ("B1", month_end(12)), ("B2", month_end(12)),
                   ("B3", month_end(13)), ("B4", month_end(13))}
    assert entries.filter(pl.col("as_of") == month_end(0)).sort("entry_rank")["business_key"].to_list() == ["B1", "B2"]


def test_budget_cap_universe_and_no_double_entry(universe, scores):
    entries = simulate(scores, universe, BUDGET)
    assert entries.group_by("as_of").len()["len"].max() <= budget_entries(6, BUDGET) == 2
    assert "X" not in entries["business_key"].to_list()  # outside the universe: never added
    assert "B6" not in entries["business_key"].to_list()  # no score: not a candidate
    # never entered again while on the list
    gaps = (entries.sort("business_key", "as_of")
            .with_columns(m=pl.col("as_of").dt.year() * 12 + pl.col("as_of").dt.month())
            .with_columns(gap=pl.col("m").diff().over("business_key")).drop_nulls("gap"))
    assert gaps["gap"].min() >= RETENTION_MONTHS


def test_a_business_leaving_the_universe_is_not_added(universe, scores):
    # B3 leaves after month 0: it is never entered, and B5 takes its place in month 1
    left = universe.filter(~((pl.col("business_key") == "B3") & (pl.col("as_of") > month_end(0))))
    entries = simulate(scores, left, BUDGET)
    assert "B3" not in entries["business_key"].to_list()
    assert set(entries.filter(pl.col("as_of") == month_end(1))["business_key"]) == {"B4", "B5"}


def test_recall_leads_and_precision_by_hand(universe, scores):
    entries = simulate(scores, universe, BUDGET)
    figures = evaluate(entries, universe, EVENTS, WINDOW)
    # Due: B2 (event 2024-02), B6 (2024-06), B5 (2024-09), B3 (2025-01, its first); Z was never
    # monitored, B4's event (2025-03) is after the window. Caught: B2 entered month 0 (lead 1),
    # B5 month 2 (lead 6), B3 month 1 (lead 11); B6 was never scored.
    assert figures["events"] == 4 and figures["caught"] == 3
    assert figures["recall"] == pytest.approx(0.75)
    assert figures["median_lead_months"] == 6
    # Judged entries: those whose 12 months are observed by 2025-02 (months 0 and 1): B1, B2,
    # B3, B4. Followed by an event within 12 months: B2 (month 1), B3 (month 12): 2 of 4.
    assert figures["entries_judged"] == 4 and figures["precision"] == pytest.approx(0.5)
    assert leads(entries, EVENTS).filter(pl.col("business_key") == "B5")["lead_months"].to_list() == [6]


def test_an_entry_more_than_twelve_months_before_the_event_is_not_a_catch(universe, scores):
    # B1 entered at 2024-01-31 and is on the list through 2024-12: an event in January 2025 is
    # caught (lead 12), one in February 2025 is not (lead 13); the list stops in December, so
    # B1 is not entered again
    until_dec = universe.filter(pl.col("as_of") <= month_end(11))
    entries = simulate(scores, until_dec, BUDGET)
    window = Window(date(2024, 2, 1), date(2025, 2, 1), date(2025, 2, 1))
    for event_on, caught in ((date(2025, 1, 20), 1), (date(2025, 2, 20), 0)):
        event = pl.DataFrame({"business_key": ["B1"], "event_on": [event_on]})
        figures = evaluate(entries, until_dec, event, window)
        assert (figures["events"], figures["caught"]) == (1, caught)


def test_budget_entries_round_up():
    assert budget_entries(24_000, 0.015) == 360
    assert budget_entries(100, 0.015) == 2
    assert budget_entries(0, 0.015) == 0


def test_default_window_needs_twelve_list_months(universe):
    # list months 2024-01 … 2025-02; events observed through 2025-02 (2025-03-10 is mid-month)
    assert default_window(universe, date(2025, 3, 10)) == Window(date(2025, 1, 1), date(2025, 2, 1), date(2025, 2, 1))
    assert default_window(universe, date(2025, 2, 28)).observed_month == date(2025, 2, 1)
    assert default_window(universe.filter(pl.col("as_of") <= month_end(10)), date(2025, 3, 10)) is None
