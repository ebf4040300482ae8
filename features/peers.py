"""Industry-relative thresholds: a sign judged against the businesses of the same trade.

A flat line on a ratio such as 借入金月商倍率 or 流動比率 fires for most businesses of some
trades and almost never in others, so it separates trades rather than trouble. A sign that
declares a `PeerThreshold` (features/catalog.py) is, in addition, judged against its JSIC
division: as of T, the values of every monitored business (`universe`) of the same
division, each computed as of T, give the division's percentile; the sign fires when the
business's value is beyond it. A business's division as of T is read from the business
master through the point-in-time layer (yocho/warehouse/pit.py, `pit_business_at`, for every
business whatever the shard): each institution's master record in its latest version received
by T, and among institutions the one `pit_preference` puts first (the latest received, then
the lowest institution_id). With fewer than `min_peers` values in the division (or no
division on file) the flat thresholds the family's SQL applied stand, and the evidence
says why.

This runs after the families, over every business of `indicator_results` at once: the
percentile is of the whole monitored portfolio, so it must not be taken inside one shard
of businesses (a shard holds a sample of each division). `features.compute` applies it
when it computed every business; a sharded scan applies it once, at the merge
(features/partition.py).

The family's SQL gives these signs' evidence on every available row (not only fired
ones), so a sign that fires only relative to its peers still shows its figures; here the
evidence gains what was compared (value, division, its percentile threshold, number of
peers, which threshold decided) and is kept only where the sign fired.
"""
from __future__ import annotations

from importlib import resources

import duckdb
import polars as pl

from features.catalog import Direction, indicators


def peer_signs() -> list[str]:
    """Ids of the signs declaring an industry-relative threshold."""
    return [i.id for i in indicators().values() if i.peers is not None]


def _rules(values: dict[str, float]) -> tuple[pl.DataFrame, list[float]]:
    """One row per relative sign with its settings (`values`: catalog.threshold_values),
    and the distinct quantiles they need (a sign reads its own at cut_index, 1-based)."""
    rows, cuts = [], []
    for ind in indicators().values():
        if ind.peers is None:
            continue
        percentile = values[ind.param("percentile")]
        if not 50 <= percentile < 100:
            raise ValueError(f"{ind.id}.percentile must be in [50, 100), got {percentile}")
        # "beyond the 90th percentile" at the bad end: the 10th percentile for a sign on low values
        quantile = percentile / 100 if ind.peers.direction is Direction.ABOVE else 1 - percentile / 100
        if quantile not in cuts:
            cuts.append(quantile)
        rows.append({
            "indicator_id": ind.id, "direction": ind.peers.direction.value,
            "relative": int(values[ind.param("relative")] != 0), "percentile": percentile,
            "min_peers": int(values[ind.param("min_peers")]), "cut_index": cuts.index(quantile) + 1,
        })
    schema = {"indicator_id": pl.Utf8, "direction": pl.Utf8, "relative": pl.Int32, "percentile": pl.Float64,
              "min_peers": pl.Int64, "cut_index": pl.Int64}
    return pl.DataFrame(rows, schema=schema), cuts


def apply(con: duckdb.DuckDBPyConnection, values: dict[str, float]) -> None:
    """Decide the relative signs of `indicator_results` (all of its businesses and dates)
    against their division's distribution, in place. `values`: catalog.threshold_values."""
    rules, cuts = _rules(values)
    computed = con.execute(
        "SELECT count(*) FROM indicator_results WHERE available AND indicator_id IN (SELECT unnest($ids::VARCHAR[]))",
        {"ids": rules["indicator_id"].to_list()},
    ).fetchone()[0]
    if not computed:  # the financial family was not computed, or no business has statements
        return
    con.register("peer_rules", rules.to_arrow())
    try:
        sql = (resources.files("features") / "sql" / "peers.sql").read_text(encoding="utf-8")
        con.execute(f"CREATE OR REPLACE TEMP TABLE peer_cuts AS {sql}", {"cuts": cuts})
    finally:
        con.unregister("peer_rules")
    con.execute(
        """
        UPDATE indicator_results t
        SET fired = x.fired,
            evidence = CASE WHEN x.fired THEN json_merge_patch(t.evidence::JSON, x.said)::VARCHAR END
        FROM (
            SELECT p.business_key, p.as_of, p.indicator_id,
                   CASE WHEN NOT p.by_peers THEN r.fired
                        WHEN p.direction = 'above' THEN coalesce(r.value > p.cut, false)
                        ELSE coalesce(r.value < p.cut, false) END AS fired,
                   -- a sign whose relative threshold is off keeps the flat evidence unchanged
                   CASE WHEN p.relative = 0 THEN '{}'::JSON ELSE json_object(
                       'threshold', CASE WHEN p.by_peers THEN 'division' ELSE 'flat' END,
                       'value', round(r.value, 2),
                       'jsic_division', p.division,
                       'division_percentile', p.percentile,
                       'division_threshold', round(p.cut, 2),
                       'peers', p.peers,
                       'flat_because', CASE
                           WHEN p.by_peers THEN NULL
                           WHEN p.division IS NULL THEN 'no industry (jsic_division) on file'
                           WHEN p.peers < p.min_peers THEN
                               'businesses of the division with a value: ' || p.peers || ', fewer than '
                               || p.min_peers
                       END
                   ) END AS said
            FROM peer_cuts p JOIN indicator_results r USING (business_key, as_of, indicator_id)
        ) x
        WHERE t.business_key = x.business_key AND t.as_of = x.as_of AND t.indicator_id = x.indicator_id
        """
    )
    con.execute("DROP TABLE IF EXISTS peer_cuts")
