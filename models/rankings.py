"""The rankings the budgeted watch list (models/watchlist.py) compares, each as
business_key, as_of, score (higher = review first; null or absent = not a candidate):

- **model**: the backtest model's probability on months it never learnt from;
- **true risk**: the generator's latent state at the month (models/generator_truth.py),
  weighed by a logistic regression fitted on the backtest's own training rows: the best
  ranking of what every observable sign is generated from, with no knowledge of the future;
- **perfect foresight**: the businesses whose first event falls in the next 12 months,
  soonest first (an absolute bound: it never spends a review on a business without one);
- **flag policy**: the businesses the flag policy opens a case for (a critical sign fired, or
  a band at or above `signals.flag_band`), ranked as the queue ranks new entries: critical
  sign first, then priority (signals/priority.py).
"""
from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from models.watchlist import LOOKBACK_MONTHS, first_events, month_index
from signals.priority import priority
from signals.routing import route
from yocho.settings import ModelSettings, SignalSettings

# Changes of the latent health over these months: a decline towards an event starts 6 to 18
# months before it from the business's own level, so the change tells a decline from a
# business that has always been weak.
HEALTH_CHANGES = (3, 6, 12)


def latent_features(health: pl.DataFrame) -> pl.DataFrame:
    """business_key, as_of, and the latent state known at the month-end: h, its changes over
    HEALTH_CHANGES months (null before the history allows), log monthly hazard."""
    ordered = health.sort("business_key", "as_of")
    return ordered.with_columns(
        *[(pl.col("h") - pl.col("h").shift(k).over("business_key")).alias(f"h_change_{k}") for k in HEALTH_CHANGES],
        log_hazard=pl.col("monthly_hazard").log(),
    ).select("business_key", "as_of", "h", *[f"h_change_{k}" for k in HEALTH_CHANGES], "log_hazard")


def _latent_matrix(rows: pl.DataFrame) -> np.ndarray:
    columns = ["h", *[f"h_change_{k}" for k in HEALTH_CHANGES], "log_hazard"]
    # a change not yet defined (first months of the history) is no change
    return rows.select(pl.col(columns).fill_null(0.0)).to_numpy()


def true_risk(health: pl.DataFrame, train: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """The true-risk score of `rows` (business_key, as_of): a logistic regression of the
    label on the latent state, fitted on `train` (business_key, as_of, label: the backtest's
    training rows, so it learns from the same months as the model)."""
    features = latent_features(health)
    fitted_on = train.select("business_key", "as_of", "label").join(features, on=["business_key", "as_of"])
    if fitted_on.is_empty() or fitted_on["label"].n_unique() < 2:
        raise ValueError("the generator's truth covers none of the training rows with both outcomes")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(_latent_matrix(fitted_on), fitted_on["label"].to_numpy())
    scored = rows.select("business_key", "as_of").join(features, on=["business_key", "as_of"])
    return scored.select("business_key", "as_of",
                         score=pl.Series(model.predict_proba(_latent_matrix(scored))[:, 1]))


def foresight(rows: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Perfect foresight over `rows` (business_key, as_of): the businesses whose first event
    comes within the next 12 months, soonest first (the earliest deadline first catches the
    most within a budget)."""
    ahead = (rows.select("business_key", "as_of").join(first_events(events), on="business_key")
             .with_columns(months=month_index("event_on") - month_index("as_of"))
             .filter(pl.col("months").is_between(1, LOOKBACK_MONTHS)))
    return ahead.select("business_key", "as_of", score=(-pl.col("months")).cast(pl.Float64))


def flag_policy(rows: pl.DataFrame, models: ModelSettings, signals: SignalSettings) -> pl.DataFrame:
    """The flag policy over `rows`: business_key, as_of, probability (the model's), the
    critical signs' `<id>__fired` flags, and the routing values the panel holds
    (rep_bank_class_watch, the sales-change signs). Businesses meeting the policy score
    1 + priority with a critical sign fired, priority otherwise: the queue's order, critical
    signs first (priority is at most 1). Routing is given the signs fired that month, the bank
    classification and the sales change; the statement's operating cash flow and legal
    filings are not rebuilt for past months (the viability test then gives the benefit of the
    doubt, as routing does when they are unknown)."""
    critical = [f"{s}__fired" for s in signals.critical_signs if f"{s}__fired" in rows.columns]
    fired_columns = [c for c in rows.columns if c.endswith("__fired")]
    any_critical = pl.any_horizontal([pl.col(c).fill_null(0) > 0 for c in critical]) if critical else pl.lit(False)
    meets = rows.with_columns(critical=any_critical).filter(
        pl.col("critical") | (pl.col("probability") >= models.bands[signals.flag_band]))

    def value(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.Float64) if column in rows.columns else pl.lit(None, dtype=pl.Float64)

    facts = meets.with_columns(
        fired=pl.concat_list([pl.when(pl.col(c).fill_null(0) > 0).then(pl.lit(c.removesuffix("__fired")))
                              for c in fired_columns]).list.drop_nulls() if fired_columns else pl.lit([], pl.List(pl.Utf8)),
        in_event=pl.lit(False),
        class_rank=value("rep_bank_class_watch"),
        sales_change_pct=pl.coalesce(value("fin_sales_decline_yoy"), value("fin_quarterly_sales_decline"),
                                     value("acc_inflow_decline_yoy")),
        operating_cf_jpy=pl.lit(None, dtype=pl.Float64),
        legal_proceedings=pl.lit(False),
        event_types=pl.lit([], dtype=pl.List(pl.Utf8)),
    )
    routed = route(facts)
    return routed.select(
        "business_key", "as_of",
        score=pl.col("critical").cast(pl.Float64) + priority(pl.col("probability"), pl.col("phase"), pl.col("in_event")),
    )
