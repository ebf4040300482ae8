"""Population stability: has the portfolio moved away from what the model was trained on?

PSI = Σ (actual% − expected%) · ln(actual% / expected%) over bins fixed on the training
window. Values get ten equal-count bins of the training distribution; fired flags their
three states. Missing is always a bin of its own, because a feed that stops arriving is
exactly the kind of shift to catch (and so is one that starts: values where the training
window had none fall in one bin of their own). Conventional reading: below 0.1 stable,
0.1–0.25 moderate shift, above 0.25 a shift that calls for retraining or a look at the feeds.

The training side (the reference) is computed once, for every column together, on at most
`REFERENCE_ROWS` training rows drawn with a fixed seed: decile edges and bin shares of 200,000
rows are within sampling error of ~0.001 of the whole window's, far below the 0.1 that
separates the levels (tests/models/test_drift.py compares the two on a shifted frame), while
a training window of millions of rows no longer costs its whole size for every column.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

# Floor for an empty bin's share: keeps the logarithm finite without hiding the bin.
EMPTY_SHARE = 1e-4
LEVELS = ((0.25, "shift"), (0.10, "moderate"), (0.0, "stable"))
# The reference is computed on a fixed-seed sample of at most this many training rows.
REFERENCE_ROWS = 200_000
REFERENCE_SEED = 0


def level(psi: float) -> str:
    return next(name for bound, name in LEVELS if psi >= bound)


def _matrix(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    """The columns as one float matrix, null and NaN alike as NaN (missing)."""
    if not columns:
        return np.empty((frame.height, 0))
    # nulls filled before the conversion: a frame without nulls converts in one fast copy
    return frame.select(pl.col(columns).cast(pl.Float64).fill_null(np.nan)).to_numpy()


@dataclass(frozen=True)
class _Bins:
    """How one column's values fall into bins: the last bin is always `missing`."""
    categorical: bool
    cuts: np.ndarray  # value columns: the inner decile edges (a bin is (edge, next edge]); flags: their states

    def counts(self, values: np.ndarray) -> np.ndarray:
        missing = np.isnan(values)
        present = values[~missing]
        if self.categorical:
            # a state the reference never saw is a bin of its own too (one bin for all of them)
            where = np.searchsorted(self.cuts, present)
            known = (where < len(self.cuts)) & (self.cuts[np.minimum(where, len(self.cuts) - 1)] == present) \
                if len(self.cuts) else np.zeros(len(present), bool)
            index = np.where(known, where, len(self.cuts))
        else:
            # cut's bins are right-closed: a value equal to an edge belongs to the bin below it
            index = np.searchsorted(self.cuts, present, side="left")
        binned = np.bincount(index, minlength=len(self.cuts) + 1)
        return np.append(binned, missing.sum())


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.clip(expected / max(expected.sum(), 1), EMPTY_SHARE, None)
    a = np.clip(actual / max(actual.sum(), 1), EMPTY_SHARE, None)
    return float(((a - e) * np.log(a / e)).sum())


def _bins_of(values: np.ndarray, bins: int, categorical: bool) -> _Bins:
    present = values[~np.isnan(values)]
    if categorical:
        return _Bins(True, np.unique(present))
    if not len(present):
        return _Bins(False, np.empty(0))
    quantiles = np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])
    return _Bins(False, np.unique(quantiles))  # tied deciles are one edge


@dataclass(frozen=True)
class Reference:
    """The training window's bins and counts per column, computed once."""
    columns: list[str]
    kinds: list[str]  # "value" or "fired"
    bins: list[_Bins]
    expected: list[np.ndarray]
    missing: np.ndarray  # share of nulls per column
    rows: int

    def drift(self, latest: pl.DataFrame) -> pl.DataFrame:
        """PSI per column against `latest`, largest first: feature, kind, psi, level, and the
        share missing in each window (the usual cause of a large PSI is a feed that changed)."""
        matrix = _matrix(latest, self.columns)
        values = [_psi(expected, b.counts(matrix[:, j]))
                  for j, (b, expected) in enumerate(zip(self.bins, self.expected, strict=True))]
        nulls = latest.select(self.columns).null_count().row(0) if self.columns else ()
        return pl.DataFrame({
            "feature": self.columns,
            "kind": self.kinds,
            "psi": values,
            "level": [level(v) for v in values],
            "missing_training": self.missing.tolist(),
            "missing_latest": [n / max(latest.height, 1) for n in nulls],
        }, schema={"feature": pl.Utf8, "kind": pl.Utf8, "psi": pl.Float64, "level": pl.Utf8,
                   "missing_training": pl.Float64, "missing_latest": pl.Float64}).sort("psi", descending=True)


def reference(training: pl.DataFrame, value_columns: list[str], fired_columns: list[str], bins: int = 10,
              rows: int | None = REFERENCE_ROWS) -> Reference:
    """Bins and counts of every column on the training window (a fixed sample of `rows` of
    it when larger; None: every row)."""
    if rows is not None and training.height > rows:
        training = training.sample(rows, seed=REFERENCE_SEED)
    columns = value_columns + fired_columns
    matrix = _matrix(training, columns)
    found = [_bins_of(matrix[:, j], bins, j >= len(value_columns)) for j in range(len(columns))]
    nulls = np.array(training.select(columns).null_count().row(0) if columns else (), dtype=float)
    return Reference(columns, ["value"] * len(value_columns) + ["fired"] * len(fired_columns), found,
                     [b.counts(matrix[:, j]) for j, b in enumerate(found)], nulls / max(training.height, 1),
                     training.height)


def psi(training: pl.Series, latest: pl.Series, bins: int = 10, categorical: bool = False) -> float:
    """PSI of `latest` against `training` (every row of it), bins fixed on `training`."""
    reference_values = training.cast(pl.Float64).to_numpy()
    found = _bins_of(reference_values, bins, categorical)
    return _psi(found.counts(reference_values), found.counts(latest.cast(pl.Float64).to_numpy()))


def feature_drift(training: pl.DataFrame, latest: pl.DataFrame, value_columns: list[str],
                  fired_columns: list[str], bins: int = 10) -> pl.DataFrame:
    """PSI per panel column, largest first (`Reference.drift`), the reference computed on a
    fixed sample of at most `REFERENCE_ROWS` training rows."""
    return reference(training, value_columns, fired_columns, bins).drift(latest)


def score_drift(training_scores: np.ndarray, latest_scores: np.ndarray, bins: int = 10) -> dict[str, float | str]:
    value = psi(pl.Series(training_scores), pl.Series(latest_scores), bins)
    return {"feature": "score", "psi": value, "level": level(value)}
