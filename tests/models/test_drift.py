"""Population stability index: bins fixed on the training window, missing as its own bin."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.drift import feature_drift, level, psi, score_drift


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
