"""The benchmark harness at a tiny scale: every measurement present, the pandas peer agreeing
with Yocho. No timing thresholds: figures at this scale mean nothing (docs/benchmarks.md)."""
from __future__ import annotations

import json
import math

import pytest

from bench.pandas_peer import INDICATORS
from bench.run import _earlier_ingest, generate_only, markdown_row, run, table
from yocho.settings import load_settings
from yocho.warehouse.db import warehouse

# a whole generate-ingest-scan-train-score run, even if tiny: with the slow tests
pytestmark = pytest.mark.slow


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_bench_measures_everything_and_the_peer_agrees(tmp_path):
    result = run(300, 30, tmp_path, seed=7, memory_limit="1GB", peer_dates=3, keep=True)

    saved = json.loads((tmp_path / "bench" / "results.json").read_text(encoding="utf-8"))
    assert saved["scale"] == {"businesses": 300, "months": 30, "seed": 7}
    for figure in (
        saved["ingest"]["rows_per_second"], saved["ingest"]["rows"],
        saved["indicators"]["full_history"]["seconds"], saved["indicators"]["incremental_night"]["seconds"],
        saved["training"]["seconds"], saved["scoring"]["seconds"], saved["flags"]["seconds"],
        saved["nightly"]["total_seconds"], saved["nightly"]["ingest_one_month_seconds_estimated"],
        saved["memory"]["peak_rss_bytes"], saved["peer"]["pandas_seconds"], saved["peer"]["yocho_seconds"],
    ):
        assert _positive(figure)
    assert saved["indicators"]["full_history"]["dates"] == 30
    assert saved["duckdb"]["memory_limit"]  # the limit in force, as DuckDB reports it
    assert saved["machine"]["cpu_count"] >= 1 and saved["machine"]["versions"]["duckdb"]
    assert saved["nightly"]["total_seconds"] >= saved["nightly"]["indicators_seconds"]

    peer = saved["peer"]
    assert _positive(peer["ratio"])
    agreement = peer["agreement"]
    assert agreement["mismatches"] == 0, agreement["examples"]
    assert set(agreement["peer_counts"]) == set(INDICATORS)
    assert agreement["rows_compared"] > 0 and agreement["rows_compared"] % len(INDICATORS) == 0
    # the comparison is not vacuous: the indicators are computed for real businesses
    assert all(c["available"] > 0 for c in agreement["peer_counts"].values())

    assert (tmp_path / "bench" / "results.md").read_text(encoding="utf-8").startswith("| 300 × 30 |")
    assert "ratio pandas / Yocho" in table(result) and markdown_row(result).count("|") == 14
    steps = saved["memory"]["peak_rss_bytes_by_step"]
    assert set(steps) >= {"generate", "ingest", "scan_full_history", "train", "scan_incremental", "score", "flags"}
    assert 0 < saved["nightly"]["peak_rss_bytes"] <= saved["memory"]["peak_rss_bytes"]

    # a large-scale run: the portfolio generated beforehand, the model of the earlier run
    other = tmp_path / "other"
    generate_only(300, 30, other, seed=7)
    assert any((other / "bench" / "work" / "landing").rglob("*.csv"))
    again = run(300, 30, other, seed=7, memory_limit="1GB", peer_dates=1, reuse_portfolio=True,
                model_from=tmp_path / "bench" / "work" / "models")
    assert again["options"]["reused_portfolio"] and again["generated"]["generate_seconds"] is None
    assert again["indicators"]["full_history"] is None and again["training"] is None
    assert again["ingest"]["rows"] == saved["ingest"]["rows"]  # the same portfolio, seed for seed
    # the flag policy's hysteresis sees only the month-ends scanned (6 here), so flags may differ a little
    assert again["scoring"]["rows"] == saved["scoring"]["rows"] and again["flags"]["flagged"] > 0
    assert again["peer"]["agreement"]["mismatches"] == 0
    assert "not run" in markdown_row(again) and "not run" in table(again)
    assert not (other / "bench" / "work").exists()  # the portfolio is removed without --keep


def test_reusing_a_warehouse_that_ingested_nothing_is_refused(tmp_path):
    settings = load_settings().model_copy(update={"data_dir": tmp_path})
    with warehouse(settings) as con, pytest.raises(SystemExit, match="--reuse-warehouse: the warehouse has no ingested files"):
        _earlier_ingest(con)
