"""The ingest flow itself, run by Prefect against a temporary test server."""
from __future__ import annotations

from datetime import date

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
    import yaml
    from pathlib import Path

    spec = yaml.safe_load((Path(__file__).parents[1] / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert {"nightly-ingest", "nightly-scan"} <= deployments.keys()
    for d in deployments.values():
        module, _, function = d["entrypoint"].partition(":")
        assert hasattr(__import__(module.replace("/", ".").removesuffix(".py"), fromlist=[function]), function)
        assert all(s["timezone"] == "Asia/Tokyo" for s in d["schedules"])
