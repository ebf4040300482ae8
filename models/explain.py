"""Per-borrower explanations that add up exactly to the model's own score.

`contributions` splits one row's score into a base plus one term per factor -- each
indicator or measure the model was fitted on (`factor_ids`), an indicator's value column
and its fired column counted together. The factors come from the model's own columns, not
from today's catalog: a sign added to the catalog after training is no factor of the
model, and one removed from it still is. The split is an identity, not an approximation:
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
  trees' mean over the training rows, the same for every row. The sigmoid calibration is
  folded in as for the scorecard, so the units are calibrated log-odds too (with
  `models.boosted_calibration = "isotonic"` they stay the raw log-odds: isotonic is monotone
  but not linear).

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
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

from features.catalog import indicators, measures
from models.train import FIRED, model_columns, model_input

CLEAN = 0  # the "not fired" state: the scorecard's reference, contributing 0 points

METHOD = {
    "scorecard": "Scorecard points: each warning sign adds the points of its state (fired or "
                 "unavailable) relative to not fired, in calibrated log-odds; a clean sign adds 0.",
    "boosted": "Tree path attribution: in every tree, each split moves the expected score, and the "
               "move is credited to the sign or figure split on; in calibrated log-odds.",
}


def factor_ids(columns: list[str]) -> list[str]:
    """What the explanation of a model fitted on `columns` (its panel columns, as stored in
    its card) is split into: every sign the model reads a fired flag of, in that order, its
    value column counted with it; then the model's other value columns (the measures), in
    their order."""
    signs = [c.removesuffix(FIRED) for c in columns if c.endswith(FIRED)]
    counted = set(signs)
    return signs + [c for c in columns if not c.endswith(FIRED) and c not in counted]


def contributions(pipeline: Pipeline, rows: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(n_rows x n_factors in `factor_ids(model_columns(pipeline))` order, base of n_rows),
    with base + contributions.sum(axis=1) == the folds' mean log-odds (module docstring)."""
    factors = factor_ids(model_columns(pipeline))
    X = model_input(pipeline, rows)
    for _, step in pipeline.steps[:-1]:
        X = step.transform(X)
    folds = pipeline.steps[-1][1].calibrated_classifiers_
    contrib, base = np.zeros((len(X), len(factors))), np.zeros(len(X))
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
            c, b = _linear(model, Z, sources, factors)
        elif isinstance(model, HistGradientBoostingClassifier):
            c, b = _trees(model, Z, sources, factors)
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
            out += [(c, cat) for c, cats in zip(cols, encoder.categories_, strict=True) for cat in cats]
        else:
            out += [(c, None) for c in cols]
    return out


def _to_indicators(sources: Sources, factors: list[str]) -> np.ndarray:
    """0/1 matrix summing the model's columns into factors (a sign's value + fired -> one)."""
    position = {factor: j for j, factor in enumerate(factors)}
    M = np.zeros((len(sources), len(position)))
    for k, (col, _) in enumerate(sources):
        M[k, position[col.removesuffix(FIRED)]] = 1.0
    return M


def _linear(model: LogisticRegression, Z: np.ndarray, sources: Sources,
            factors: list[str]) -> tuple[np.ndarray, np.ndarray]:
    coef, M = model.coef_[0], _to_indicators(sources, factors)
    reference = (np.array([cat is not None and cat == CLEAN for _, cat in sources]) * coef) @ M
    contrib = (Z * coef) @ M - reference
    return contrib, np.full(len(Z), model.intercept_[0] + reference.sum())


def _trees(
    model: HistGradientBoostingClassifier, Z: np.ndarray, sources: Sources, factors: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    if model.n_trees_per_iteration_ != 1:
        raise ValueError("path attribution is implemented for a binary classifier")
    known_categories, feature_map = model._bin_mapper.make_known_categories_bitsets()
    n = len(Z)
    # feature-major: one feature's credits over the rows are one contiguous array
    contrib = np.zeros((Z.shape[1], n))
    base = float(model._baseline_prediction.ravel()[0])
    for (predictor,) in model._predictors:
        leaves = _leaves(predictor, Z, known_categories, feature_map)
        features, credit, root = _path_credit(predictor.nodes)
        base += root
        # a row's credit in this tree is its leaf's path credit: one gather per feature split on
        for start in range(0, n, _ROWS_PER_GATHER):
            at = leaves[start:start + _ROWS_PER_GATHER]
            for j, feature in enumerate(features):
                contrib[feature, start:start + _ROWS_PER_GATHER] += credit[j].take(at)
    return contrib.T @ _to_indicators(sources, factors), np.full(n, base)


# rows gathered at a time: the slice of `contrib` being added to stays in the CPU's cache
_ROWS_PER_GATHER = 65536


def _leaves(predictor: TreePredictor, Z: np.ndarray, known_categories: np.ndarray,
            feature_map: np.ndarray) -> np.ndarray:
    """The leaf each row of Z reaches, found by scikit-learn's own compiled routing (the one
    its predictions use, so the leaf is exactly the one the score came from): the same tree
    with each node's value replaced by the node's index."""
    nodes = predictor.nodes
    if nodes["is_categorical"].any():
        raise ValueError("categorical splits are not supported")
    numbered = nodes.copy()
    numbered["value"] = np.arange(len(nodes))
    routed = TreePredictor(numbered, predictor.binned_left_cat_bitsets, predictor.raw_left_cat_bitsets)
    return routed.predict(Z, known_categories, feature_map, _openmp_effective_n_threads()).astype(np.intp)


def _expected(nodes: np.ndarray) -> np.ndarray:
    """Each node's training-count-weighted mean of the leaf values below it."""
    leaf, depth = nodes["is_leaf"].astype(bool), nodes["depth"]
    left, right = nodes["left"].astype(np.intp), nodes["right"].astype(np.intp)
    expected, count = nodes["value"].astype(np.float64), nodes["count"].astype(np.float64)
    # children are one level deeper than their parent: fill the deepest parents first
    for d in range(int(depth.max()) - 1, -1, -1):
        inner = np.flatnonzero(~leaf & (depth == d))
        lo, hi = left[inner], right[inner]
        count[inner] = count[lo] + count[hi]
        expected[inner] = (expected[lo] * count[lo] + expected[hi] * count[hi]) / count[inner]
    return expected


def _path_credit(nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(features the tree splits on, credit[feature j, node] for every leaf node, the root's
    expected value). A leaf's credit to a feature is the sum, over the steps from the root to
    that leaf, of the step's change in expected value where the step's parent splits on the
    feature; a row's path credit in the tree is its leaf's (a tree has at most a few dozen
    leaves, so this loop is small)."""
    expected = _expected(nodes)
    leaf = nodes["is_leaf"].astype(bool)
    left, right = nodes["left"].astype(np.intp), nodes["right"].astype(np.intp)
    inner = np.flatnonzero(~leaf)
    parent = np.full(len(nodes), -1, dtype=np.intp)
    parent[left[inner]] = inner
    parent[right[inner]] = inner
    features = np.unique(nodes["feature_idx"][inner]).astype(np.intp)
    column = {int(f): j for j, f in enumerate(features)}
    credit = np.zeros((len(features), len(nodes)))
    for node in np.flatnonzero(leaf):
        child = node
        while parent[child] >= 0:
            up = parent[child]
            credit[column[int(nodes["feature_idx"][up])], node] += expected[child] - expected[up]
            child = up
    return features, credit, float(expected[0])


# What each kind of factor is, said to the reviewer in both languages: only a fired sign is a
# warning sign; a figure (a measure, or the value of a sign that did not fire) moves the score
# without being one; missing data moves it because the feed did not say.
KINDS = {
    "sign": ("予兆（発火）", "warning sign (fired)"),
    "figure": ("数値（予兆ではない）", "figure (not a warning sign)"),
    "missing": ("データなし（予兆ではない）", "no data (not a warning sign)"),
}


def top_factors(rows: pl.DataFrame, contrib: np.ndarray, factors: list[str], k: int = 5) -> pl.Series:
    """Per row, the factors that raise the score (contribution > 0), up to k of each kind --
    fired signs first, then figures, then missing data -- each largest first: a list of
    structs {kind, kind_ja, kind_en, indicator, name_ja, name_en, value, fired, contribution}.
    `factors`: the columns of `contrib` (`factor_ids` of the model's columns). `fired` is true
    only for a fired sign, false for a sign that did not fire, null for a measure or an
    unavailable sign; `value` is the panel value (null when unavailable). A factor no longer
    in the catalog is named by its id."""
    if k < 1:
        raise ValueError("k must be at least 1")
    ids, named = list(factors), {**indicators(), **measures()}
    if contrib.shape[1] != len(ids):
        raise ValueError(f"{contrib.shape[1]} contribution columns for {len(ids)} factors")
    names = pl.DataFrame({
        "indicator": ids,
        "name_ja": [named[i].ja if i in named else i for i in ids],
        "name_en": [named[i].en if i in named else i for i in ids],
    }, schema={"indicator": pl.Utf8, "name_ja": pl.Utf8, "name_en": pl.Utf8})
    n = len(contrib)
    values = np.column_stack([rows[i].cast(pl.Float64).fill_null(np.nan).to_numpy() if i in rows.columns
                              else np.full(n, np.nan) for i in ids]) if n else np.zeros((0, len(ids)))
    # a measure has no fired column: its `fired` is missing, so it is never a sign
    fired = np.column_stack([rows[f"{i}{FIRED}"].cast(pl.Float64).fill_null(np.nan).to_numpy()
                             if f"{i}{FIRED}" in rows.columns else np.full(n, np.nan) for i in ids]) \
        if n else np.zeros((0, len(ids)))
    kind_of = {
        "sign": fired == 1,
        "figure": ~np.isnan(values) & (fired != 1),
        "missing": np.isnan(values) & (fired != 1),
    }
    k = min(k, len(ids))
    at = np.arange(n)[:, None]
    # Built long (one row per listed factor) and gathered into each row's list once: building
    # a struct column per rank and concatenating them costs far more than the model itself.
    rows_at, seq_at, kind_at, factor_at = [], [], [], []
    for position, kind in enumerate(KINDS):  # kind_pos below: the position in KINDS
        score = np.where(kind_of[kind] & (contrib > 0), contrib, -np.inf)
        top = np.argpartition(-score, k - 1, axis=1)[:, :k]
        order = top[at, np.argsort(-score[at, top], axis=1, kind="stable")]
        listed = np.isfinite(np.take_along_axis(score, order, axis=1))
        row, rank = np.nonzero(listed)
        rows_at.append(row)
        seq_at.append(position * k + rank)
        kind_at.append(np.full(row.size, position, dtype=np.int64))
        factor_at.append(order[row, rank])
    row, seq = np.concatenate(rows_at), np.concatenate(seq_at)
    kind, j = np.concatenate(kind_at), np.concatenate(factor_at)
    kinds = pl.DataFrame({"kind_pos": list(range(len(KINDS))), "kind": list(KINDS),
                          "kind_ja": [ja for ja, _ in KINDS.values()], "kind_en": [en for _, en in KINDS.values()]},
                         schema={"kind_pos": pl.Int64, "kind": pl.Utf8, "kind_ja": pl.Utf8, "kind_en": pl.Utf8})
    listed = pl.DataFrame({
        "row": row.astype(np.int64), "seq": seq.astype(np.int64), "kind_pos": kind, "j": j.astype(np.int64),
        "value": pl.Series(values[row, j], dtype=pl.Float64).fill_nan(None),
        "fired": pl.Series(fired[row, j], dtype=pl.Float64).fill_nan(None).cast(pl.Boolean),
        "contribution": contrib[row, j].astype(np.float64),
    }).join(kinds, on="kind_pos", how="left").join(
        names.with_row_index("j").with_columns(pl.col("j").cast(pl.Int64)), on="j", how="left"
    ).sort("row", "seq").group_by("row", maintain_order=True).agg(
        pl.struct("kind", "kind_ja", "kind_en", "indicator", "name_ja", "name_en", "value", "fired",
                  "contribution").alias("top_factors"))
    every = pl.DataFrame({"row": np.arange(n, dtype=np.int64)})
    return every.join(listed, on="row", how="left").sort("row").select(
        pl.col("top_factors").fill_null(pl.lit([], dtype=listed.schema["top_factors"]))).to_series()
