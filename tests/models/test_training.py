"""A training run on the generated portfolio: backtest, registration, card, promotion."""
from __future__ import annotations

import json
from datetime import date

import pytest

from features.scan import month_ends, scan
from models.registry import Registry
from models.training import NotEnoughHistory, best_candidate, train
from yocho.warehouse.db import warehouse


def test_run_registers_the_best_candidate_as_champion(trained):
    run, settings = trained.run, trained.settings
    registry = Registry(settings.models_dir)
    assert registry.versions() == [run.card.version]
    assert registry.champion() == run.card.version
    assert run.decision.promoted and run.decision.reason == "no champion yet"
    assert set(run.card.candidates) == {"scorecard", "boosted"}
    assert run.card.model == best_candidate(run.backtests, settings.models.promotion_metric)
    for metrics in run.card.candidates.values():
        assert 0.5 < metrics["roc_auc"] <= 1 and 0 < metrics["brier"] < 0.1
        assert metrics["test_rows"] > 1000 and metrics["train_rows"] > 1000


def test_backtest_holds_out_the_latest_labelled_months_behind_an_embargo(trained):
    card = trained.run.card
    split = trained.run.backtests[card.model].split
    # labels are complete up to a year before the last delivery (October 2026)
    assert date.fromisoformat(card.training_until) <= date(2025, 10, 31)
    assert split.test["as_of"].min() >= split.test_from
    assert split.train["as_of"].max() < split.train_until
    assert (split.test_from.year - split.train_until.year) * 12 + split.test_from.month - split.train_until.month == 12
    # production fit uses every labelled row, the backtest only the earlier ones
    assert card.training_rows > split.train.height + split.test.height


def test_model_card_records_what_reproduces_and_judges_the_model(trained):
    folder, card = trained.run.folder, trained.run.card
    stored = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    assert stored["data_fingerprint"] == card.data_fingerprint and len(card.data_fingerprint) == 16
    assert stored["packages"]["scikit-learn"] and stored["code_version"]
    assert stored["thresholds"] and stored["features"] and stored["calibration"]
    text = (folder / "card.md").read_text(encoding="utf-8")
    for heading in ("Backtest on held-out months", "Calibration on held-out months", "Explanations", "Drift"):
        assert heading in text
    assert card.explanation in text and "risk score" in text


def test_report_has_every_figure_the_issue_names(trained):
    text = trained.run.markdown()
    for figure in ("ROC AUC", "PR AUC", "Brier score", "recall, top 1%", "recall, top 3%", "recall, top 5%",
                   "median lead", "Calibration", "PSI"):
        assert figure in text, figure
    assert trained.run.drift.features.height == len(trained.run.card.features)


def test_a_second_run_on_the_same_history_is_recorded_and_not_worse(trained, tmp_path):
    import shutil
    settings = trained.settings.model_copy(update={"data_dir": tmp_path})
    shutil.copy(trained.settings.warehouse_path, settings.warehouse_path)
    shutil.copytree(trained.settings.models_dir, settings.models_dir)
    registry = Registry(settings.models_dir)
    with warehouse(settings) as con:
        again = train(con, registry, settings.models, settings.features)
    # same rows, same seeds: the same figures, so the challenger is not worse and replaces it
    assert again.card.data_fingerprint == trained.run.card.data_fingerprint
    assert again.card.metrics["pr_auc"] == pytest.approx(trained.run.card.metrics["pr_auc"])
    assert again.decision.promoted and registry.champion() == again.card.version
    assert [d.challenger for d in registry.decisions()] == [trained.run.card.version, again.card.version]


def test_too_short_a_history_is_refused_with_the_reason(generated, tmp_path):
    import shutil
    settings = generated.settings.model_copy(update={"data_dir": tmp_path})
    shutil.copy(generated.settings.warehouse_path, settings.warehouse_path)
    with warehouse(settings) as con:
        # other tests may have scanned this copy's source: keep only the three dates below
        con.execute("DELETE FROM indicator_values")
        con.execute("DROP TABLE IF EXISTS feature_panel")
        scan(con, month_ends(date(2026, 10, 31), 3), settings.features)
        with pytest.raises(NotEnoughHistory, match="12 months observed"):
            train(con, Registry(settings.models_dir), settings.models, settings.features)


def test_report_has_the_warning_sign_quality_table_of_the_same_history(trained):
    from features.quality import quality_markdown, sign_quality

    text = trained.run.markdown()
    assert "## Warning signs: which come before events (兆候の識別力)" in text
    with warehouse(trained.settings, read_only=True) as con:
        expected = quality_markdown(sign_quality(con))
    assert "\n".join(expected) in text
    assert sum(line.startswith("| `") for line in expected) > 20  # the signs with data, one row each
