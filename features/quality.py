"""Which warning signs separate? One row per sign of the catalog, measured on a warehouse.

Over the monitored business-months (`indicator_values` holds one row per business in the
universe of features/pit.py and as-of date), leaving out the business-months already in a
deterioration event (nothing left to warn about there), and with the deterioration labels
exactly as models/labels.py defines them (an event counts once reported by the last date
any feed was received), so the figures agree with the backtest:

- `rows`: business-months where the sign could be computed (available);
- `before_rate`: the share of them where it fired, among business-months whose first
  deterioration event came 6-12 months later (`before_rows` of them): the lead time in
  which a supporter can still act;
- `healthy_rate`: the same share among "healthy" business-months: no event within the next
  12 months, counting only months whose 12 months have been observed (`healthy_rows`);
- `lift` = before_rate / healthy_rate (infinite when it never fired for a healthy month but
  did before events; NULL when it fired in neither group);
- `precision`: of its firings on months whose 12-month outcome is observed (`fired_rows`),
  the share followed by an event within 12 months; `base_rate`: the same share over every
  such month where the sign was available, so precision / base_rate says how much a firing
  raises the odds;
- `weak`: the sign fires for more than WEAK_HEALTHY_RATE of healthy business-months, or its
  lift is below WEAK_LIFT (NULL when neither can be measured: no firing in either group).

Value-only measures (severity 'measure') are figures for the models, not signs: left out.
"""
from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from features.catalog import MEASURE, indicators
from models.labels import HORIZON_MONTHS, create_labels_table

# A sign that fires for more than a quarter of healthy business-months is background: a
# reviewer shown it for one borrower in four that never gets into trouble learns to skip it.
WEAK_HEALTHY_RATE = 0.25
# A sign must fire at least one and a half times as often 6-12 months before an event as
# for healthy months to tell them apart; below that it mostly describes ordinary businesses
# (the same 1.5x the slow test of sign families asks of the leading families).
WEAK_LIFT = 1.5
# The lead-time window of `before_rate`, in months before the first event: less than 6 months
# ahead is too late for most support; 12 is the horizon the labels and the models use.
LEAD_FROM_MONTHS = 6

LABELS_TABLE = "quality_labels"

QUALITY_SQL = f"""
WITH rows AS (
    SELECT v.indicator_id, v.available, coalesce(v.fired, false) AS fired,
           l.label, l.complete,
           l.event_on IS NOT NULL
               AND l.event_on >= v.as_of + to_months({LEAD_FROM_MONTHS}) AS before_event,
           l.complete AND NOT l.label AS healthy
    FROM indicator_values v
    JOIN {LABELS_TABLE} l USING (business_key, as_of)
    WHERE v.severity <> '{MEASURE}' AND NOT l.already_in_event
),
per_sign AS (
    SELECT indicator_id,
           count(*) FILTER (WHERE available) AS rows,
           count(*) FILTER (WHERE available AND before_event) AS before_rows,
           avg(fired::INTEGER) FILTER (WHERE available AND before_event) AS before_rate,
           count(*) FILTER (WHERE available AND healthy) AS healthy_rows,
           avg(fired::INTEGER) FILTER (WHERE available AND healthy) AS healthy_rate,
           count(*) FILTER (WHERE available AND complete AND fired) AS fired_rows,
           avg(label::INTEGER) FILTER (WHERE available AND complete AND fired) AS precision,
           avg(label::INTEGER) FILTER (WHERE available AND complete) AS base_rate
    FROM rows GROUP BY indicator_id
)
SELECT *,
       CASE WHEN healthy_rate > 0 THEN before_rate / healthy_rate
            WHEN before_rate > 0 THEN 'infinity'::DOUBLE END AS lift
FROM per_sign
"""


def _weak(frame: pl.DataFrame) -> pl.DataFrame:
    noisy = pl.col("healthy_rate") > WEAK_HEALTHY_RATE
    low_lift = pl.col("lift") < WEAK_LIFT
    return frame.with_columns(
        weak=pl.when(noisy.fill_null(False) | low_lift.fill_null(False)).then(True)
        .when(pl.col("lift").is_null()).then(None).otherwise(False),
        weak_reason=pl.concat_str(
            [pl.when(noisy).then(pl.lit(f"fires for more than {WEAK_HEALTHY_RATE:.0%} of healthy months")),
             pl.when(low_lift).then(pl.lit(f"lift below {WEAK_LIFT:g}"))],
            separator="; ", ignore_nulls=True,
        ),
    ).with_columns(weak_reason=pl.when(pl.col("weak_reason") == "").then(None).otherwise(pl.col("weak_reason")))


def sign_quality(con: duckdb.DuckDBPyConnection, horizon_months: int = HORIZON_MONTHS,
                 until: date | None = None) -> pl.DataFrame:
    """One row per warning sign of the catalog (module docstring), sorted by lift, highest
    first. A sign with no row in the warehouse (not scanned) is listed with zero rows.
    `until`: the history known on that date, as `yocho train --until` (models/labels.py)."""
    create_labels_table(con, LABELS_TABLE, horizon_months, until)
    try:
        measured = con.execute(QUALITY_SQL).pl()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {LABELS_TABLE}")
    catalog = pl.DataFrame(
        {
            "indicator_id": list(indicators()),
            "family": [i.family.value for i in indicators().values()],
            "severity": [i.severity.value for i in indicators().values()],
            "ja": [i.ja for i in indicators().values()],
            "en": [i.en for i in indicators().values()],
        }
    )
    frame = catalog.join(measured, on="indicator_id", how="left").with_columns(
        pl.col("rows", "before_rows", "healthy_rows", "fired_rows").fill_null(0)
    )
    return _weak(frame).sort("lift", "indicator_id", descending=[True, False], nulls_last=True)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _lift(value: float | None) -> str:
    return "—" if value is None else ("∞" if value == float("inf") else f"{value:.2f}×")


def quality_markdown(frame: pl.DataFrame) -> list[str]:
    """The table as markdown lines (training reports, benchmarks): the signs with data, by
    lift; the signs the warehouse never had data for are named in one line after it."""
    measured = frame.filter(pl.col("rows") > 0)
    lines = [
        "| sign | 指標 | severity | available | 6–12 months before an event | healthy | lift | "
        "precision, 12 months | firings (outcome observed) | base rate | 判定 |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in measured.iter_rows(named=True):
        verdict = "—" if r["weak"] is None else (f"弱い / weak ({r['weak_reason']})" if r["weak"] else "")
        lines.append(
            f"| `{r['indicator_id']}` | {r['ja']} | {r['severity']} | {r['rows']:,} | {_pct(r['before_rate'])} "
            f"({r['before_rows']:,}) | {_pct(r['healthy_rate'])} ({r['healthy_rows']:,}) | {_lift(r['lift'])} | "
            f"{_pct(r['precision'])} | {r['fired_rows']:,} | {_pct(r['base_rate'])} | {verdict} |")
    weak = int(measured["weak"].fill_null(False).sum())
    lines += [
        "",
        f"{weak} of {measured.height} signs with data are weak: they fire for more than "
        f"{WEAK_HEALTHY_RATE:.0%} of healthy business-months (no deterioration event within the 12 months "
        f"after, all observed) or fire less than {WEAK_LIFT:g} times as often 6–12 months before a first "
        "event. Precision: the share of firings followed by an event within 12 months; business-months "
        "already in an event are left out (features/quality.py, docs/signals.md).",
    ]
    unmeasured = frame.filter(pl.col("rows") == 0)["indicator_id"].to_list()
    if unmeasured:
        lines += ["", f"No data for {len(unmeasured)} signs: " + ", ".join(f"`{i}`" for i in unmeasured) + "."]
    return lines
