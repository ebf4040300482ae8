"""Both models trained on earlier as-of dates and measured on later ones, on a generated
portfolio (slow: opt in with -m slow; CI runs it)."""
from __future__ import annotations

from datetime import date

import pytest

from models.dataset import training_frame
from models.train import backtest
from yocho.settings import Settings
from yocho.warehouse.db import warehouse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def frame(scanned_portfolio: Settings):
    with warehouse(scanned_portfolio, read_only=True) as con:
        return training_frame(con)


@pytest.mark.parametrize("model_name", ["scorecard", "boosted"])
def test_backtest_on_later_dates(frame, model_name: str):
    result = backtest(model_name, frame, test_from=date(2025, 6, 1))
    m = result.metrics
    assert result.split.train["as_of"].max() < date(2024, 6, 1) <= date(2025, 6, 1) <= result.split.test["as_of"].min()
    assert m["train_rows"] > 20_000 and m["test_rows"] > 20_000
    assert m["roc_auc"] > 0.65
    assert m["pr_auc"] > 3 * m["base_rate"]
    # the top 5% of each month holds far more than 5% of the coming events
    assert m["recall_top_5%"] > 0.2
    # calibrated on earlier folds: the mean prediction is near the observed rate
    assert abs(result.scored["probability"].mean() - m["base_rate"]) < 0.5 * m["base_rate"]
    assert m["calibration_error"] < 0.5 * m["base_rate"]
