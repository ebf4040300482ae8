"""The fitted model owns its columns: the registry stores the ordered list the estimator was
fitted on, and scoring, explanations and drift read exactly that list. An indicator added to
the catalog after training leaves the champion's scores bit for bit as they were; a column the
panel no longer has stops scoring with an error that names it and says what to do."""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import features.catalog
from features.catalog import Family, Indicator, Severity
from models.explain import contributions, factor_ids, top_factors
from models.registry import FeatureListError, ModelCard, Registry
from models.score import score
from models.train import MissingColumns, feature_columns, fit, model_columns, predict
from models.training import measure_drift
from tests.models.synthetic import synthetic_panel
from yocho.settings import Settings
from yocho.warehouse.db import warehouse

NEW = Indicator(id="rep_new_sign", ja="新しい予兆", en="A sign added after training", family=Family.REPAYMENT,
                feeds=("loans",), definition="Added to the catalog after the champion was trained.", unit="count",
                severity=Severity.HIGH)
DROPPED = "acc_failed_debits"  # one of the synthetic panel's risk drivers
# what risk_scores says about the risk; signs_fired counts the panel's signs, the new one included
SCORE_COLUMNS = "business_key, as_of, probability, band, portfolio_rank, portfolio_share, model_version, top_factors"


@pytest.fixture(scope="module")
def panel() -> pl.DataFrame:
    return synthetic_panel(seed=23, dpd_weight=3.0, debits_weight=1.5, n=6000)


@pytest.fixture(scope="module", params=["scorecard", "boosted"])
def fitted(request, panel: pl.DataFrame) -> tuple[str, object]:
    return request.param, fit(request.param, panel[:4500])


def _card(version: str, name: str, features: list[str]) -> ModelCard:
    return ModelCard(version=version, model=name, trained_at="2026-12-01T00:00:00+00:00", training_from="2022-01-31",
                     training_until="2022-03-16", data_fingerprint="test", code_version="test", packages={},
                     features=features, metrics={"pr_auc": 0.5})


@pytest.fixture
def champion(tmp_path: Path, fitted) -> Registry:
    name, pipeline = fitted
    registry = Registry(tmp_path / "models")
    registry.save(pipeline, _card("v001", name, model_columns(pipeline)))
    assert registry.promote_if_not_worse("v001").promoted
    return registry


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", today=date(2026, 12, 1), duckdb_memory_limit="1GB")


def _panel_table(con, panel: pl.DataFrame) -> list[date]:
    """The synthetic rows as the warehouse's feature_panel (keys, signs fired, the catalog's
    columns); returns the two latest as-of dates."""
    rows = panel[4500:].with_columns(
        signs_fired=pl.sum_horizontal(pl.col(c).fill_null(0) for c in feature_columns() if c.endswith("__fired"))
        .cast(pl.Int64))
    con.register("synthetic", rows.select("business_key", "as_of", "signs_fired", *feature_columns()).to_arrow())
    con.execute("CREATE OR REPLACE TABLE feature_panel AS SELECT * FROM synthetic")
    con.unregister("synthetic")
    return sorted(rows["as_of"].unique().to_list())[-2:]


def _scores(con) -> pl.DataFrame:
    return con.execute(f"SELECT {SCORE_COLUMNS} FROM risk_scores ORDER BY as_of, business_key").pl()


def _add_to_catalog(monkeypatch) -> None:
    """NEW joins the catalog as a module declaring it would: every reader of the catalog sees it."""
    catalog = {**features.catalog.indicators(), NEW.id: NEW}
    for module in ("features.catalog", "features.store", "models.estimators", "models.explain"):
        monkeypatch.setattr(f"{module}.indicators", lambda: catalog)


def test_the_card_stores_the_ordered_columns_the_estimator_was_fitted_on(champion: Registry, fitted):
    _, pipeline = fitted
    card = json.loads((champion.root / "v001" / "card.json").read_text(encoding="utf-8"))
    assert card["features"] == list(pipeline.feature_names_in_) == feature_columns()
    _, loaded = champion.load("v001")
    assert loaded.features == card["features"]


def test_a_new_indicator_leaves_the_champions_scores_bit_identical(champion, settings, panel, monkeypatch, caplog):
    with warehouse(settings) as con:
        dates = _panel_table(con, panel)
        before = score(con, champion, dates, settings.models)
        expected = _scores(con)
        assert before.ignored_columns == ()

        _add_to_catalog(monkeypatch)
        # the catalog now has the sign (a retrain would learn from it), and a rescan puts it in the panel
        assert f"{NEW.id}__fired" in feature_columns()
        con.execute(f'ALTER TABLE feature_panel ADD COLUMN "{NEW.id}" DOUBLE')
        con.execute(f'ALTER TABLE feature_panel ADD COLUMN "{NEW.id}__fired" INTEGER')
        con.execute(f'UPDATE feature_panel SET "{NEW.id}" = hash(business_key) % 7, '
                    f'"{NEW.id}__fired" = (hash(business_key) % 7 > 3)::INTEGER')
        with caplog.at_level(logging.INFO, logger="models.score"):
            after = score(con, champion, dates, settings.models)
        got = _scores(con)
    assert after.ignored_columns == (NEW.id, f"{NEW.id}__fired")
    assert any(NEW.id in r.getMessage() and "ignoring 2" in r.getMessage() for r in caplog.records)
    assert after.rows_written == before.rows_written > 0
    assert_frame_equal(got, expected)  # exact: every probability, rank and factor
    assert np.array_equal(got["probability"].to_numpy(), expected["probability"].to_numpy())
    assert NEW.id not in " ".join(got["top_factors"].to_list())


def test_a_column_the_panel_lacks_is_named_with_what_to_do(champion, settings, panel):
    with warehouse(settings) as con:
        dates = _panel_table(con, panel)
        score(con, champion, dates, settings.models)
        expected = _scores(con)
        con.execute(f'ALTER TABLE feature_panel DROP COLUMN "{DROPPED}__fired"')
        with pytest.raises(MissingColumns) as raised:
            score(con, champion, dates, settings.models)
        assert_frame_equal(_scores(con), expected)  # nothing written
    assert raised.value.columns == [f"{DROPPED}__fired"] and raised.value.indicators == [DROPPED]
    message = str(raised.value)
    assert "v001" in message and DROPPED in message
    assert "rescan the history with `yocho scan` then retrain" in message


def test_explanations_follow_the_model_not_the_catalog(fitted, panel, monkeypatch):
    """An indicator added to the catalog is no factor of the model; one removed from it still
    is, named by its id."""
    _, pipeline = fitted
    rows = panel[4500:]
    factors = factor_ids(model_columns(pipeline))
    contrib, base = contributions(pipeline, rows)
    listed = top_factors(rows, contrib, factors, k=3)
    _add_to_catalog(monkeypatch)
    with_new = rows.with_columns(pl.lit(1.0).alias(NEW.id), pl.lit(1).alias(f"{NEW.id}__fired"))
    again, again_base = contributions(pipeline, with_new)
    assert NEW.id not in factors and np.array_equal(again, contrib) and np.array_equal(again_base, base)
    assert top_factors(with_new, again, factors, k=3).to_list() == listed.to_list()

    without = {k: v for k, v in features.catalog.indicators().items() if k != "rep_dpd_30"}
    monkeypatch.setattr("models.explain.indicators", lambda: without)
    assert np.array_equal(contributions(pipeline, rows)[0], contrib)
    named = {f["indicator"]: f["name_en"] for r in top_factors(rows, contrib, factors, k=3).to_list() for f in r}
    assert named["rep_dpd_30"] == "rep_dpd_30"


def test_drift_measures_the_models_columns(fitted, panel, monkeypatch):
    _, pipeline = fitted
    _add_to_catalog(monkeypatch)
    latest = panel[5900:].with_columns(pl.lit(1.0).alias(NEW.id), pl.lit(1).alias(f"{NEW.id}__fired"))
    drift = measure_drift(pipeline, panel[:4500], latest)
    assert sorted(drift.features["feature"]) == sorted(model_columns(pipeline))
    with pytest.raises(MissingColumns, match=DROPPED):
        measure_drift(pipeline, panel[:4500], latest.drop(DROPPED))


def test_the_registry_keeps_card_and_artefact_in_agreement(tmp_path: Path, fitted):
    name, pipeline = fitted
    registry = Registry(tmp_path)
    columns = model_columns(pipeline)
    with pytest.raises(FeatureListError, match="not the one the model was fitted on"):
        registry.save(pipeline, _card("v001", name, columns[::-1]))
    registry.save(pipeline, _card("v001", name, columns))
    path = tmp_path / "v001" / "card.json"
    written = json.loads(path.read_text(encoding="utf-8"))

    # a card without a feature list falls back to the artefact's; a retired field is dropped
    path.write_text(json.dumps({**written, "features": [], "notes": "an old card"}), encoding="utf-8")
    loaded, card = registry.load("v001")
    assert card.features == columns
    path.write_text(json.dumps({k: v for k, v in written.items() if k != "features"}), encoding="utf-8")
    assert registry.load("v001")[1].features == columns
    assert np.array_equal(predict(loaded, pl.DataFrame({c: [0.0] for c in columns})),
                          predict(pipeline, pl.DataFrame({c: [0.0] for c in columns})))

    # a card that names other columns than the artefact was fitted on is refused
    path.write_text(json.dumps(asdict(replace(card, features=columns[:-1]))), encoding="utf-8")
    with pytest.raises(FeatureListError, match="retrain"):
        registry.load("v001")
