"""Population stability: has the portfolio moved away from what the model was trained on?

PSI = Σ (actual% − expected%) · ln(actual% / expected%) over bins fixed on the training
window. Values get ten equal-count bins of the training distribution; fired flags their
three states. Missing is always a bin of its own, because a feed that stops arriving is
exactly the kind of shift to catch. Conventional reading: below 0.1 stable, 0.1–0.25
moderate shift, above 0.25 a shift that calls for retraining or a look at the feeds.
"""
from __future__ import annotations

import numpy as np
import polars as pl

# Floor for an empty bin's share: keeps the logarithm finite without hiding the bin.
EMPTY_SHARE = 1e-4
LEVELS = ((0.25, "shift"), (0.10, "moderate"), (0.0, "stable"))


def level(psi: float) -> str:
    return next(name for bound, name in LEVELS if psi >= bound)


def _bin_edges(training: pl.Series, bins: int) -> list[float]:
    values = training.drop_nulls().drop_nans() if training.dtype.is_float() else training.drop_nulls()
    if values.is_empty():
        return []
    quantiles = np.quantile(values.to_numpy().astype(float), np.linspace(0, 1, bins + 1)[1:-1])
    return sorted(set(float(q) for q in quantiles))


def _shares(series: pl.Series, edges: list[float], categorical: bool) -> pl.DataFrame:
    values = series.cast(pl.Float64)
    if categorical:
        labels = values.cast(pl.Utf8)
    elif edges:
        labels = values.cut(edges).cast(pl.Utf8)
    else:
        labels = pl.Series([None] * len(values), dtype=pl.Utf8)
    labels = labels.fill_null("missing")
    if values.dtype.is_float():
        labels = pl.select(pl.when(values.is_nan()).then(pl.lit("missing")).otherwise(labels)).to_series()
    return labels.rename("bin").value_counts(name="n").with_columns(share=pl.col("n") / len(series))


def psi(training: pl.Series, latest: pl.Series, bins: int = 10, categorical: bool = False) -> float:
    """PSI of `latest` against `training`, bins fixed on `training`."""
    edges = [] if categorical else _bin_edges(training, bins)
    expected = _shares(training.rename("x"), edges, categorical)
    actual = _shares(latest.rename("x"), edges, categorical)
    both = expected.join(actual, on="bin", how="full", coalesce=True, suffix="_latest").with_columns(
        e=pl.col("share").fill_null(0).clip(lower_bound=EMPTY_SHARE),
        a=pl.col("share_latest").fill_null(0).clip(lower_bound=EMPTY_SHARE),
    )
    return float(both.select(((pl.col("a") - pl.col("e")) * (pl.col("a") / pl.col("e")).log()).sum()).item())


def feature_drift(training: pl.DataFrame, latest: pl.DataFrame, value_columns: list[str],
                  fired_columns: list[str], bins: int = 10) -> pl.DataFrame:
    """PSI per panel column, largest first: feature, kind, psi, level, and the share
    missing in each window (the usual cause of a large PSI is a feed that changed)."""
    rows = []
    for column, categorical in [(c, False) for c in value_columns] + [(c, True) for c in fired_columns]:
        value = psi(training[column], latest[column], bins, categorical)
        rows.append({
            "feature": column,
            "kind": "fired" if categorical else "value",
            "psi": value,
            "level": level(value),
            "missing_training": training[column].null_count() / max(training.height, 1),
            "missing_latest": latest[column].null_count() / max(latest.height, 1),
        })
    return pl.DataFrame(rows).sort("psi", descending=True)


def score_drift(training_scores: np.ndarray, latest_scores: np.ndarray, bins: int = 10) -> dict[str, float | str]:
    value = psi(pl.Series(training_scores), pl.Series(latest_scores), bins)
    return {"feature": "score", "psi": value, "level": level(value)}
