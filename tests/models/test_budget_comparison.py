"""The generator-truth reader, the comparison of rankings at the review budget, and the report
section that shows it only when the data folder holds the generator's truth."""
from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from models.generator_truth import HEALTH_FILE, has_truth, latent_health
from models.report import card_markdown, training_markdown
from models.training import budget_figures
from models.watchlist import budget_entries
from tests.models.conftest import A, B
from yocho.warehouse.db import warehouse


def _write_truth(folder: Path) -> Path:
    folder.mkdir(parents=True)
    pl.DataFrame({"business_id": ["B00000001", "B00000002", "B00000003"],
                  "institution_id": ["bank_0116"] * 3, "local_id": ["A1", "B1", "Z9"]}).write_parquet(
        folder / "links.parquet")
    pl.DataFrame({"business_id": ["B00000001", "B00000002", "B00000003"],
                  "monthly_hazard": [0.001, 0.004, 0.002]}).write_parquet(folder / "businesses.parquet")
    pl.DataFrame({"business_id": ["B00000001", "B00000001", "B00000002", "B00000003"],
                  "month": [date(2024, 5, 1), date(2024, 6, 1), date(2024, 6, 1), date(2024, 6, 1)],
                  "h": [0.2, -0.5, 1.0, -2.0]}).with_columns(pl.col("h").cast(pl.Float32)).write_parquet(
        folder / HEALTH_FILE)
    return folder


def test_truth_reader_maps_generator_ids_to_warehouse_keys(tiny, tmp_path):
    folder = _write_truth(tmp_path / "truth")
    assert has_truth(folder)
    health = latent_health(tiny.con, folder)
    # A1 and B1 are the bank's customer numbers of the companies A and B (keyed by 法人番号);
    # Z9 never reached the warehouse
    assert sorted(health.select("business_key", "as_of", "h", "monthly_hazard").rows()) == sorted([
        (A, date(2024, 5, 31), pytest.approx(0.2), 0.001),
        (A, date(2024, 6, 30), pytest.approx(-0.5), 0.001),
        (B, date(2024, 6, 30), pytest.approx(1.0), 0.004),
    ], key=lambda r: (r[0], r[1]))


def test_no_truth_without_the_monthly_health(tmp_path):
    folder = _write_truth(tmp_path / "truth")
    (folder / HEALTH_FILE).unlink()
    assert not has_truth(folder)
    assert not has_truth(tmp_path / "elsewhere")
    assert not has_truth(None)


SECTION = "## At the monthly review budget"


def test_report_section_only_with_truth(trained, generated):
    run = trained.run
    # trained without a truth folder: no comparison, no section
    assert run.card.watchlist == {}
    assert SECTION not in run.markdown() and SECTION not in card_markdown(run.card)
    settings = trained.settings
    with warehouse(settings) as con:
        figures = budget_figures(con, run.backtests, settings.models, settings.signals,
                                 generated.settings.data_dir / "truth")
        assert budget_figures(con, run.backtests, settings.models, settings.signals, settings.data_dir / "truth") == {}
    rankings = figures["rankings"]
    assert list(rankings) == ["model", "flag_policy", "true_risk", "foresight"]
    # one set of events for every ranking
    assert len({f["events"] for f in rankings.values()}) == 1 and rankings["model"]["events"] > 0
    # perfect foresight never spends a review on a business without an event, and has room for all
    assert rankings["foresight"]["recall"] == 1.0 and rankings["foresight"]["precision"] == 1.0
    assert rankings["true_risk"]["recall_share_of_true_risk"] == 1.0
    # the rankings that fill the budget add the same number of entries: the budget, every month
    per_month = budget_entries(figures["mean_monitored"], settings.signals.monthly_budget_share)
    assert rankings["model"]["entries"] == rankings["true_risk"]["entries"]
    assert rankings["model"]["entries"] <= (per_month + 1) * figures["list_months"]
    assert rankings["flag_policy"]["entries"] <= rankings["model"]["entries"]
    card = dataclasses.replace(run.card, watchlist=figures)
    for text in (card_markdown(card), training_markdown(card, True, "", None, [])):
        assert SECTION in text
        assert "| perfect foresight (knows the event) |" in text and "| 100.0% |" in text
