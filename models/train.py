"""Fitting a model on earlier as-of dates and measuring it on later ones (the backtest)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from models.dataset import TimeSplit, time_split
from models.estimators import MODELS, fired_columns, value_columns
from models.metrics import calibration_error, calibration_table, discrimination, median_lead_months, recall_at_budget

BUDGETS = (0.01, 0.03, 0.05)


def feature_columns() -> list[str]:
    return value_columns() + fired_columns()


def fingerprint(frame: pl.DataFrame) -> str:
    """Identifies the training rows (keys, dates, labels) independently of row order."""
    keyed = frame.select("business_key", "as_of", "label").sort("business_key", "as_of")
    return hashlib.sha256(keyed.write_csv().encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Backtest:
    model_name: str
    split: TimeSplit
    pipeline: object
    scored: pl.DataFrame  # test rows: business_key, as_of, label, event_on, probability
    metrics: dict[str, float]
    calibration: pl.DataFrame
    recall: pl.DataFrame


def fit(model_name: str, rows: pl.DataFrame) -> object:
    if rows["label"].n_unique() < 2:
        raise ValueError("the training rows hold only one class: scan a longer history")
    rows = rows.sort("as_of", "business_key")
    X = rows.select(feature_columns()).to_pandas()
    # The earliest calibration fold (TimeSeriesSplit(3): the first quarter of the rows) is
    # the smallest training set; a column must have values there to be usable in every fold.
    earliest = X.iloc[: max(len(X) // 4, 1)]
    present = {c for c in X.columns if earliest[c].notna().any()}
    return MODELS[model_name](present).fit(X, rows["label"].to_numpy())


def predict(pipeline: object, rows: pl.DataFrame) -> np.ndarray:
    return pipeline.predict_proba(rows.select(feature_columns()).to_pandas())[:, 1]


def backtest(model_name: str, frame: pl.DataFrame, test_from: date) -> Backtest:
    split = time_split(frame, test_from)
    pipeline = fit(model_name, split.train)
    scored = split.test.select("business_key", "as_of", "label", "event_on").with_columns(
        probability=pl.Series(predict(pipeline, split.test))
    )
    label, probability = scored["label"].to_numpy(), scored["probability"].to_numpy()
    metrics = discrimination(label, probability)
    recall = recall_at_budget(scored, BUDGETS)
    for row in recall.iter_rows(named=True):
        metrics[f"recall_top_{row['budget']:.0%}"] = row["recall"]
    metrics["median_lead_months_top_3%"] = median_lead_months(scored, 0.03)
    calibration = calibration_table(label, probability)
    metrics["calibration_error"] = calibration_error(calibration)
    metrics["train_rows"], metrics["test_rows"] = split.train.height, split.test.height
    return Backtest(model_name, split, pipeline, scored, metrics, calibration, recall)
