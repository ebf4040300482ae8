"""Did it work? (signals/followup.py) on a small hand-made warehouse and cohort with a known
answer: the referred businesses followed from their plan date, comparable unreferred ones
from their flag date plus the stratum's flag-to-plan lag; stale scores, horizons the
warehouse has not reached and groups too small are reported, not averaged."""
from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from signals.followup import followup
from signals.queue.followup_cohort import COHORT_SCHEMA

D = date


def _cohort() -> pl.DataFrame:
    rows = [
        ("R1", "referred", D(2025, 1, 31), "management_improvement", "high", D(2025, 6, 30)),  # 150 days
        ("R2", "referred", D(2025, 3, 31), "management_improvement", "high", D(2025, 8, 28)),  # 150 days
        ("R3", "referred", D(2025, 1, 31), "management_improvement", "high", D(2025, 6, 30)),  # stale later
        ("C1", "comparison", D(2025, 1, 31), "management_improvement", "high", None),  # → 2025-06-30
        ("C2", "comparison", D(2025, 3, 31), "management_improvement", "high", None),  # → 2025-08-28
        ("C3", "comparison", D(2025, 1, 31), "revitalisation", "high", None),  # no referred peer: left out
    ]
    return pl.DataFrame(rows, schema=COHORT_SCHEMA, orient="row")


@pytest.fixture
def warehouse():
    con = duckdb.connect()
    con.execute("CREATE TABLE risk_scores (business_key VARCHAR, as_of DATE, probability DOUBLE, "
                "signs_fired INTEGER)")
    con.executemany("INSERT INTO risk_scores VALUES (?, ?, ?, ?)", [
        ("R1", D(2025, 6, 30), 0.4, 3), ("R1", D(2026, 6, 30), 0.1, 0),
        ("R2", D(2025, 8, 28), 0.5, 2), ("R2", D(2026, 8, 28), 0.2, 1),
        ("R3", D(2025, 6, 30), 0.9, 4), ("R3", D(2026, 1, 31), 0.9, 4),  # nothing near 2026-06-30
        ("C1", D(2025, 6, 30), 0.4, 3), ("C1", D(2026, 6, 30), 0.3, 2),
        ("C2", D(2025, 8, 28), 0.5, 3), ("C2", D(2026, 8, 28), 0.5, 3),
        ("C3", D(2025, 6, 30), 0.9, 5), ("C3", D(2026, 6, 30), 0.9, 5),
    ])
    yield con
    con.close()


def test_twelve_months_after_the_plan_next_to_comparable_businesses(warehouse):
    twelve, twenty_four = followup(warehouse, _cohort(), min_group=2)
    assert (twelve.months, twelve.status) == (12, "ok")
    r, c = twelve.referred, twelve.comparison
    assert (r.businesses, r.not_yet, r.followed) == (3, 0, 2)  # R3's score at 12 months is stale
    assert (r.probability_before, r.probability_after) == (pytest.approx(0.45), pytest.approx(0.15))
    assert (r.signs_before, r.signs_after, r.share_with_signs) == (pytest.approx(2.5), pytest.approx(0.5),
                                                                   pytest.approx(0.5))
    assert (c.businesses, c.followed) == (2, 2)  # C3's phase has no referred business
    assert (c.probability_after, c.signs_after, c.share_with_signs) == (pytest.approx(0.4), pytest.approx(2.5),
                                                                        pytest.approx(1.0))
    # the warehouse ends on 2026-08-28: 24 months after the plans is not there yet
    assert (twenty_four.status, twenty_four.referred.not_yet, twenty_four.referred.probability_after) == (
        "not_yet", 3, None)


def test_groups_too_small_get_no_figures(warehouse):
    twelve = followup(warehouse, _cohort(), min_group=3)[0]
    assert twelve.status == "too_few"
    assert (twelve.referred.followed, twelve.referred.probability_after, twelve.comparison.signs_after) == (
        2, None, None)


def test_an_empty_cohort_is_too_few(warehouse):
    empty = pl.DataFrame([], schema=COHORT_SCHEMA)
    assert [(h.status, h.referred.businesses) for h in followup(warehouse, empty)] == [("too_few", 0)] * 2
