"""Training rows: the feature panel joined to forward labels, split by time only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from models.labels import HORIZON_MONTHS, labels


def training_frame(con: duckdb.DuckDBPyConnection, until: date | None = None, share: float = 1.0) -> pl.DataFrame:
    """Every panel row whose label is fully observed and whose business is not already in
    a deterioration event at that date (nothing left to predict there). With `share` < 1,
    that share of businesses, chosen by a hash of the key (whole histories, stable)."""
    sample = "" if share >= 1 else f"WHERE hash(business_key) % 10000 < {int(share * 10000)}"
    panel = con.execute(f"SELECT * FROM feature_panel {sample}").pl()
    labelled = labels(con, until=until).filter(pl.col("complete") & ~pl.col("already_in_event"))
    return panel.join(labelled.select("business_key", "as_of", "label", "event_on", "event_type"),
                      on=["business_key", "as_of"], how="inner").sort("as_of", "business_key")


@dataclass(frozen=True)
class TimeSplit:
    train: pl.DataFrame
    test: pl.DataFrame
    test_from: date
    train_until: date


def time_split(frame: pl.DataFrame, test_from: date, horizon_months: int = HORIZON_MONTHS) -> TimeSplit:
    """Train on as-of dates whose whole label horizon ends before `test_from`; test on
    as-of dates from `test_from` on. A training row dated within the horizon before the
    boundary would carry a label made of events in the test period -- the same
    businesses' futures the test scores -- and flatter the backtest."""
    year, month = divmod(test_from.year * 12 + test_from.month - 1 - horizon_months, 12)
    train_until = date(year, month + 1, 1)
    train = frame.filter(pl.col("as_of") < train_until)
    test = frame.filter(pl.col("as_of") >= test_from)
    return TimeSplit(train, test, test_from, train_until)
