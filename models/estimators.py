"""The two model families, each one scikit-learn pipeline from panel columns to a calibrated
probability of a deterioration event within 12 months.

- Scorecard: logistic regression on the indicators' states. Each indicator enters as
  three bins -- fired, not fired, unavailable -- one-hot encoded, so a coefficient reads
  as "points" for that state, as on a credit scorecard, and a missing feed is a state of
  its own rather than an imputed value.
- Boosted: HistGradientBoostingClassifier on the indicators' values and fired flags. It
  takes missing values natively (a missing feed is learnt, not filled with the batch's
  statistics), and a fired sign may only raise the risk (monotonic constraint +1); the
  values' directions differ by indicator and are left free.

Both see the signs' values only where they are ratios, counts or months: a sign measured in
yen (an operating loss, negative net assets) enters by its fired flag alone, or the model would
split on the size of the business. The boosted model also learns from the measures
(features.catalog.Measure: 自己資本比率, ROA, 債務償還年数 ... and their changes on the year).

Both are calibrated with a sigmoid (Platt) on the latest rows by as-of date, the model having
been fitted on the earlier ones (`LatestRows`), since a review budget and a band are set on
probabilities. A sigmoid is strictly increasing, so the calibrated score keeps every
distinction of the model's ranking; isotonic calibration maps whole ranges of scores to one
value and leaves the review order within each tie arbitrary.
"""
from __future__ import annotations

import numpy as np
from features.catalog import indicators, measures
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

SEED = 20250301
UNAVAILABLE = -1


def fired_columns() -> list[str]:
    return [f"{i}__fired" for i in indicators()]


def value_columns() -> list[str]:
    """The signs' values the models may read (not those in yen: see the module docstring),
    then the measures."""
    return [i.id for i in indicators().values() if i.unit != "JPY"] + list(measures())


class LatestRows:
    """One split of time-sorted rows: fit on the first (1 - share), calibrate on the latest
    `share`. A cross-validation splitter for CalibratedClassifierCV."""

    def __init__(self, share: float = 0.2):
        self.share = share

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return 1

    def split(self, X, y=None, groups=None):
        n = len(X)
        cut = n - max(int(round(n * self.share)), 1)
        if cut < 1:
            raise ValueError(f"{n} rows are too few to hold out the latest {self.share:.0%} for calibration")
        yield np.arange(cut), np.arange(cut, n)


def scorecard(present: set[str] | None = None) -> Pipeline:
    # every indicator keeps its three bins: "unavailable" is a state the scorecard scores
    states = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=UNAVAILABLE, keep_empty_features=True),
        OneHotEncoder(categories=[[UNAVAILABLE, 0, 1]] * len(fired_columns()), handle_unknown="ignore"),
    )
    model = Pipeline([
        ("bins", ColumnTransformer([("states", states, fired_columns())])),
        ("logit", LogisticRegression(C=0.5, max_iter=2000)),
    ])
    return _calibrated(model, "sigmoid")


def boosted(present: set[str] | None = None, calibration: str = "sigmoid") -> Pipeline:
    """`present`: the columns with any value in the training rows. A column the training
    period never saw (a year-over-year sign in the first year of history) carries nothing
    to learn from, and the binning of HistGradientBoosting refuses an all-missing column."""
    values = [c for c in value_columns() if present is None or c in present]
    fired = [c for c in fired_columns() if present is None or c in present]
    columns = values + fired
    constraints = [0] * len(values) + [1] * len(fired)
    model = Pipeline([
        ("select", ColumnTransformer([("panel", "passthrough", columns)])),
        ("hgb", HistGradientBoostingClassifier(
            max_iter=300, learning_rate=0.05, max_leaf_nodes=31, min_samples_leaf=100,
            l2_regularization=1.0, monotonic_cst=constraints, random_state=SEED,
        )),
    ])
    return _calibrated(model, calibration)


# The share of the latest training rows that calibrates the model fitted on the rest.
CALIBRATION_SHARE = 0.2


def _calibrated(model: Pipeline, method: str) -> Pipeline:
    # Rows are sorted by as-of date before fitting, so the calibration rows are later than
    # the rows the model was fitted on, as in production.
    return Pipeline([("calibrated", CalibratedClassifierCV(model, method=method, cv=LatestRows(CALIBRATION_SHARE)))])


MODELS = {"scorecard": scorecard, "boosted": boosted}
