"""Generated portfolio through ingest: nothing silently dropped, every planted defect caught."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from yocho.settings import Settings
from yocho.warehouse.db import warehouse

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def ingested(generated) -> tuple[Settings, object, list]:
    return generated.settings, generated.summary, generated.outcomes


def test_every_generated_row_is_loaded_or_quarantined(ingested):
    settings, summary, outcomes = ingested
    assert outcomes and all(o.status == "loaded" for o in outcomes), [o.message for o in outcomes if o.message]
    for o in outcomes:
        assert o.rows_loaded + o.rows_quarantined == o.rows_total, o.path
    with warehouse(settings, read_only=True) as con:
        for feed, rows in summary.rows_per_feed.items():
            loaded = con.execute(f"SELECT count(*) FROM raw_{feed}").fetchone()[0]
            quarantined = con.execute(
                "SELECT count(DISTINCT (source_sha256, source_row)) FROM quarantine "
                "WHERE feed = ? AND source_row IS NOT NULL",
                [feed],
            ).fetchone()[0]
            assert loaded + quarantined == rows, feed
            assert loaded > 0, feed


def test_every_planted_defect_is_quarantined_at_its_row(ingested):
    settings, _, _ = ingested
    planted = pl.read_parquet(settings.data_dir / "truth" / "bad_rows.parquet")
    assert planted.height > 0
    with warehouse(settings, read_only=True) as con:
        caught = con.execute(
            "SELECT DISTINCT institution_id, feed, file_name, source_row FROM quarantine WHERE source_row IS NOT NULL"
        ).pl()
    names = planted.columns
    file_col = "file" if "file" in names else "file_name"
    row_col = "row" if "row" in names else "source_row"
    planted_keys = {
        (r["institution_id"] if "institution_id" in names else r["institution"], r["feed"], Path(r[file_col]).name, r[row_col])
        for r in planted.iter_rows(named=True)
    }
    caught_keys = {(r["institution_id"], r["feed"], Path(r["file_name"]).name, r["source_row"])
                   for r in caught.iter_rows(named=True)}
    missed = planted_keys - caught_keys
    assert not missed, sorted(missed)[:10]


def test_demo_command_runs_end_to_end(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "yocho.cli", "demo", "--businesses", "800", "--months", "36",
         "--data-dir", str(tmp_path / "demo")],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "rows loaded per feed" in out and "demo finished" in out
    assert "backtest on held-out months" in out and "risk bands as of 2026-10-31" in out
    assert list((tmp_path / "demo" / "models").glob("*/card.md"))
    assert "flagged as of 2026-10-31" in out and "referral queue:" in out
    assert "demo-intake.council_01" in out and (tmp_path / "demo" / "queue.sqlite").exists()
    # a few cases referred with consent, to the councils of more than one prefecture
    referred = re.search(r"(\d+) referrals at (\d+) councils", out)
    assert referred and int(referred.group(1)) >= 2 and int(referred.group(2)) >= 2, out[-3000:]
    assert (tmp_path / "demo" / "warehouse.duckdb").exists()
    assert (tmp_path / "demo" / "reports" / "validation.html").exists()
    # the sign summary stays short: one line counts the weak signs; the report holds the table
    assert "weak signs (弱い):" in out and "yocho indicators --quality" in out
    report = next((tmp_path / "demo" / "reports").glob("training-*.md")).read_text(encoding="utf-8")
    assert "## Warning signs: which come before events (兆候の識別力)" in report and "| `rep_dpd_30` |" in report


@pytest.mark.slow
def test_two_demos_on_two_data_dirs_run_side_by_side_and_a_third_command_is_told_to_wait(tmp_path: Path):
    """Two commands at once on a loaded machine: each starts its own Prefect temporary server
    and both finish; a command on a data directory another command holds exits at once with
    one line naming it."""
    def demo(name: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "yocho.cli", "demo", "--businesses", "800", "--months", "36",
             "--data-dir", str(tmp_path / name)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)

    first, second = demo("a"), demo("b")
    try:
        # wait until the first holds its data directory, then try a third command on it
        lock = tmp_path / "a" / ".yocho.lock"
        for _ in range(600):
            if lock.exists() and lock.read_text(encoding="utf-8").strip():
                break
            time.sleep(0.1)
        third = subprocess.run([sys.executable, "-m", "yocho.cli", "ingest", "--data-dir", str(tmp_path / "a")],
                               capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert third.returncode == 1
        lines = [line for line in third.stdout.splitlines() if line.strip()]
        assert len(lines) == 1 and f"(pid {first.pid}: yocho demo" in lines[0], third.stdout + third.stderr
        outputs = [p.communicate(timeout=1200)[0] for p in (first, second)]
    finally:
        for p in (first, second):
            if p.poll() is None:
                p.kill()
    for p, out in zip((first, second), outputs, strict=True):
        assert p.returncode == 0, out[-3000:]
        assert "demo finished" in out
