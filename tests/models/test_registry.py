"""Registry round trip, refusal of untrusted artefacts, and champion/challenger decisions."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from models.estimators import MODELS, fired_columns, value_columns
from models.registry import ModelCard, Registry, UntrustedModelError

COLUMNS = value_columns() + fired_columns()


def _card(version: str, pr_auc: float, model: str = "scorecard") -> ModelCard:
    return ModelCard(
        version=version, model=model, trained_at="2026-11-24T00:00:00+00:00", training_from="2024-01-31",
        training_until="2025-05-31", data_fingerprint="abc", code_version="test", packages={"scikit-learn": "1.9.1"},
        features=COLUMNS, metrics={"pr_auc": pr_auc, "roc_auc": 0.8},
    )


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.random((600, len(COLUMNS))), columns=COLUMNS)
    frame[fired_columns()] = (frame[fired_columns()] > 0.8).astype(float)
    return frame, (rng.random(600) < 0.1 + 0.5 * frame[fired_columns()[0]]).to_numpy()


@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip_gives_the_same_predictions(tmp_path: Path, data, name: str):
    X, y = data
    model = MODELS[name]().fit(X, y)
    registry = Registry(tmp_path)
    registry.save(model, _card("v001", 0.3, name))
    loaded, card = registry.load("v001")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert card.model == name and card.features == COLUMNS
    assert registry.versions() == ["v001"]
    with pytest.raises(FileExistsError):
        registry.save(model, _card("v001", 0.3, name))


def test_artefact_with_untrusted_code_is_refused(tmp_path: Path):
    registry = Registry(tmp_path)
    registry.save(FunctionTransformer(), _card("v001", 0.3))
    # replace the artefact with one that would call a function outside the trusted list
    sio.dump(FunctionTransformer(shutil.rmtree), tmp_path / "v001" / "model.skops")
    with pytest.raises(UntrustedModelError, match="does not trust"):
        registry.load("v001")


def test_challenger_replaces_champion_only_if_not_worse(tmp_path: Path):
    registry = Registry(tmp_path)
    for version, pr_auc in (("v001", 0.30), ("v002", 0.28), ("v003", 0.31)):
        registry.save(FunctionTransformer(), _card(version, pr_auc))
    assert registry.promote_if_not_worse("v001").promoted and registry.champion() == "v001"
    worse = registry.promote_if_not_worse("v002")
    assert not worse.promoted and registry.champion() == "v001"
    assert "0.2800 < champion's 0.3000" in worse.reason
    assert registry.promote_if_not_worse("v003").promoted and registry.champion() == "v003"
    assert [(d.challenger, d.promoted) for d in registry.decisions()] == [("v001", True), ("v002", False), ("v003", True)]
