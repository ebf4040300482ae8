"""Both model pipelines learn a known signal from panel-shaped rows and give probabilities."""
from __future__ import annotations

import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from models.estimators import MODELS, fired_columns, value_columns
from models.metrics import calibration_error, calibration_table
from tests.models.synthetic import synthetic_panel


@pytest.fixture(scope="module")
def panel() -> pl.DataFrame:
    """12,000 rows; risk rises when rep_dpd_30 or acc_failed_debits fired; a third of the
    account rows are unavailable (NULL), as for a business without an account feed."""
    return synthetic_panel(seed=7, dpd_weight=2.5, debits_weight=2.0)


@pytest.mark.parametrize("name", list(MODELS))
def test_pipeline_learns_the_signal_and_outputs_probabilities(panel: pl.DataFrame, name: str):
    train, test = panel[:8000], panel[8000:]
    columns = value_columns() + fired_columns()
    model = MODELS[name]().fit(train.select(columns).to_pandas(), train["label"].to_numpy())
    p = model.predict_proba(test.select(columns).to_pandas())[:, 1]
    assert ((p >= 0) & (p <= 1)).all()
    # as good as the true risk itself, within sampling noise
    oracle = roc_auc_score(test["label"].to_numpy(), test["true_risk"].to_numpy())
    assert oracle > 0.65
    assert roc_auc_score(test["label"].to_numpy(), p) > oracle - 0.04
    # calibrated on held-out rows: the mean prediction is close to the event rate, and so
    # is each decile's
    assert abs(p.mean() - test["label"].mean()) < 0.02
    table = calibration_table(test["label"].to_numpy(), p)
    assert calibration_error(table) < 0.025
    top = table.row(-1, named=True)
    assert abs(top["predicted"] - top["observed"]) < 0.1


def test_boosted_fired_flags_only_raise_risk():
    constraints = MODELS["boosted"]().steps[0][1].estimator.named_steps["hgb"].monotonic_cst
    n_values = len(value_columns())
    assert set(constraints[n_values:]) == {1} and set(constraints[:n_values]) == {0}


def test_a_calibration_without_out_of_fold_skill_never_inverts_the_ranking(panel: pl.DataFrame):
    """A sigmoid fitted on out-of-fold scores that run against the outcomes would turn the
    ranking upside down (sklearn: increasing only for a slope a < 0); fit() flattens it to the
    base rate instead, keeping the model's own order."""
    import numpy as np
    from scipy.stats import spearmanr

    from models.train import _keep_the_ranking, feature_columns, fit

    rows = panel[:6000]
    pipeline = fit("scorecard", rows)
    X = rows.select(feature_columns()).to_pandas()
    fold = pipeline.steps[-1][1].calibrated_classifiers_[0]
    raw = fold.estimator.decision_function(X)
    fold.calibrators[0].a_ = abs(fold.calibrators[0].a_) + 0.5  # as an inverted out-of-fold fit would leave it
    inverted = pipeline.predict_proba(X)[:, 1]
    assert spearmanr(raw, inverted).statistic < -0.99  # the failure this guards against
    base = float(rows["label"].mean())
    _keep_the_ranking(pipeline, base)
    kept = pipeline.predict_proba(X)[:, 1]
    assert spearmanr(raw, kept).statistic > 0.99
    assert np.allclose(kept, base, atol=1e-3)
