"""The model and the flag policy against the best possible ranking, at the same monthly review
budget (`signals.monthly_budget_share`), the same months, universe and events.

Runs when the data folder holds the synthetic generator's truth (models/generator_truth.py):
the truth is read for this evaluation only, never to train or score. Every ranking
(models/rankings.py) goes through the one watch-list simulation (models/watchlist.py).

The list runs over every panel month-end from the backtest's first held-out month on: the
held-out months and the later ones whose outcomes are not yet complete enough to label, all
scored by the backtest model, which learnt from none of them. The recall window
(models.watchlist.default_window) then holds the event months with twelve list months before
them; with the held-out months alone no event would have had its whole year of chances.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from models.generator_truth import has_truth, latent_health
from models.labels import labels, observed_until
from models.rankings import flag_policy, foresight, true_risk
from models.train import Backtest, model_columns, predict
from models.watchlist import default_window, evaluate, simulate
from yocho.settings import ModelSettings, SignalSettings

# The routing values the flag policy's phase reads from the panel (signals/sql/routing_facts.sql).
ROUTING_VALUES = ("rep_bank_class_watch", "fin_sales_decline_yoy", "fin_quarterly_sales_decline",
                  "acc_inflow_decline_yoy")


@dataclass(frozen=True)
class Evaluation:
    universe: pl.DataFrame  # business_key, as_of: eligible (monitored, not already in an event)
    events: pl.DataFrame    # business_key, event_on
    observed_until: date


def evaluation_frame(con: duckdb.DuckDBPyConnection, start: date, until: date | None = None) -> Evaluation:
    """The eligible universe from `start` (to `until`) and every event reported by the end
    of the observed history (or `until`)."""
    end = until or observed_until(con)
    rows = labels(con, until=end).filter(~pl.col("already_in_event") & (pl.col("as_of") >= start)
                                         & (pl.col("as_of") <= end))
    events = con.execute(
        "SELECT k.business_key, e.occurred_on AS event_on FROM raw_events e "
        "JOIN business_identity k USING (institution_id, local_id) WHERE e.received_on <= ?", [end]).pl()
    return Evaluation(rows.select("business_key", "as_of"), events, end)


def scored_months(con: duckdb.DuckDBPyConnection, backtest: Backtest, universe: pl.DataFrame,
                  models: ModelSettings, signals: SignalSettings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The backtest model's scores and the flag policy's over the universe, a month at a time
    (a month's panel rows are read, scored and dropped: memory stays one month's)."""
    pipeline = backtest.pipeline
    panel_columns = set(con.execute("SELECT * FROM feature_panel LIMIT 0").pl().columns)
    wanted = (set(model_columns(pipeline)) | {c for c in panel_columns if c.endswith("__fired")}
              | set(ROUTING_VALUES)) & panel_columns
    select = ", ".join(f'"{c}"' for c in sorted(wanted))
    model, policy = [], []
    for (as_of,), eligible in universe.partition_by("as_of", as_dict=True).items():
        rows = con.execute(f"SELECT business_key, as_of, {select} FROM feature_panel WHERE as_of = ?",
                           [as_of]).pl().join(eligible, on=["business_key", "as_of"], how="semi")
        if rows.is_empty():
            continue
        rows = rows.with_columns(probability=pl.Series(predict(pipeline, rows)))
        model.append(rows.select("business_key", "as_of", score="probability"))
        policy.append(flag_policy(rows, models, signals))
    return pl.concat(model), pl.concat(policy)


def compare(con: duckdb.DuckDBPyConnection, backtest: Backtest, truth_dir: Path | None, models: ModelSettings,
            signals: SignalSettings, until: date | None = None) -> dict | None:
    """Each ranking's figures at the budget, as a dict for the model card; None without the
    generator's truth, or when the list runs for too few months to evaluate an event."""
    if not has_truth(truth_dir):
        return None
    ev = evaluation_frame(con, backtest.split.test_from, until)
    window = default_window(ev.universe, ev.observed_until)
    if window is None:
        return None
    model, policy = scored_months(con, backtest, ev.universe, models, signals)
    rankings = {
        "model": model,
        "flag_policy": policy,
        "true_risk": true_risk(latent_health(con, truth_dir), backtest.split.train, ev.universe),
        "foresight": foresight(ev.universe, ev.events),
    }
    figures = {name: evaluate(simulate(scores, ev.universe, signals.monthly_budget_share), ev.universe, ev.events,
                              window) for name, scores in rankings.items()}
    truth_recall = figures["true_risk"]["recall"]
    for name in figures:
        figures[name]["recall_share_of_true_risk"] = (
            figures[name]["recall"] / truth_recall if truth_recall and figures[name]["recall"] is not None else None)
    months = ev.universe["as_of"].unique().sort()
    return {
        "budget_share": signals.monthly_budget_share,
        "list_from": months[0].isoformat(), "list_until": months[-1].isoformat(), "list_months": months.len(),
        "events_from": window.first_event_month.strftime("%Y-%m"),
        "events_until": window.last_event_month.strftime("%Y-%m"),
        "mean_monitored": round(ev.universe.height / months.len()),
        "model": backtest.model_name,
        "rankings": figures,
    }
