"""The nightly flow end to end, run by Prefect against a temporary test server."""
from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from flows.nightly import nightly
from models.registry import Registry
from tests.conftest import LAST_SCAN
from tests.landing_files import corporate_number, write_csv
from tests.test_flows import _artifact
from tests.test_ingest import JA_HEADER, _good_rows
from yocho.settings import Settings
from yocho.warehouse.db import warehouse


@pytest.fixture(scope="module")
def prefect_server():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def _copy_of_trained(trained, tmp_path: Path, with_models: bool = True) -> Settings:
    """The trained warehouse (and its models, if asked) in a folder of the test's own."""
    settings = trained.settings.model_copy(update={"data_dir": tmp_path / "data"})
    shutil.copytree(trained.settings.data_dir, settings.data_dir,
                    ignore=None if with_models else shutil.ignore_patterns("models"))
    assert settings.effective_today() == date(2026, 11, 24)  # last month-end: 2026-10-31
    return settings


def _counts(settings: Settings, as_of: date) -> tuple[int, int]:
    with warehouse(settings, read_only=True) as con:
        scored = con.execute("SELECT count(*) FROM risk_scores WHERE as_of = ?", [as_of]).fetchone()[0]
    queue = settings.data_dir / "queue.sqlite"
    if not queue.exists():
        return scored, 0
    with sqlite3.connect(queue) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "cases" in tables, tables
        cases = db.execute("SELECT count(*) FROM cases").fetchone()[0]
    return scored, cases


def test_nightly_quarantines_a_bad_file_and_carries_on_to_scores_and_queue(prefect_server, trained, tmp_path):
    settings = _copy_of_trained(trained, tmp_path)
    good = write_csv(settings.landing_dir / "cga_13" / "guarantees" / "nightly-good.csv", JA_HEADER,
                     _good_rows(4, start=970_000))
    # 5 of 25 rows unreadable: more than the 5% allowed, so the file is rejected whole
    broken = [[f"GX{i}", "C1", corporate_number(i), "0116", "2024-03", "x", "正常", "2024-04-15"] for i in range(5)]
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "nightly-broken.csv", JA_HEADER,
              broken + _good_rows(20, start=990_000))

    night = nightly(settings=settings)

    assert night["as_of"] == LAST_SCAN.isoformat()
    by_name = {Path(f["path"]).name: f for f in night["files"]}
    assert by_name["nightly-good.csv"]["status"] == "loaded" and by_name["nightly-good.csv"]["rows_loaded"] == 4
    assert by_name["nightly-broken.csv"]["status"] == "rejected"
    assert by_name["nightly-broken.csv"]["rows_loaded"] == 0 and by_name["nightly-broken.csv"]["rows_quarantined"] >= 5
    assert not good.exists()
    with warehouse(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM quarantine WHERE source_row IS NULL AND reason LIKE '%rejected%'"
                           ).fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM raw_guarantees WHERE guarantee_id LIKE 'G9900__'").fetchone()[0] == 0

    assert night["indicators"]["as_of"] == [LAST_SCAN.isoformat()] and night["indicators"]["businesses"] > 1_000
    assert night["scores"]["model_version"] == Registry(settings.models_dir).champion()
    assert sum(b["businesses"] for b in night["scores"]["bands"]) == night["scores"]["rows_written"]
    applied = night["flags"]["applied"]  # a fresh queue: every flag opens a case or waits below the line
    assert night["flags"]["flagged"] > 0 and applied["opened"] + applied["waiting"] == night["flags"]["flagged"]
    assert 0 < applied["opened"] <= sum(b["budget"] for b in night["flags"]["budgets"])

    scored, cases = _counts(settings, LAST_SCAN)
    assert scored == night["scores"]["rows_written"] and cases == night["flags"]["applied"]["opened"]

    summary = _artifact("nightly-summary")["data"]
    assert "nightly-broken.csv" in summary and "cases opened" in summary and "事業再生" in summary

    # a second night with nothing new: no files, the same cases updated rather than reopened
    again = nightly(settings=settings)
    assert again["files"] == [] and again["flags"]["applied"]["opened"] == 0
    assert _counts(settings, LAST_SCAN)[1] == cases


def test_nightly_without_a_champion_skips_scoring_with_a_warning_and_completes(prefect_server, trained, tmp_path):
    settings = _copy_of_trained(trained, tmp_path, with_models=False)
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "first-night.csv", JA_HEADER,
              _good_rows(3, start=980_000))

    state = nightly(settings=settings, return_state=True)

    assert state.is_completed()
    night = state.result()
    assert [f["status"] for f in night["files"]] == ["loaded"]
    assert night["indicators"]["as_of"] == [LAST_SCAN.isoformat()]
    assert night["scores"] is None and night["flags"] is None
    assert _counts(settings, LAST_SCAN) == (0, 0)
    assert "no champion model yet" in _artifact("nightly-summary")["data"]
