"""Scanning the portfolio: indicators as of one or many dates, stored, and counted."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import polars as pl

from features.catalog import indicators
from features.compute import compute
from features.store import store
from yocho.settings import FeatureSettings


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def month_ends(last: date, months: int) -> list[date]:
    """The `months` month-ends up to and including the month of `last`, oldest first."""
    out, year, month = [], last.year, last.month
    for _ in range(months):
        out.append(month_end(date(year, month, 1)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def last_month_end(today: date) -> date:
    """The nightly default as-of date: the last completed month."""
    return today if today == month_end(today) else today.replace(day=1) - timedelta(days=1)


@dataclass(frozen=True)
class ScanResult:
    as_of: list[date]
    rows_written: int
    businesses: int  # in the monitored universe at the last date
    counts: pl.DataFrame  # per indicator, at the last date


def scan(con: duckdb.DuckDBPyConnection, as_of: list[date], settings: FeatureSettings) -> ScanResult:
    compute(con, as_of, settings.thresholds, business_dates_per_pass=settings.business_dates_per_pass,
            inactive_after_months=settings.inactive_after_months)
    written = store(con)
    last = max(as_of)
    businesses = con.execute("SELECT count(*) FROM universe WHERE as_of = ?", [last]).fetchone()[0]
    return ScanResult(sorted(as_of), written, businesses, fired_counts(con, last))


def fired_counts(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """Businesses per indicator that fired, and for how many it could be computed."""
    counts = con.execute(
        """
        SELECT indicator_id, count(*) FILTER (WHERE fired) AS fired, count(*) FILTER (WHERE available) AS available
        FROM indicator_values WHERE as_of = ? GROUP BY indicator_id
        """,
        [as_of],
    ).pl()
    catalog = pl.DataFrame(
        {
            "indicator_id": list(indicators()),
            "family": [i.family.value for i in indicators().values()],
            "ja": [i.ja for i in indicators().values()],
            "en": [i.en for i in indicators().values()],
            "severity": [i.severity.value for i in indicators().values()],
        }
    )
    return catalog.join(counts, on="indicator_id", how="left").with_columns(
        pl.col("fired", "available").fill_null(0)
    )
