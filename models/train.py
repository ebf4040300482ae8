"""Fitting a model on earlier as-of dates and measuring it on later ones (the backtest)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import polars as pl
from sklearn.calibration import _SigmoidCalibration

from models.dataset import TimeSplit, time_split
from models.estimators import MODELS, calibration_folds, fired_columns, value_columns
from models.metrics import calibration_error, calibration_table, discrimination, median_lead_months, recall_at_budget
from models.registry import FeatureListError, fitted_columns

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
    months: pl.DataFrame  # the figures per held-out as-of month (`by_month`)


def fit(model_name: str, rows: pl.DataFrame, calibration: str = "sigmoid") -> object:
    """Fit candidate `model_name` on `rows` (any order); `calibration` is the boosted model's
    (models.estimators)."""
    if rows["label"].n_unique() < 2:
        raise ValueError("the training rows hold only one class: scan a longer history")
    # The calibration folds are halves of the rows in this order: halves of the BUSINESSES
    # (by a fixed hash of the key), each with its whole history. A business's months are
    # near-copies of each other, so a fold must not see the business it scores; and halves
    # by time would score the early months with a model of the late ones (whose feeds and
    # year-over-year signs differ), which on statements alone gave scores that ran against
    # the outcomes and a sigmoid that turned the ranking upside down.
    rows = rows.sort(pl.col("business_key").hash(seed=0), "business_key", "as_of")
    X = rows.select(feature_columns()).to_pandas()
    # Each calibration fold's model learns from half of the rows; a column must have values
    # in each half to be usable.
    present = set(X.columns)
    for fitted, _ in calibration_folds().split(X):
        part = X.iloc[fitted]
        present &= {c for c in X.columns if part[c].notna().any()}
    model = MODELS[model_name](present, calibration) if model_name == "boosted" else MODELS[model_name](present)
    model.fit(X, rows["label"].to_numpy())
    _keep_the_ranking(model, rows["label"].mean())
    return model


# Slope given to a calibration that found no out-of-fold skill (see _keep_the_ranking).
FLAT_SLOPE = -1e-6


def _keep_the_ranking(pipeline: object, base_rate: float) -> None:
    """A calibration must never turn the model's ranking upside down. A sigmoid fitted on
    out-of-fold scores that run against the outcomes has a slope of the wrong sign
    (sklearn: p = expit(-(a*f + b)), increasing only for a < 0); such a model has shown no
    skill out of fold, so its probabilities are set to the base rate, with a vanishing
    slope that keeps the model's own order for ties."""
    for fold in pipeline.steps[-1][1].calibrated_classifiers_:
        for calibrator in fold.calibrators:
            if isinstance(calibrator, _SigmoidCalibration) and calibrator.a_ >= FLAT_SLOPE:
                calibrator.a_ = FLAT_SLOPE
                calibrator.b_ = float(np.log((1 - base_rate) / base_rate))


def model_columns(pipeline: object) -> list[str]:
    """The panel columns the fitted model was given, in order: the model owns its inputs,
    whatever the catalog holds today. The registry stores the same list in the model card
    (ModelCard.features) and checks the two agree when it loads a version."""
    columns = fitted_columns(pipeline)
    if columns is None:
        raise FeatureListError(f"{type(pipeline).__name__} records no feature list: it was not fitted on panel rows")
    return columns


FIRED = "__fired"


class MissingColumns(Exception):
    """The panel lacks columns a model was fitted on."""

    def __init__(self, columns: list[str], version: str | None = None):
        self.columns = list(columns)
        self.indicators = list(dict.fromkeys(c.removesuffix(FIRED) for c in columns))
        super().__init__(
            f"{f'model {version}' if version else 'the model'} was fitted on panel column(s) the feature panel "
            f"does not have: {', '.join(self.columns)} (indicator(s) {', '.join(self.indicators)}). The indicator "
            "catalog changed since the model was trained, or the panel was scanned without them: rescan the history "
            "with `yocho scan` then retrain with `yocho train`, so the champion is fitted on the indicators the "
            "panel holds (docs/models.md, \"Adding an indicator and the champion model\")")


def extra_columns(columns: list[str], available: list[str], version: str | None = None,
                  ignore: tuple[str, ...] = ()) -> list[str]:
    """The `available` columns the model does not read (besides `ignore`), in their order;
    raises MissingColumns naming the model's `columns` that are not available."""
    have = set(available)
    missing = [c for c in columns if c not in have]
    if missing:
        raise MissingColumns(missing, version)
    wanted = set(columns) | set(ignore)
    return [c for c in available if c not in wanted]


def model_input(pipeline: object, rows: pl.DataFrame) -> pd.DataFrame:
    """The model's columns from `rows`, in the order it was fitted on; columns `rows` holds
    in addition are left out."""
    columns = model_columns(pipeline)
    extra_columns(columns, rows.columns)
    return rows.select(pl.col(columns).cast(pl.Float64)).to_pandas()


def predict(pipeline: object, rows: pl.DataFrame) -> np.ndarray:
    return pipeline.predict_proba(model_input(pipeline, rows))[:, 1]


def backtest(model_name: str, frame: pl.DataFrame, test_from: date, calibration: str = "sigmoid") -> Backtest:
    split = time_split(frame, test_from)
    pipeline = fit(model_name, split.train, calibration)
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
    metrics["test_positives"] = int(split.test["label"].sum())
    metrics["test_businesses"] = split.test["business_key"].n_unique()
    metrics["test_months"] = split.test["as_of"].n_unique()
    return Backtest(model_name, split, pipeline, scored, metrics, calibration, recall, by_month(scored))


def by_month(scored: pl.DataFrame, budget: float = 0.03) -> pl.DataFrame:
    """The backtest's figures for each held-out as-of month on its own (the pooled figures mix
    months): as_of, rows, positives, roc_auc, pr_auc, recall and precision in the month's
    top `budget`. Discrimination is null for a month with one outcome only."""
    rows = []
    for (as_of,), month in scored.sort("as_of").group_by(["as_of"], maintain_order=True):
        label, probability = month["label"].to_numpy(), month["probability"].to_numpy()
        both = 0 < label.sum() < len(label)
        top = recall_at_budget(month, (budget,)).row(0, named=True)
        rows.append({
            "as_of": as_of, "rows": month.height, "positives": int(label.sum()),
            "roc_auc": discrimination(label, probability)["roc_auc"] if both else None,
            "pr_auc": discrimination(label, probability)["pr_auc"] if both else None,
            f"recall_top_{budget:.0%}": top["recall"], f"precision_top_{budget:.0%}": top["precision"],
        })
    return pl.DataFrame(rows, schema_overrides={"roc_auc": pl.Float64, "pr_auc": pl.Float64})
