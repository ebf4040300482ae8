"""Dates as evidence documents carry them, before and after a trip through JSON."""
from datetime import date

from signals.evidence_dates import day_of, month_of


def test_months_and_days_from_dates_and_iso_strings():
    assert month_of(date(2026, 7, 31)) == (2026, 7) == month_of("2026-07-31") == month_of(" 2026-7")
    assert day_of("2026-07-31") == date(2026, 7, 31) == day_of(date(2026, 7, 31))


def test_anything_else_is_none_never_a_guess():
    assert month_of("2026-13") is None and month_of("July 2026") is None and month_of(None) is None
    assert day_of("2026-02-30") is None and day_of("2026-07") is None and day_of(20260731) is None
