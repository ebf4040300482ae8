"""Per-borrower explanations that add up exactly to the model's own score.

`contributions` splits one row's score into a base plus one term per indicator, an
indicator's value column and its fired column counted together. The split is an
identity, not an approximation:
base + sum(contributions) equals the model's log-odds, averaged over the calibration
folds of CalibratedClassifierCV (tests/models/test_explain.py checks it against
scikit-learn's own outputs).

- Scorecard: the logistic's log-odds is a sum of "points", one per indicator state. An
  indicator contributes its state's points minus the points of "not fired", so a clean
  sign contributes exactly 0 and the base is the score of a borrower with every sign
  clean. The fold's sigmoid calibration, p = 1/(1+exp(a*f+b)), is
  linear in the log-odds f, so it is folded in: the units are the CALIBRATED log-odds of
  each fold.
- Boosted: path attribution ("Saabas", tree interpreter). Each tree's node carries the
  training-count-weighted mean of the leaves below it; a row walking from the root to its
  leaf credits each step's change of that mean to the feature split on; the base is the
  trees' mean over the training rows, the same for every row. The units are
  the gradient boosting's RAW log-odds, before the isotonic calibration (monotone, so it
  keeps the ranking but is not additive).

The model's probability is the mean of the folds' calibrated probabilities, which is not
the sigmoid of the mean log-odds: the explanation says which signs move the score and by
how much on the log-odds scale, not a split of the probability itself.
"""
from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.calibration import _SigmoidCalibration
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from features.catalog import indicators
from models.estimators import fired_columns, value_columns

CLEAN = 0  # the "not fired" state: the scorecard's reference, contributing 0 points

METHOD = {
    "scorecard": "Scorecard points: each warning sign adds the points of its state (fired or "
                 "unavailable) relative to not fired, in calibrated log-odds; a clean sign adds 0.",
    "boosted": "Tree path attribution: in every tree, each split moves the expected score, and the "
               "move is credited to the sign split on; in the boosted model's raw log-odds.",
}


def contributions(pipeline: Pipeline, rows: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(n_rows x n_indicators in `indicators()` order, base of n_rows), with
    base + contributions.sum(axis=1) == the folds' mean log-odds (module docstring)."""
    X = rows.select(pl.col(value_columns() + fired_columns()).cast(pl.Float64)).to_pandas()
    for _, step in pipeline.steps[:-1]:
        X = step.transform(X)
    folds = pipeline.steps[-1][1].calibrated_classifiers_
    contrib, base = np.zeros((len(X), len(indicators()))), np.zeros(len(X))
    for fold in folds:
        (_, columns), (_, model) = fold.estimator.steps
        if not isinstance(columns, ColumnTransformer):
            raise TypeError(f"expected a ColumnTransformer before the model, got {type(columns).__name__}")
        Z = columns.transform(X)
        Z = np.asarray(Z.toarray() if hasattr(Z, "toarray") else Z, dtype=np.float64)
        sources = _sources(columns)
        if len(sources) != Z.shape[1]:
            raise ValueError("could not map the model's input columns back to the indicators")
        if isinstance(model, LogisticRegression):
            c, b = _linear(model, Z, sources)
        elif isinstance(model, HistGradientBoostingClassifier):
            c, b = _trees(model, Z, sources)
        else:
            raise TypeError(f"no exact explanation for {type(model).__name__}")
        calibrator = fold.calibrators[0]
        if isinstance(calibrator, _SigmoidCalibration):
            # sklearn: p = expit(-(a*f + b)), so the calibrated log-odds is -a*f - b
            c, b = -calibrator.a_ * c, -calibrator.a_ * b - calibrator.b_
        contrib += c
        base += b
    return contrib / len(folds), base / len(folds)


Sources = list[tuple[str, float | None]]


def _sources(columns: ColumnTransformer) -> Sources:
    """For each column the model sees: the panel column it comes from, and the category if
    it is a one-hot bin."""
    out: Sources = []
    for _, step, cols in columns.transformers_:
        if isinstance(step, str):
            if step == "passthrough":
                out += [(c, None) for c in cols]
            continue
        encoder = step[-1] if isinstance(step, Pipeline) else step
        if isinstance(encoder, OneHotEncoder):
            out += [(c, cat) for c, cats in zip(cols, encoder.categories_) for cat in cats]
        else:
            out += [(c, None) for c in cols]
    return out


def _to_indicators(sources: Sources) -> np.ndarray:
    """0/1 matrix summing the model's columns into indicators (value + fired -> one)."""
    position = {ind: j for j, ind in enumerate(indicators())}
    M = np.zeros((len(sources), len(position)))
    for k, (col, _) in enumerate(sources):
        M[k, position[col.removesuffix("__fired")]] = 1.0
    return M


def _linear(model: LogisticRegression, Z: np.ndarray, sources: Sources) -> tuple[np.ndarray, np.ndarray]:
    coef, M = model.coef_[0], _to_indicators(sources)
    reference = (np.array([cat is not None and cat == CLEAN for _, cat in sources]) * coef) @ M
    contrib = (Z * coef) @ M - reference
    return contrib, np.full(len(Z), model.intercept_[0] + reference.sum())


def _trees(
    model: HistGradientBoostingClassifier, Z: np.ndarray, sources: Sources
) -> tuple[np.ndarray, np.ndarray]:
    if model.n_trees_per_iteration_ != 1:
        raise ValueError("path attribution is implemented for a binary classifier")
    # feature-major: the rows a node sends through one feature read and write neighbouring
    # memory, which is what keeps the walk fast on many rows
    Zt = np.ascontiguousarray(Z.T, dtype=np.float64)
    contrib = np.zeros_like(Zt)
    base = float(model._baseline_prediction.ravel()[0])
    for (predictor,) in model._predictors:
        base += _walk(predictor.nodes, Zt, contrib)
    return contrib.T @ _to_indicators(sources), np.full(len(Z), base)


def _expected(nodes: np.ndarray) -> np.ndarray:
    """Each node's training-count-weighted mean of the leaf values below it."""
    leaf, depth = nodes["is_leaf"].astype(bool), nodes["depth"]
    left, right = nodes["left"].astype(np.intp), nodes["right"].astype(np.intp)
    expected, count = nodes["value"].astype(np.float64), nodes["count"].astype(np.float64)
    # children are one level deeper than their parent: fill the deepest parents first
    for d in range(int(depth.max()) - 1, -1, -1):
        inner = np.flatnonzero(~leaf & (depth == d))
        l, r = left[inner], right[inner]
        count[inner] = count[l] + count[r]
        expected[inner] = (expected[l] * count[l] + expected[r] * count[r]) / count[inner]
    return expected


def _walk(nodes: np.ndarray, Zt: np.ndarray, contrib: np.ndarray) -> float:
    """Adds one tree's path attribution into `contrib` (features x rows, like Zt) and
    returns the root's expected value. Routing as sklearn's _predictor.pyx: NaN goes where
    missing_go_to_left says, otherwise x <= num_threshold goes left."""
    if nodes["is_categorical"].any():
        raise ValueError("categorical splits are not supported")
    leaf, feature, threshold = nodes["is_leaf"].astype(bool), nodes["feature_idx"], nodes["num_threshold"]
    nan_right = ~nodes["missing_go_to_left"].astype(bool)
    expected = _expected(nodes)
    # flat [node * 2 + goes right]: one gather per level picks the child and the step to it
    children = np.stack([nodes["left"], nodes["right"]], axis=1).astype(np.intp)
    step = (expected[children] - expected[:, None]).reshape(-1)
    children = children.reshape(-1)
    n, flat_z, flat_c = Zt.shape[1], Zt.reshape(-1), contrib.reshape(-1)
    rows, here = np.arange(n), np.zeros(n, dtype=np.intp)
    while True:
        going = ~leaf[here]
        rows, here = rows[going], here[going]
        if not rows.size:
            return float(expected[0])
        at = feature[here] * n + rows
        x = flat_z[at]
        goes_right = (x > threshold[here]) | (np.isnan(x) & nan_right[here])
        branch = here * 2 + goes_right
        # each row is at one node, so `at` has no repeats and += cannot drop an update
        flat_c[at] += step[branch]
        here = children[branch]


def top_factors(rows: pl.DataFrame, contrib: np.ndarray, k: int = 5) -> pl.Series:
    """Per row, up to k risk-raising indicators (contribution > 0), largest first, each a
    struct {indicator, name_ja, name_en, contribution, value, fired}."""
    if k < 1:
        raise ValueError("k must be at least 1")
    catalog = indicators()
    names = pl.DataFrame({
        "indicator": list(catalog), "name_ja": [i.ja for i in catalog.values()],
        "name_en": [i.en for i in catalog.values()],
    })
    values = rows.select(pl.col(list(catalog)).cast(pl.Float64)).to_numpy()
    fired = rows.select(pl.col(fired_columns()).cast(pl.Float64)).to_numpy()
    k = min(k, contrib.shape[1])
    top = np.argpartition(-contrib, k - 1, axis=1)[:, :k]
    at = np.arange(len(contrib))[:, None]
    order = top[at, np.argsort(-contrib[at, top], axis=1, kind="stable")]
    ranks = []
    for r in range(k):
        j, row = order[:, r], at[:, 0]
        frame = names[j].with_columns(
            contribution=contrib[row, j],
            value=pl.Series(values[row, j]).fill_nan(None),
            fired=pl.Series(fired[row, j]).fill_nan(None).cast(pl.Boolean),
        )
        ranks.append(frame.select(
            pl.when(pl.col("contribution") > 0).then(pl.struct(pl.all())).alias(f"r{r}")
        ).to_series())
    return pl.DataFrame(ranks).select(pl.concat_list(pl.all()).list.drop_nulls().alias("top_factors")).to_series()
