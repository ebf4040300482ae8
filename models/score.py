"""Scoring the portfolio with the champion model: risk_scores as of each date, with the
band, the business's place in the portfolio and the factors behind its score."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from models.explain import contributions, factor_ids, top_factors
from models.registry import Registry
from models.train import FIRED, extra_columns, model_columns, predict
from yocho import progress
from yocho.settings import ModelSettings
from yocho.warehouse.pit import ALL_HISTORY_MONTHS

SCORE_BATCH_ROWS = 250_000  # panel rows scored at a time: about 1 GB of Python memory
# Decimals of the probability the portfolio rank is taken on (see the ranking query).
RANK_DECIMALS = 12
# The one temp table score() writes: the night's scores, filled a batch at a time and read
# into risk_scores in the same call, then dropped. Nothing outside score() reads or provides it.
SCORED_TABLE = "score_batches"

log = logging.getLogger(__name__)

# The panel's key columns, read besides the model's own.
KEYS = ("business_key", "as_of", "signs_fired")

BAND_NAMES = {"low": "低", "watch": "要注意", "high": "高", "very_high": "極めて高い"}


class NoChampion(Exception):
    pass


class MissingIndicators(Exception):
    def __init__(self, dates: list[date]):
        self.dates = dates
        super().__init__(f"no indicators computed as of {', '.join(map(str, dates))}: scan those dates first")


def band(probability: pl.Expr, bands: dict[str, float]) -> pl.Expr:
    """The band whose lower bound is the highest one at or below the probability."""
    expr = pl.lit(next(iter(bands)))
    for name, lower in list(bands.items())[1:]:
        expr = pl.when(probability >= lower).then(pl.lit(name)).otherwise(expr)
    return expr


def missing_dates(con: duckdb.DuckDBPyConnection, as_of: list[date]) -> list[date]:
    present = {d for (d,) in con.execute("SELECT DISTINCT as_of FROM feature_panel WHERE as_of IN ?",
                                         [list(as_of)]).fetchall()} if _has_panel(con) else set()
    return sorted(set(as_of) - present)


def _has_panel(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'feature_panel' "
                            "AND table_schema = 'main'").fetchone()[0])


@dataclass(frozen=True)
class ScoreResult:
    model_version: str
    as_of: list[date]
    rows_written: int
    bands: pl.DataFrame  # as of the last date: band, businesses, in_event, share, mean probability
    ignored_columns: tuple[str, ...] = ()  # panel columns the model was not fitted on (a newer indicator)


def panel_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'feature_panel' "
        "AND table_schema = 'main' ORDER BY ordinal_position").fetchall()]


def columns_to_read(con: duckdb.DuckDBPyConnection, columns: list[str],
                    version: str | None = None) -> tuple[list[str], list[str]]:
    """For a model fitted on `columns` (its card's feature list): the panel columns to read
    -- the keys, the model's columns in the order it was fitted on, then the values and fired
    flags shown next to its factors -- and the panel columns left unread. Raises
    MissingColumns, naming the indicators, when the panel lacks one of the model's columns."""
    panel = panel_columns(con)
    extra_columns(columns, panel, version)
    present = set(panel)
    shown = [c for f in factor_ids(columns) for c in (f, f"{f}{FIRED}") if c in present]
    read = list(dict.fromkeys([*KEYS, *columns, *shown]))
    unread = set(panel) - set(read)
    return read, [c for c in panel if c in unread]


def score_frame(pipeline: object, rows: pl.DataFrame, version: str, settings: ModelSettings) -> pl.DataFrame:
    """business_key, as_of, probability, band, signs_fired, model_version, top_factors
    (list of structs) for panel rows."""
    contrib, _ = contributions(pipeline, rows)
    return rows.select("business_key", "as_of", pl.col("signs_fired").cast(pl.Int32)).with_columns(
        probability=pl.Series(predict(pipeline, rows)),
        model_version=pl.lit(version),
        top_factors=top_factors(rows, contrib, factor_ids(model_columns(pipeline)), settings.top_factors),
    ).with_columns(band=band(pl.col("probability"), settings.bands))


def score(con: duckdb.DuckDBPyConnection, registry: Registry, as_of: list[date], settings: ModelSettings,
          version: str | None = None) -> ScoreResult:
    """Score every business in the panel as of each date with `version` (default: the
    champion) and replace those dates in risk_scores in one transaction. The model reads
    exactly the panel columns it was fitted on (its card's feature list), in that order: a
    column the panel lacks raises MissingColumns before anything is written; columns the
    panel has in addition (an indicator added since training) are left unread and logged."""
    version = version or registry.champion()
    if version is None:
        raise NoChampion(f"no champion model in {registry.root}: train one first (yocho train)")
    missing = missing_dates(con, as_of)
    if missing:
        raise MissingIndicators(missing)
    pipeline, card = registry.load(version)
    read, ignored = columns_to_read(con, card.features, version)
    if ignored:
        log.info("model %s reads the %d panel columns it was fitted on; ignoring %d it was not: %s (retrain to use "
                 "them)", version, len(card.features), len(ignored), ", ".join(ignored))
    select = ", ".join(f'"{c}"' for c in read)
    # The panel is read and scored a batch at a time into a temp table, so the Python side
    # (panel, model matrices, explanations) stays the size of one batch at any portfolio size.
    reader = con.cursor()
    try:
        batches = reader.execute(f"SELECT {select} FROM feature_panel WHERE as_of IN ? ORDER BY as_of, business_key",
                                 [list(as_of)]).fetch_record_batch(SCORE_BATCH_ROWS)
        con.execute(f"DROP TABLE IF EXISTS {SCORED_TABLE}")
        scored_rows = 0
        rows = con.execute("SELECT count(*) FROM feature_panel WHERE as_of IN ?", [list(as_of)]).fetchone()[0]
        with progress.task("スコアを計算 / scoring business-dates", total=rows) as reporter:
            for batch in batches:
                chunk = score_frame(pipeline, pl.from_arrow(batch), version, settings)
                con.register("scored_chunk", chunk.to_arrow())
                try:
                    verb = f"INSERT INTO {SCORED_TABLE}" if scored_rows else f"CREATE TEMP TABLE {SCORED_TABLE} AS"
                    con.execute(f"{verb} SELECT * FROM scored_chunk")
                finally:
                    con.unregister("scored_chunk")
                scored_rows += chunk.height
                reporter.advance(chunk.height)
    finally:
        reader.close()
    if not scored_rows:  # the dates were scanned but nobody was known by then
        return ScoreResult(version, sorted(as_of), 0, band_counts(con, max(as_of), settings), tuple(ignored))
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM risk_scores WHERE as_of IN (SELECT DISTINCT as_of FROM {SCORED_TABLE})")
        con.execute(
            f"""
            INSERT INTO risk_scores
            WITH reported AS (
                -- events known by each date: in force then (received on or before it, as the
                -- point-in-time layer reads them, keyed by its business_identity) and occurred by it
                SELECT DISTINCT e.business_key, e.as_of
                FROM (SELECT DISTINCT as_of FROM {SCORED_TABLE}) d, pit_events_at(d.as_of, {ALL_HISTORY_MONTHS}) e
                WHERE e.occurred_on <= e.as_of
            )
            SELECT s.business_key, s.as_of, probability, band,
                   row_number() OVER w AS portfolio_rank,
                   row_number() OVER w / count(*) OVER (PARTITION BY s.as_of) AS portfolio_share,
                   signs_fired, r.business_key IS NOT NULL AS in_event,
                   model_version, to_json(top_factors)::VARCHAR, current_timestamp::TIMESTAMP
            FROM {SCORED_TABLE} s LEFT JOIN reported r USING (business_key, as_of)
            -- ranked on the probability to 12 decimals: the model's matrix products (BLAS) may
            -- differ in the last bit (~1e-17) with the batch a row was scored in, and that noise
            -- must not reorder businesses whose scores are equal (the same inputs)
            WINDOW w AS (PARTITION BY s.as_of ORDER BY round(probability, {RANK_DECIMALS}) DESC, s.business_key)
            """
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute(f"DROP TABLE IF EXISTS {SCORED_TABLE}")
    return ScoreResult(version, sorted(as_of), scored_rows, band_counts(con, max(as_of), settings), tuple(ignored))


def band_counts(con: duckdb.DuckDBPyConnection, as_of: date, settings: ModelSettings) -> pl.DataFrame:
    counts = con.execute(
        "SELECT band, count(*) AS businesses, count(*) FILTER (WHERE in_event) AS in_event, "
        "avg(probability) AS mean_probability FROM risk_scores WHERE as_of = ? GROUP BY band", [as_of]).pl()
    order = pl.DataFrame({"band": list(settings.bands), "lower_bound": list(settings.bands.values()),
                          "ja": [BAND_NAMES.get(b, b) for b in settings.bands]})
    return order.join(counts, on="band", how="left").with_columns(
        pl.col("businesses", "in_event").fill_null(0)
    ).with_columns(share=pl.col("businesses") / pl.col("businesses").sum())
