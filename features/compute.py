"""Computing the catalog as of one or many dates, in one pass, inside DuckDB.

Each family's SQL (features/sql/<family>.sql) is one SELECT over the raw tables and the
point-in-time inputs of `features.pit`, returning one row per (business in `universe`,
as-of date, indicator of the family):

    business_key VARCHAR, as_of DATE, indicator_id VARCHAR,
    value DOUBLE,        -- the measured quantity (NULL when unavailable)
    available BOOLEAN,   -- false when the feeds it needs have no data for the business by then
    fired BOOLEAN,       -- NULL when unavailable
    evidence VARCHAR     -- JSON object with the figures behind a fired sign, else NULL

Thresholds reach the SQL as named parameters `$<indicator id>__<threshold name>`, and how
many months back from the as-of date the family reads its history as `$lookback_months`
(`features.catalog.family_lookback_months`, from the declarations).
"""
from __future__ import annotations

import re
from datetime import date
from importlib import resources

import duckdb
import polars as pl

from features import peers, pit
from features.catalog import (
    MEASURE,
    Family,
    by_family,
    family_lookback_months,
    indicators,
    measures,
    measures_of,
    threshold_values,
)
from yocho import progress

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def family_sql(family: Family) -> str:
    return (resources.files("features") / "sql" / f"{family.value}.sql").read_text(encoding="utf-8")


def _bind(sql: str, values: dict[str, float]) -> dict[str, float]:
    """Only the parameters the statement names: DuckDB refuses extra ones."""
    names = set(_PARAM.findall(sql))
    missing = names - values.keys()
    if missing:
        raise KeyError(f"SQL names thresholds the catalog does not declare: {sorted(missing)}")
    return {name: values[name] for name in names}


def _severities() -> pl.DataFrame:
    """family and severity of every id a family's SQL returns: its signs, and its measures
    with severity `measure`."""
    return pl.DataFrame(
        {
            "indicator_id": list(indicators()) + list(measures()),
            "family": [i.family.value for i in indicators().values()] + [m.family.value for m in measures().values()],
            "severity": [i.severity.value for i in indicators().values()] + [MEASURE] * len(measures()),
        }
    )


def compute(
    con: duckdb.DuckDBPyConnection,
    as_of: list[date],
    thresholds: dict[str, float] | None = None,
    families: list[Family] | None = None,
    dates_per_pass: int = 6,
    shard: tuple[int, int] | None = None,
    business_dates_per_pass: int | None = None,
    inactive_after_months: int = pit.INACTIVE_AFTER_MONTHS,
) -> None:
    """Fill temp table `indicator_results` (the columns above plus family and severity)
    for every business in the monitored universe at each date (`features.pit`: known, not
    left, and active within `inactive_after_months`). Nothing is written to the warehouse here.

    Dates are computed `dates_per_pass` at a time: each family joins its feeds to every
    date of a pass, so the pass size bounds memory for a long history.

    `shard=(index, count)` computes only the businesses of that shard (`features.pit`,
    `features.partition`); None computes every business, in as many shards one after
    another as keep a pass within `business_dates_per_pass` (None: no limit). A business is
    whole in one shard, so the results are the same either way. With `shard` given, the
    signs with an industry-relative threshold are left as their flat thresholds decided
    (and keep their evidence on every available row): `features.peers.apply` decides them
    over all shards together (`features.partition.merge_shards`)."""
    values = threshold_values(thresholds)
    con.register("indicator_catalog", _severities().to_arrow())
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE indicator_results (
            business_key VARCHAR, as_of DATE, indicator_id VARCHAR, value DOUBLE,
            available BOOLEAN, fired BOOLEAN, evidence VARCHAR, family VARCHAR, severity VARCHAR)
        """
    )
    dates = sorted(set(as_of))
    chosen = families or list(Family)
    # progress in as-of dates × families computed
    with progress.task("指標を計算 / computing indicators", total=len(dates) * len(chosen)) as reporter:
        for start in range(0, len(dates), dates_per_pass):
            batch = dates[start:start + dates_per_pass]
            pit.prepare(con, batch, shard, inactive_after_months)
            parts = 1
            if shard is None and business_dates_per_pass:
                parts = -(-con.execute("SELECT count(*) FROM universe").fetchone()[0] // business_dates_per_pass) or 1
            for part in range(parts):
                if parts > 1:
                    pit.select_shard(con, (part, parts))  # the whole pass's tables, restricted
                for family in chosen:
                    _compute_family(con, family, values)
                    reporter.advance(len(batch) / parts)
            pit.end_shards(con)
    con.execute("DROP TABLE IF EXISTS family_result")
    con.unregister("indicator_catalog")
    if shard is None:
        # industry-relative thresholds compare a business with every monitored business of its
        # trade, so they are decided once all businesses are in; a shard leaves them to the merge
        peers.apply(con, values)


def _compute_family(con: duckdb.DuckDBPyConnection, family: Family, values: dict[str, float]) -> None:
    declared = {i.id for i in by_family(family)} | {m.id for m in measures_of(family)}
    if not declared:
        return
    universe_rows = con.execute("SELECT count(*) FROM universe").fetchone()[0]
    sql = family_sql(family)
    values = {**values, "lookback_months": family_lookback_months(family, values)}
    con.execute(f"CREATE OR REPLACE TEMP TABLE family_result AS {sql}", _bind(sql, values))
    got = {
        indicator: (rows, distinct)
        for indicator, rows, distinct in con.execute(
            """
            SELECT r.indicator_id, count(*), count(DISTINCT (r.business_key, r.as_of))
            FROM family_result r SEMI JOIN universe u USING (business_key, as_of)
            GROUP BY 1
            """
        ).fetchall()
    }
    # A family that forgets a business or an indicator would make "not fired" and
    # "not computed" look alike; refuse rather than under-report.
    extra = con.execute("SELECT count(*) FROM family_result").fetchone()[0] - sum(r for r, _ in got.values())
    if (set(got) != declared and universe_rows) or extra or any(r != universe_rows or d != universe_rows for r, d in got.values()):
        raise RuntimeError(
            f"{family.value}.sql returned (rows, distinct business-dates) {got} and {extra} rows "
            f"outside the universe; expected each of {sorted(declared)} once per business and date "
            f"({universe_rows} rows)"
        )
    con.execute(
        f"""
        INSERT INTO indicator_results
        SELECT r.business_key, r.as_of, r.indicator_id, r.value, r.available,
               -- a measure is a figure, never a sign: it cannot fire or carry a sign's evidence
               CASE WHEN c.severity <> '{MEASURE}' THEN r.fired END,
               CASE WHEN c.severity <> '{MEASURE}' THEN r.evidence END,
               c.family, c.severity
        FROM family_result r JOIN indicator_catalog c USING (indicator_id)
        """
    )


def results(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.execute("SELECT * FROM indicator_results ORDER BY business_key, as_of, indicator_id").pl()
