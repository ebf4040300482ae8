"""Population stability index: bins fixed on the training window, missing as its own bin."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.drift import REFERENCE_ROWS, feature_drift, level, psi, reference, score_drift


def _normal(mean: float, n: int = 20_000, seed: int = 0) -> pl.Series:
    return pl.Series(np.random.default_rng(seed).normal(mean, 1.0, n))


def test_same_distribution_is_stable_and_a_shift_is_caught():
    assert psi(_normal(0, seed=1), _normal(0, seed=2)) < 0.01
    shifted = psi(_normal(0, seed=1), _normal(0.5, seed=2))
    # for a half-sigma shift of a normal the PSI is about 0.25 (ten equal-count bins)
    assert 0.18 < shifted < 0.32
    assert psi(_normal(0, seed=1), _normal(1.0, seed=2)) > shifted


def test_a_feed_that_stops_arriving_is_a_shift():
    training = pl.Series([1.0, 2.0, 3.0, None] * 500)
    latest = pl.Series([1.0, None, None, None] * 500)
    assert psi(training, latest) > 0.25
    # NaN counts as missing too
    assert psi(training, pl.Series([1.0, float("nan"), None, None] * 500)) > 0.25


def test_fired_flags_are_compared_as_three_states():
    training = pl.Series([0] * 900 + [1] * 80 + [None] * 20)
    same = pl.Series([0] * 450 + [1] * 40 + [None] * 10)
    more_fired = pl.Series([0] * 700 + [1] * 280 + [None] * 20)
    assert psi(training, same, categorical=True) == pytest.approx(0.0, abs=1e-12)
    # (0.28-0.08)·ln(0.28/0.08) + (0.70-0.90)·ln(0.70/0.90) = 0.2506 + 0.0503
    assert psi(training, more_fired, categorical=True) == pytest.approx(0.3008, abs=1e-3)


def test_levels_follow_the_conventional_reading():
    assert [level(x) for x in (0.0, 0.099, 0.1, 0.249, 0.25, 3.0)] == [
        "stable", "stable", "moderate", "moderate", "shift", "shift"]


def test_feature_drift_covers_every_column_largest_first():
    rng = np.random.default_rng(4)
    training = pl.DataFrame({"a": rng.normal(0, 1, 5000), "b": rng.normal(0, 1, 5000),
                             "a__fired": rng.integers(0, 2, 5000)})
    latest = pl.DataFrame({"a": rng.normal(0, 1, 3000), "b": rng.normal(2, 1, 3000),
                           "a__fired": rng.integers(0, 2, 3000)})
    drift = feature_drift(training, latest, ["a", "b"], ["a__fired"])
    assert drift["feature"].to_list()[0] == "b" and drift["level"][0] == "shift"
    assert set(drift["feature"]) == {"a", "b", "a__fired"}
    assert drift.filter(pl.col("feature") == "a__fired")["kind"].item() == "fired"
    assert score_drift(rng.random(4000), rng.random(4000))["level"] == "stable"


def _psi_by_definition(training: pl.Series, latest: pl.Series, bins: int = 10, categorical: bool = False) -> float:
    """PSI written out the slow, obvious way over every row (the implementation before the
    reference was vectorised): labels per row, shares per label, joined."""
    def labels(series: pl.Series, edges: list[float]) -> pl.Series:
        values = series.rename("x").cast(pl.Float64).fill_nan(None)
        named = values.cast(pl.Utf8) if categorical else values.cut(edges).cast(pl.Utf8)
        return named.fill_null("missing").value_counts(name="n").with_columns(share=pl.col("n") / len(series))

    present = training.cast(pl.Float64).fill_nan(None).drop_nulls().to_numpy()
    edges = sorted(set(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]).tolist()))
    both = labels(training, edges).join(labels(latest, edges), on="x", how="full", coalesce=True, suffix="_l")
    e = both["share"].fill_null(0).clip(lower_bound=1e-4).to_numpy()
    a = both["share_l"].fill_null(0).clip(lower_bound=1e-4).to_numpy()
    return float(((a - e) * np.log(a / e)).sum())


def _window(rows: int, shift: float, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    data = {f"mean_{s}": rng.normal(s * shift, 1, rows) for s in (0.0, 0.1, 0.3, 0.6, 1.0)}
    data["counts"] = rng.poisson(1 + shift, rows).astype(float)  # few distinct values: tied deciles
    patchy = rng.normal(0, 1, rows)
    patchy[rng.random(rows) < 0.1 + 0.4 * shift] = np.nan  # a feed that partly stops arriving
    data["patchy"] = patchy
    data["steady__fired"] = (rng.random(rows) < 0.1).astype(float)
    data["rising__fired"] = (rng.random(rows) < 0.1 + 0.15 * shift).astype(float)
    return pl.DataFrame(data).with_columns(pl.col("patchy").fill_nan(None),
                                           pl.col("^.*__fired$").cast(pl.Int32))


def test_the_sampled_reference_finds_the_same_drift_as_every_row():
    # more training rows than the reference keeps, so it works on its fixed sample
    training, latest = _window(3 * REFERENCE_ROWS // 2, 0, seed=1), _window(25_000, 1, seed=2)
    values = [c for c in training.columns if not c.endswith("__fired")]
    fired = [c for c in training.columns if c.endswith("__fired")]
    fast = feature_drift(training, latest, values, fired)
    full = {c: _psi_by_definition(training[c], latest[c], categorical=c in fired) for c in values + fired}
    # every row, one column at a time, is the definition exactly
    for c in values + fired:
        assert psi(training[c], latest[c], categorical=c in fired) == pytest.approx(full[c], abs=1e-12)
    # the sample: the same verdict per column, PSI within 0.005 + 2% (sampling error of 200,000 rows)
    got = dict(zip(fast["feature"], fast["psi"], strict=True))
    assert {c: level(got[c]) for c in full} == {c: level(v) for c, v in full.items()}
    assert all(abs(got[c] - full[c]) <= 0.005 + 0.02 * full[c] for c in full), (got, full)
    drifting = set(fast.filter(pl.col("level") == "shift")["feature"])
    assert drifting == {"mean_0.6", "mean_1.0", "counts", "patchy"}
    assert fast.filter(pl.col("feature") == "rising__fired")["level"].item() == "moderate"
    assert fast.filter(pl.col("feature") == "mean_0.0")["level"].item() == "stable"


def test_the_reference_is_computed_once_and_reused():
    training, latest = _window(5_000, 0, seed=3), _window(2_000, 1, seed=4)
    ref = reference(training, ["mean_1.0", "patchy"], ["rising__fired"])
    assert ref.rows == 5_000
    again = ref.drift(latest)
    assert again.equals(feature_drift(training, latest, ["mean_1.0", "patchy"], ["rising__fired"]))
    assert again.filter(pl.col("feature") == "patchy")["missing_latest"].item() == pytest.approx(
        latest["patchy"].null_count() / latest.height)
    assert reference(_window(300_000, 0, seed=5), ["patchy"], [], rows=100_000).rows == 100_000


def test_a_feed_that_starts_arriving_is_a_shift():
    nothing = pl.Series([None] * 1000, dtype=pl.Float64)
    assert psi(nothing, pl.Series([None] * 500 + [1.0] * 500)) > 0.25
    assert psi(nothing, nothing) == pytest.approx(0.0)
