"""The ingest flow itself, run by Prefect against a temporary test server."""
from __future__ import annotations

import pytest
from prefect.testing.utilities import prefect_test_harness

from flows.ingest import ingest
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
