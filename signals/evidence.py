"""The evidence snapshot kept with every flagged case: what a reviewer needs to see why the
business was flagged, frozen as of the date (docs/signals.md, "Evidence snapshot").

One JSON document per business (UTF-8, Japanese kept as is), built for every flagged
business at once by signals/sql/evidence.sql:

- `business_key`, `as_of`, `model_version`, `probability`, `band`, `portfolio_share`;
- `business_name`: the trade name (商号) of the business master as of the date, through the
  point-in-time layer (the record preferred by `pit_preference`; null when no master names it);
- `prefecture_code`: the business's prefecture (JIS X 0401, 1-47) from the same master
  records as of the date, chosen the same way (null when none gives one): a referral goes to
  that prefecture's council (signals/queue/councils.py);
- `signs`: every warning sign fired as of the date (critical first), each with
  `indicator_id`, `name_ja`, `name_en`, `family`, `severity`, `value` and the indicator's own
  `evidence` (the figures behind it, as stored in indicator_values);
- `top_factors`: the model's risk-raising factors (risk_scores.top_factors);
- `series`: the last SERIES_MONTHS months up to the date, each month as it was known on the
  date (its version in force then: yocho/warehouse/pit.py), as lists of {month, value}: `loan_balance_jpy` (all loans, all banks), `max_days_past_due`,
  `deposit_balance_jpy` (month-end, all accounts), `inflow_jpy`, `failed_debits`, and `score`
  (the probability at each scored month-end);
- `series_by_institution`: the loan, arrears and deposit series again, per reporting
  institution ([{institution_id, loan_balance_jpy, ...}]), so that a reviewer of a shared case
  is shown its own figures and never the totals (signals/sharing.py);
- `sign_history`: per scanned month-end in the same window, {month, signs} with the ids of
  the signs fired then, so a chart can mark when each sign appeared;
- `deterioration`: {first_event_on, first_event_type}, the business's first deterioration event
  (the events feed, as the labels read it) that occurred by the date as reported by then, both
  null when none had; the queue keeps the date on the case to count the cases it opened before
  any event (signals/queue/kpis.py, early share).
"""
from __future__ import annotations

from datetime import date
from importlib import resources

import duckdb
import polars as pl

from features.catalog import indicators

# Months of history in a snapshot's series: two years shows a seasonal business's last
# season against the one before.
SERIES_MONTHS = 24
SNAPSHOT_BATCH = 25_000  # flagged businesses whose evidence documents are built at a time


def catalog_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "indicator_id": list(indicators()),
        "name_ja": [i.ja for i in indicators().values()],
        "name_en": [i.en for i in indicators().values()],
    })


def snapshots(con: duckdb.DuckDBPyConnection, as_of: date, flagged: pl.DataFrame,
              batch: int | None = None) -> pl.DataFrame:
    """business_key, evidence (JSON text) for every business in `flagged` (business_key).
    Reads risk_scores, indicator_values and the feeds through the point-in-time layer
    (`pit_<feed>_at`); the relations evidence.sql names besides those (`sig_flagged`, one batch
    of `flagged`, and `sig_catalog`) are registered here for its queries and removed after.
    Built `batch` businesses at a time: each document holds two years of series, and at
    national scale the documents of every flagged business at once exceed DuckDB's memory
    limit."""
    sql = (resources.files("signals") / "sql" / "evidence.sql").read_text(encoding="utf-8")
    batch = batch or SNAPSHOT_BATCH
    keys = flagged.select("business_key")
    con.register("sig_catalog", catalog_frame().to_arrow())
    parts = []
    try:
        for start in range(0, max(keys.height, 1), batch):
            con.register("sig_flagged", keys.slice(start, batch).to_arrow())
            try:
                parts.append(con.execute(sql, {"as_of": as_of, "series_months": SERIES_MONTHS}).pl())
            finally:
                con.unregister("sig_flagged")
    finally:
        con.unregister("sig_catalog")
    return pl.concat(parts)
