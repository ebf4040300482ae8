"""Deterioration labels for training and backtests, one per business and as-of date."""
from __future__ import annotations

from datetime import date
from importlib import resources

import duckdb
import polars as pl

from yocho.contract import FEEDS

HORIZON_MONTHS = 12


def observed_until(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last date any feed was received: events after it cannot be known yet."""
    union = " UNION ALL ".join(f"SELECT max(received_on) AS d FROM {f.table}" for f in FEEDS.values())
    return con.execute(f"SELECT max(d) FROM ({union})").fetchone()[0]


def labels(
    con: duckdb.DuckDBPyConnection,
    horizon_months: int = HORIZON_MONTHS,
    until: date | None = None,
) -> pl.DataFrame:
    """business_key, as_of, label, event_on, event_type, already_in_event, complete.

    Train only on rows with `complete` and not `already_in_event`."""
    sql, params = _labels_sql(con, horizon_months, until)
    return con.execute(sql, params).pl().sort("business_key", "as_of")


def create_labels_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    horizon_months: int = HORIZON_MONTHS,
    until: date | None = None,
) -> None:
    """The same labels as `labels`, as a temp table inside DuckDB (for analyses that join
    them to indicator_values without bringing every row into Python)."""
    sql, params = _labels_sql(con, horizon_months, until)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}", params)




def _labels_sql(con: duckdb.DuckDBPyConnection, horizon_months: int, until: date | None) -> tuple[str, dict]:
    sql = (resources.files("models") / "sql" / "labels.sql").read_text(encoding="utf-8")
    end = until or observed_until(con) or date.min
    return sql, {"horizon_months": horizon_months, "observed_until": end}
