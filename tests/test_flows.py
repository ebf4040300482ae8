"""The ingest flow itself, run by Prefect against a temporary test server."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from flows.ingest import ingest
from flows.scan import scan_flow
from tests.landing_files import write_csv
from tests.test_ingest import JA_HEADER, _good_rows
from yocho.settings import Settings
from yocho.warehouse.db import warehouse


@pytest.fixture(scope="module")
def prefect_server():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_ingest_flow_loads_every_landing_group_and_reports_misplaced(prefect_server, settings: Settings):
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "a.csv", JA_HEADER, _good_rows(12))
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "b.csv", JA_HEADER, _good_rows(3, start=500))
    write_csv(settings.landing_dir / "bank_0116" / "guarantees" / "wrong.csv", JA_HEADER, _good_rows(1))

    outcomes = ingest(settings)

    assert sorted((o["status"], o["rows_loaded"]) for o in outcomes) == [("loaded", 3), ("loaded", 12)]
    with warehouse(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_guarantees").fetchone()[0] == 15
    assert (settings.landing_dir / "bank_0116" / "guarantees" / "wrong.csv").exists()
    assert ingest(settings) == []  # nothing new the second night

    summary = scan_flow([date(2024, 4, 30), date(2024, 5, 31)], settings)
    assert summary["as_of"] == ["2024-04-30", "2024-05-31"] and summary["businesses"] == 15
    with warehouse(settings, read_only=True) as con:
        per_date = con.execute("SELECT as_of, count(DISTINCT business_key) FROM indicator_values GROUP BY 1 ORDER BY 1").fetchall()
    assert per_date == [(date(2024, 4, 30), 15), (date(2024, 5, 31), 15)]


def test_deployments_are_declared_with_tokyo_schedules():
    from pathlib import Path

    import yaml

    spec = yaml.safe_load((Path(__file__).parents[1] / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert {"nightly-ingest", "nightly-scan", "nightly-score", "nightly-flags", "monthly-training",
            "daily-digest"} <= deployments.keys()
    for d in deployments.values():
        module, _, function = d["entrypoint"].partition(":")
        assert hasattr(__import__(module.replace("/", ".").removesuffix(".py"), fromlist=[function]), function)
        assert all(s["timezone"] == "Asia/Tokyo" for s in d["schedules"])


def _artifact(key: str) -> dict:
    """The latest artifact with `key`, read over the server's REST API. (Prefect 3.8.8's
    client sends nulls for the paging fields of /artifacts/filter, which its own server
    refuses with 422, so the request is written out in full.)"""
    from prefect import get_client

    body = {"artifacts": {"key": {"any_": [key]}},
            "limit": 1, "offset": 0, "sort": "CREATED_DESC"}
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/artifacts/filter", json=body)
    response.raise_for_status()
    found = response.json()
    assert found, f"no artifact {key}"
    return found[0]


def test_training_and_scoring_flows_register_report_and_score(prefect_server, trained, generated, tmp_path):
    import shutil

    from flows.flags import flags_flow
    from flows.score import score_flow
    from flows.train import train_flow
    from yocho.settings import ModelSettings

    settings = trained.settings.model_copy(update={
        "data_dir": tmp_path, "models": ModelSettings(test_months=3, candidates=("scorecard",)),
    })
    shutil.copy(trained.settings.warehouse_path, settings.warehouse_path)
    # synthetic data: the generator's truth next to the warehouse, as the demo has it
    shutil.copytree(generated.settings.data_dir / "truth", tmp_path / "truth")

    summary = train_flow(settings)

    assert summary["promoted"] and summary["model"] == "scorecard"
    report = Path(summary["report"])
    assert report.exists() and "PR AUC" in report.read_text(encoding="utf-8")
    assert (Path(summary["folder"]) / "card.md").exists()
    # with the truth, the report and the card compare the model with the best possible ranking
    assert list(summary["watchlist"]["rankings"]) == ["model", "flag_policy", "true_risk", "foresight"]
    assert "## At the monthly review budget" in report.read_text(encoding="utf-8")
    assert "## At the monthly review budget" in (Path(summary["folder"]) / "card.md").read_text(encoding="utf-8")
    assert "Calibration" in _artifact("model-training")["data"]
    assert _artifact("model-backtest")["type"] == "table"

    # November 2026 was never scanned: the flow computes its indicators, then scores
    scored = score_flow([date(2026, 10, 31), date(2026, 11, 30)], settings)
    assert scored["scanned_first"] == ["2026-11-30"] and scored["model_version"] == summary["version"]
    assert sum(b["businesses"] for b in scored["bands"]) == scored["rows_written"] // 2
    assert "要注意" in _artifact("risk-bands")["data"]

    flagged = flags_flow(date(2026, 10, 31), settings)
    applied = flagged["applied"]
    assert flagged["flagged"] > 0 and applied["opened"] + applied["waiting"] == flagged["flagged"]
    assert 0 < applied["opened"] <= sum(b["budget"] for b in flagged["budgets"])
    assert "月間審査枠" in _artifact("queue-flags")["data"]
    assert "事業再生" in _artifact("queue-flags")["data"]
