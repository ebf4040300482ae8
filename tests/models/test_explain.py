"""Explanations add up exactly to the models' own log-odds and find a planted risk driver."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.special import expit
from sklearn.calibration import _SigmoidCalibration

from features.catalog import indicators, measures
from models.estimators import MODELS
from models.explain import KINDS, METHOD, contributions, factor_ids, top_factors
from models.train import feature_columns, fit
from tests.models.synthetic import synthetic_panel

IDS = factor_ids(feature_columns())  # the models below are fitted on every catalog column
SIGNS = list(indicators())
DRIVER = "rep_dpd_30"
ABSENT = "fin_sales_decline_yoy"  # no value in half of the training businesses
EMPTY_FEED = "obs_litigation"  # entirely null in the rows to explain


@pytest.fixture(scope="module")
def panel() -> pl.DataFrame:
    """12,000 rows in as-of order; risk rises mostly when rep_dpd_30 fired, a little when
    acc_failed_debits fired; a third of the account rows are unavailable (NULL)."""
    return synthetic_panel(seed=11, dpd_weight=3.0, debits_weight=1.0)


@pytest.fixture(scope="module")
def train(panel: pl.DataFrame) -> pl.DataFrame:
    return panel[:9000]


@pytest.fixture(scope="module")
def rows(panel: pl.DataFrame) -> pl.DataFrame:
    """Rows to explain: NULLs in the account feed, and one indicator whose feed is missing."""
    return panel[9000:].with_columns(pl.lit(None).alias(EMPTY_FEED), pl.lit(None).alias(f"{EMPTY_FEED}__fired"))


@pytest.fixture(scope="module")
def models(train: pl.DataFrame) -> dict[str, object]:
    # values only for the businesses of the second calibration half (models.train.fit cuts the
    # rows in halves of businesses ordered by a hash of the key): the first half never sees it
    second_half = pl.col("business_key").hash(seed=0).rank("ordinal") > 0.6 * pl.len()
    absent = train.with_columns(pl.when(second_half).then(pl.col(ABSENT, f"{ABSENT}__fired")))
    return {
        "scorecard": fit("scorecard", train),
        "boosted": fit("boosted", train),
        "boosted_absent": fit("boosted", absent),
    }


def _X(rows: pl.DataFrame):
    return rows.select(pl.col(feature_columns()).cast(pl.Float64)).to_pandas()


def _fold_log_odds(pipeline, rows: pl.DataFrame) -> np.ndarray:
    """Each fold's log-odds straight from scikit-learn, averaged; checked against the
    pipeline's probability so the test pins what the explanation must add up to."""
    X = _X(rows)
    folds = pipeline.named_steps["calibrated"].calibrated_classifiers_
    assert len(folds) == 1  # fitted on the earlier rows, calibrated on the latest
    log_odds, proba = [], []
    for fold in folds:
        raw = fold.estimator.decision_function(X)
        calibrator = fold.calibrators[0]
        assert isinstance(calibrator, _SigmoidCalibration)  # both models: calibrated log-odds
        log_odds.append(-(calibrator.a_ * raw + calibrator.b_))
        proba.append(expit(log_odds[-1]))
    np.testing.assert_allclose(np.mean(proba, axis=0), pipeline.predict_proba(X)[:, 1], atol=1e-12)
    return np.mean(log_odds, axis=0)


@pytest.mark.parametrize("name", ["scorecard", "boosted", "boosted_absent"])
def test_contributions_add_up_to_the_models_log_odds(models, rows: pl.DataFrame, name: str):
    contrib, base = contributions(models[name], rows)
    assert contrib.shape == (rows.height, len(IDS)) and base.shape == (rows.height,)
    assert np.isfinite(contrib).all() and np.isfinite(base).all()
    np.testing.assert_allclose(base + contrib.sum(axis=1), _fold_log_odds(models[name], rows), rtol=0, atol=1e-6)
    # the explanation is not trivially all base: the rows differ, and so do their terms
    assert np.abs(contrib).sum(axis=1).min() > 0


def test_boosted_adds_up_for_values_exactly_on_split_thresholds(models, rows: pl.DataFrame):
    """Values equal to a threshold go left (x <= threshold), as in sklearn's predictor."""
    fold = models["boosted"].named_steps["calibrated"].calibrated_classifiers_[0].estimator
    columns = fold.named_steps["select"].transformers_[0][2]
    thresholds: dict[str, list[float]] = {}
    for (predictor,) in fold.named_steps["hgb"]._predictors:
        split = predictor.nodes[~predictor.nodes["is_leaf"].astype(bool)]
        for f, t in zip(split["feature_idx"], split["num_threshold"], strict=True):
            if np.isfinite(t):
                thresholds.setdefault(columns[f], []).append(float(t))
    rng = np.random.default_rng(0)
    on_edges = rows.with_columns(
        pl.Series(c, rng.choice(ts, rows.height)) for c, ts in thresholds.items()
    )
    contrib, base = contributions(models["boosted"], on_edges)
    expected = _fold_log_odds(models["boosted"], on_edges)
    np.testing.assert_allclose(base + contrib.sum(axis=1), expected, rtol=0, atol=1e-6)


def test_boosted_without_a_column_gives_it_nothing(models, rows: pl.DataFrame):
    fitted_on = models["boosted_absent"].named_steps["calibrated"].calibrated_classifiers_[0].estimator
    columns = fitted_on.named_steps["select"].transformers_[0][2]
    assert ABSENT not in columns and f"{ABSENT}__fired" not in columns
    contrib, _ = contributions(models["boosted_absent"], rows)
    assert (contrib[:, IDS.index(ABSENT)] == 0).all()


def test_scorecard_points_are_per_state_and_zero_when_clean(models, rows: pl.DataFrame):
    contrib, _ = contributions(models["scorecard"], rows)
    states = rows.select(pl.col(f"{i}__fired").cast(pl.Float64).fill_null(-1) for i in SIGNS).to_numpy()
    for j in range(len(SIGNS)):
        assert (contrib[states[:, j] == 0, j] == 0).all()
        for state in (-1, 1):  # one number of points per state
            points = contrib[states[:, j] == state, j]
            assert points.size == 0 or np.ptp(points) < 1e-12
    # the missing feed is the "unavailable" state, scored the same for every row
    assert np.ptp(contrib[:, IDS.index(EMPTY_FEED)]) < 1e-12
    # the scorecard reads the signs' states only: the measures never move its score
    assert (contrib[:, len(SIGNS):] == 0).all()


@pytest.mark.parametrize("name", ["scorecard", "boosted"])
def test_planted_driver_is_the_top_factor_where_it_fired(models, rows: pl.DataFrame, name: str):
    contrib, _ = contributions(models[name], rows)
    driver = IDS.index(DRIVER)
    fired = rows[f"{DRIVER}__fired"].to_numpy() == 1
    top = contrib.argmax(axis=1)
    assert fired.sum() > 100 and (top[fired] == driver).all()
    if name == "scorecard":  # a clean sign scores exactly 0 points
        assert (contrib[~fired, driver] == 0).all()
    else:  # a path attribution credits a clean sign with lowering the risk, nearly always
        assert (contrib[~fired, driver] <= 0).mean() > 0.95
    first = [f[0]["indicator"] for f in top_factors(rows.filter(fired), contrib[fired], IDS, k=1).to_list()]
    assert first == [IDS[j] for j in top[fired]]


def _kind(row: dict, factor: str) -> str:
    fired = row.get(f"{factor}__fired")
    if fired == 1:
        return "sign"
    return "missing" if row[factor] is None else "figure"


@pytest.mark.parametrize("name", ["scorecard", "boosted"])
def test_top_factors_separate_fired_signs_from_figures_and_missing_data(models, rows: pl.DataFrame, name: str):
    contrib, _ = contributions(models[name], rows)
    factors = top_factors(rows, contrib, IDS, k=3)
    assert factors.len() == rows.height
    catalog = {**indicators(), **measures()}
    kinds_seen = set()
    for i, (listed, row) in enumerate(zip(factors.to_list(), rows.iter_rows(named=True), strict=True)):
        for kind in KINDS:
            of_kind = [f for f in listed if f["kind"] == kind]
            eligible = [j for j, f in enumerate(IDS) if contrib[i, j] > 0 and _kind(row, f) == kind]
            assert len(of_kind) == min(3, len(eligible))
            shown = [f["contribution"] for f in of_kind]
            assert all(c > 0 for c in shown) and shown == sorted(shown, reverse=True)
            if of_kind:
                assert shown[0] == max(contrib[i, j] for j in eligible)
                kinds_seen.add(kind)
        # signs first, then figures, then missing data
        order = [list(KINDS).index(f["kind"]) for f in listed]
        assert order == sorted(order)
        for f in listed:
            factor = f["indicator"]
            assert f["contribution"] == contrib[i, IDS.index(factor)]
            assert (f["name_ja"], f["name_en"]) == (catalog[factor].ja, catalog[factor].en)
            assert (f["kind_ja"], f["kind_en"]) == KINDS[f["kind"]]
            assert f["value"] == row[factor]
            # never a sign that did not fire presented as a warning sign
            assert (f["kind"] == "sign") == (f["fired"] is True)
            if factor in measures():
                assert f["fired"] is None and f["kind"] != "sign"
    if name == "scorecard":  # a sign that did not fire scores 0 points, and measures none: no figures
        assert kinds_seen == {"sign", "missing"}
    else:
        assert {"sign", "figure"} <= kinds_seen


def test_top_factors_on_a_hand_made_matrix():
    n_signs = len(SIGNS)
    measure = IDS[n_signs]  # the first measure
    rows = pl.DataFrame({c: [None, 2.0, 0.0] for c in IDS + [f"{i}__fired" for i in SIGNS]}).with_columns(
        pl.col(f"{i}__fired").cast(pl.Float64) for i in SIGNS
    ).with_columns(pl.lit(1.0).alias(f"{SIGNS[3]}__fired"), pl.Series(SIGNS[3], [7.5, None, 1.0]),
                   pl.Series(measure, [None, 4.0, 12.5]))
    contrib = np.zeros((3, len(IDS)))
    contrib[0, [3, 1, 5, n_signs]] = [0.5, 2.0, -1.0, 0.7]  # one negative: left out
    contrib[1, :] = -0.1  # nothing raises the risk
    contrib[2, :6] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]  # more than k of one kind
    contrib[2, n_signs] = 0.05
    listed = top_factors(rows, contrib, IDS, k=2).to_list()
    # row 0: SIGNS[3] fired (a sign); SIGNS[1] and the measure have no value (missing data)
    assert [(f["kind"], f["indicator"]) for f in listed[0]] == [
        ("sign", SIGNS[3]), ("missing", SIGNS[1]), ("missing", measure)]
    assert listed[0][0] == {"kind": "sign", "kind_ja": "予兆（発火）", "kind_en": "warning sign (fired)",
                            "indicator": SIGNS[3], "name_ja": indicators()[SIGNS[3]].ja,
                            "name_en": indicators()[SIGNS[3]].en, "value": 7.5, "fired": True, "contribution": 0.5}
    assert listed[0][1]["value"] is None and listed[0][1]["fired"] is None
    assert listed[1] == []
    # row 2: SIGNS[3] fired (0.4); SIGNS[5], SIGNS[4] did not fire (value 0.0): figures, not signs
    assert [(f["kind"], f["indicator"]) for f in listed[2]] == [
        ("sign", SIGNS[3]), ("figure", SIGNS[5]), ("figure", SIGNS[4])]
    assert listed[2][1]["value"] == 0.0 and listed[2][1]["fired"] is False
    assert listed[2][1]["kind_ja"] == "数値（予兆ではない）"


def test_methods_are_described_for_every_model():
    assert set(METHOD) == set(MODELS) and all(METHOD.values())
