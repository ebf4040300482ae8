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

Both are fitted on every training row and calibrated with a sigmoid (Platt) on out-of-fold
predictions: the businesses are cut in two halves (each with its whole history; models.train.fit
orders the rows for it), a model fitted on each half scores the other, and the sigmoid is fitted
on those scores (CalibratedClassifierCV with ensemble=False). A sigmoid that found no
out-of-fold skill is flattened to the base rate rather than allowed to invert the ranking. A review budget and a band are set on probabilities, so they must be
calibrated; yet the model that scores must learn from every row, the latest months included --
holding the latest rows out of the fit to calibrate on them cost 0.06 ROC AUC on real
statements (docs/benchmarks.md). A sigmoid is strictly increasing, so the calibrated score keeps
every distinction of the model's ranking; isotonic calibration maps whole ranges of scores to
one value and leaves the review order within each tie arbitrary.
"""
from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from features.catalog import indicators, measures

SEED = 20250301
UNAVAILABLE = -1


def fired_columns() -> list[str]:
    return [f"{i}__fired" for i in indicators()]


def value_columns() -> list[str]:
    """The signs' values the models may read (not those in yen: see the module docstring),
    then the measures."""
    return [i.id for i in indicators().values() if i.unit != "JPY"] + list(measures())


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


# Halves of the training rows (in as-of order) whose out-of-fold scores calibrate the model.
CALIBRATION_FOLDS = 2


def calibration_folds() -> KFold:
    return KFold(CALIBRATION_FOLDS)


def _calibrated(model: Pipeline, method: str) -> Pipeline:
    return Pipeline([("calibrated", CalibratedClassifierCV(model, method=method, cv=calibration_folds(),
                                                           ensemble=False))])


MODELS = {"scorecard": scorecard, "boosted": boosted}
