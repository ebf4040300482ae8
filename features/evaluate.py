"""Do the warning signs come before the trouble? Sign rates before deterioration events.

Uses the outcome events (labels) only to split businesses, never inside an indicator:
for each business with a deterioration event, the as-of dates 6 to 12 months before its
first event; for businesses with no event at all, every scanned date. A family "shows"
for a business and date when any of its indicators fired there; rates are over the rows
where the family was available. Overall, a business-month "shows serious signs" when a
high or critical indicator fired; low and medium ones are context that healthy
businesses show too (a successor question, one staff departure).
"""
from __future__ import annotations

import duckdb
import polars as pl

from features.catalog import FAMILY_NAMES, Family
from features.pit import build_business_keys

FIRST_EVENT = """
WITH first_event AS (
    SELECT k.business_key, min(e.occurred_on) AS event_on
    FROM raw_events e JOIN business_keys k USING (institution_id, local_id)
    GROUP BY k.business_key
)"""

EVENT_WINDOW_SQL = FIRST_EVENT + """,
rows AS (
    SELECT v.business_key, v.as_of, v.family,
           bool_or(v.fired) AS shows, bool_or(v.available) AS available,
           CASE
               WHEN f.event_on IS NULL THEN 'no_event'
               WHEN v.as_of BETWEEN f.event_on - INTERVAL 12 MONTH AND f.event_on - INTERVAL 6 MONTH THEN 'before_event'
           END AS grp
    FROM indicator_values v LEFT JOIN first_event f USING (business_key)
    WHERE v.severity <> 'measure'  -- figures for the models, not signs
    GROUP BY v.business_key, v.as_of, v.family, f.event_on
)
SELECT family, grp, count(*) FILTER (WHERE available) AS rows,
       avg(shows::INTEGER) FILTER (WHERE available) AS rate
FROM rows WHERE grp IS NOT NULL
GROUP BY family, grp
"""

ANY_SIGN_SQL = FIRST_EVENT + """,
per_row AS (
    SELECT v.business_key, v.as_of,
           count(*) FILTER (WHERE v.fired) AS signs,
           count(*) FILTER (WHERE v.fired AND v.severity IN ('critical', 'high')) AS serious
    FROM indicator_values v GROUP BY ALL
)
SELECT CASE WHEN f.event_on IS NULL THEN 'no_event' ELSE 'before_event' END AS grp,
       count(*) AS rows,
       avg((p.serious > 0)::INTEGER) AS serious_rate,
       avg((p.signs > 0)::INTEGER) AS any_rate,
       avg(p.signs) AS mean_signs
FROM per_row p LEFT JOIN first_event f USING (business_key)
WHERE f.event_on IS NULL
   OR p.as_of BETWEEN f.event_on - INTERVAL 12 MONTH AND f.event_on - INTERVAL 6 MONTH
GROUP BY 1
"""


def sign_rates_before_events(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per family: the share of (business, date) rows showing the family's signs 6-12
    months before an event, against businesses without one, and the ratio."""
    build_business_keys(con)
    long = con.execute(EVENT_WINDOW_SQL).pl()
    wide = long.pivot(on="grp", index="family", values=["rate", "rows"])
    for column in ("rate_before_event", "rate_no_event", "rows_before_event", "rows_no_event"):
        if column not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(column))
    order = {f.value: i for i, f in enumerate(Family)}
    return (
        wide.with_columns(
            ratio=pl.col("rate_before_event") / pl.col("rate_no_event"),
            ja=pl.col("family").replace_strict({f.value: FAMILY_NAMES[f][0] for f in Family}, default=None),
            order=pl.col("family").replace_strict(order, default=99),
        )
        .sort("order")
        .select("family", "ja", "rows_before_event", "rate_before_event", "rows_no_event", "rate_no_event", "ratio")
    )


def any_sign_rates(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    build_business_keys(con)
    return con.execute(ANY_SIGN_SQL).pl().sort("grp")
