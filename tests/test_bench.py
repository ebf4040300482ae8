"""The benchmark harness at a tiny scale: every measurement present, the pandas peer agreeing
with Yocho. No timing thresholds: figures at this scale mean nothing (docs/benchmarks.md)."""
from __future__ import annotations

import json
import math
import re
import shutil
from datetime import date

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
        saved["nightly"]["total_seconds"], saved["nightly"]["ingest_one_month_seconds"],
        saved["memory"]["peak_rss_bytes"], saved["peer"]["pandas_seconds"], saved["peer"]["yocho_seconds"],
    ):
        assert _positive(figure)
    assert saved["indicators"]["full_history"]["dates"] == 30
    # the night's figures are also kept on their own before the pandas peer runs
    night = json.loads((tmp_path / "bench" / "night.json").read_text(encoding="utf-8"))
    assert all(_positive(night["seconds"][step]) for step in ("ingest_night", "scan_incremental", "score", "flags"))
    assert night["seconds"]["flags"] == saved["flags"]["seconds"]
    assert night["seconds"]["score"] == saved["scoring"]["seconds"]
    assert night["flagged"] == saved["flags"]["flagged"]
    assert saved["duckdb"]["memory_limit"]  # the limit in force, as DuckDB reports it
    assert saved["machine"]["cpu_count"] >= 1 and saved["machine"]["versions"]["duckdb"]
    assert saved["nightly"]["total_seconds"] >= saved["nightly"]["indicators_seconds"]

    # the night's ingest is measured on the month's own delivery: the files of the month after
    # the history (one per institution, feed and month of receipt), loaded after everything else
    night = saved["nightly"]
    assert night["month"] == "2026-10" and night["ingest_one_month_measured"] == "timed in this run"
    assert "note" not in night and "ingest_one_month_seconds_estimated" not in night
    assert _positive(night["ingest_one_month_files"]) and _positive(night["ingest_one_month_rows"])
    assert night["ingest_one_month_files"] == saved["generated"]["night_files"]
    assert night["total_seconds"] == pytest.approx(night["ingest_one_month_seconds"] + night["indicators_seconds"]
                                                   + night["score_seconds"] + night["flags_seconds"])
    assert saved["ingest"]["files"] + night["ingest_one_month_files"] == saved["generated"]["files"]
    assert saved["ingest"]["rows"] + night["ingest_one_month_rows"] == sum(saved["generated"]["rows_per_feed"].values())
    with warehouse(load_settings().model_copy(update={"data_dir": tmp_path / "bench" / "work"})) as con:
        names = [n for (n,) in con.execute("SELECT file_name FROM ingested_files").fetchall()]
        history_done, night_began = con.execute(
            "SELECT max(ingested_at) FILTER (WHERE strpos(file_name, '_M') = 0), "
            "min(ingested_at) FILTER (WHERE strpos(file_name, '_M') > 0) FROM ingested_files").fetchone()
        received = con.execute(
            "SELECT min(received_on), max(received_on) FROM raw_loans WHERE source_sha256 IN "
            "(SELECT sha256 FROM ingested_files WHERE strpos(file_name, '_M') > 0)").fetchone()
    monthly = [n for n in names if "_M" in n]
    assert len(monthly) == night["ingest_one_month_files"]
    assert all(re.fullmatch(r"[a-z_0-9]+/[a-z_]+/[a-z_]+_M202610_c\d{3}\.(csv|parquet)", n) for n in monthly), monthly
    assert history_done <= night_began  # the night's files come after the whole history
    assert date(2026, 10, 1) <= received[0] <= received[1] <= date(2026, 10, 21)  # received that month
    assert {n.split("/")[0] for n in monthly} == {"bank_0116", "bank_0117", "bank_0119", "cga_01"}

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
    assert set(steps) >= {"generate", "ingest", "ingest_night", "scan_full_history", "train", "scan_incremental",
                          "score", "flags"}
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
    # --generate-only writes the month's delivery in files of its own too: the night is measured
    assert again["nightly"]["ingest_one_month_files"] == night["ingest_one_month_files"]
    assert again["nightly"]["ingest_one_month_rows"] == night["ingest_one_month_rows"]
    assert _positive(again["nightly"]["ingest_one_month_seconds"])
    # the flag policy's hysteresis sees only the month-ends scanned (6 here), so flags may differ a little
    assert again["scoring"]["rows"] == saved["scoring"]["rows"] and again["flags"]["flagged"] > 0
    assert again["peer"]["agreement"]["mismatches"] == 0
    assert "not run" in markdown_row(again) and "not run" in table(again)
    assert not (other / "bench" / "work").exists()  # the portfolio is removed without --keep

    # --reuse-warehouse on the first run's warehouse: the month is loaded already, so the night's
    # ingest is reported as not measured (never estimated), the history's figures without it
    shutil.copytree(tmp_path / "bench" / "work" / "models", tmp_path / "models")
    reused = run(300, 30, tmp_path, seed=7, memory_limit="1GB", peer_dates=1, look_back=0, reuse_warehouse=True,
                 model_from=tmp_path / "models")
    assert reused["ingest"]["files"] == saved["ingest"]["files"] and reused["ingest"]["rows"] == saved["ingest"]["rows"]
    assert reused["nightly"]["ingest_one_month_seconds"] is None
    assert reused["nightly"]["ingest_one_month_measured"].startswith("not measured")
    assert reused["nightly"]["ingest_one_month_files"] == night["ingest_one_month_files"]  # as loaded before
    assert reused["nightly"]["total_seconds"] == pytest.approx(
        reused["nightly"]["indicators_seconds"] + reused["nightly"]["score_seconds"] + reused["nightly"]["flags_seconds"])
    assert "ingest not measured" in markdown_row(reused) and markdown_row(reused).count("|") == 14
    assert "not measured" in table(reused)


def test_reusing_a_warehouse_that_ingested_nothing_is_refused(tmp_path):
    settings = load_settings().model_copy(update={"data_dir": tmp_path})
    with warehouse(settings) as con, pytest.raises(SystemExit, match="--reuse-warehouse: the warehouse has no ingested files"):
        _earlier_ingest(con)
