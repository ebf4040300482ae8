"""Which data folder a `yocho` command reads when given none, and what it says when there is
no data: the real command, run in a fresh working directory."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from yocho import data_folder
from yocho.settings import Settings
from yocho.warehouse.db import warehouse


def yocho(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real `yocho` command, as a newcomer runs it: no YOCHO_DATA_DIR, no config file."""
    env = {k: v for k, v in os.environ.items() if k not in ("YOCHO_DATA_DIR", "YOCHO_CONFIG")}
    return subprocess.run([sys.executable, "-m", "yocho.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def empty_warehouse(folder: Path) -> Path:
    """A warehouse with its schema and no rows, as an ingest of no files leaves it."""
    with warehouse(Settings(data_dir=folder, duckdb_memory_limit="1GB")):
        pass
    return folder / "warehouse.duckdb"


@pytest.mark.parametrize("command", [["summary"], ["scan", "--as-of", "2026-10-31"], ["train"],
                                     ["score", "--as-of", "2026-10-31"], ["flags", "--as-of", "2026-10-31"],
                                     ["indicators", "--quality"]], ids=lambda c: c[0])
def test_a_reading_command_with_no_data_stops_at_once_and_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    result = yocho(tmp_path, *command)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "no warehouse at data/warehouse.duckdb (also looked in data/demo)" in lines[0]
    assert "--data-dir" in lines[0] and "python3 run.py demo" in lines[0]
    assert not (tmp_path / "data").exists()  # nothing created: no folder, no empty warehouse


def test_summary_on_an_empty_folder_names_it_and_leaves_no_warehouse(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = yocho(tmp_path, "summary", "--data-dir", "empty")
    assert result.returncode == 1
    assert "no warehouse at empty/warehouse.duckdb" in result.stderr and "--data-dir" in result.stderr
    assert "also looked" not in result.stderr  # a folder given is the only place looked at
    assert not (tmp_path / "empty" / "warehouse.duckdb").exists()
    assert not (tmp_path / "empty" / ".prefect").exists()


def test_serve_with_no_queue_stops_at_once_and_creates_none(tmp_path: Path) -> None:
    result = yocho(tmp_path, "serve", "--data-dir", "nothing", "--insecure-demo-secret")
    assert result.returncode == 1
    assert "no referral queue at nothing/queue.sqlite" in result.stderr and "--data-dir" in result.stderr
    assert not (tmp_path / "nothing").exists()


def test_the_demo_folder_is_found_when_data_holds_no_warehouse(tmp_path: Path) -> None:
    empty_warehouse(tmp_path / "data" / "demo")
    result = yocho(tmp_path, "summary")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "data folder: data/demo" in result.stderr
    assert "validation report: data/demo/reports/validation.html" in result.stdout
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()


def test_the_remembered_folder_is_found_before_the_others(tmp_path: Path, monkeypatch) -> None:
    for name in ("demo", "small"):
        empty_warehouse(tmp_path / "data" / name)
    monkeypatch.chdir(tmp_path)
    assert data_folder.remember(Path("data/small")) == Path("data/.yocho-default")
    assert data_folder.remember(tmp_path.parent) is None  # outside ./data: not remembered
    result = yocho(tmp_path, "summary")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "data folder: data/small (the last one a demo or ingest wrote" in result.stderr
    assert "validation report: data/small/reports/validation.html" in result.stdout
    # a folder given wins, and a remembered folder without a warehouse is passed over
    assert "data/demo/reports" in yocho(tmp_path, "summary", "--data-dir", "data/demo").stdout
    (tmp_path / "data" / "small" / "warehouse.duckdb").unlink()
    assert "data/demo/reports" in yocho(tmp_path, "summary").stdout


@pytest.mark.slow
def test_an_ingest_is_remembered_by_the_next_command(tmp_path: Path) -> None:
    """The real ingest (a Prefect flow: its temporary server takes most of the ~40 s)."""
    empty_warehouse(tmp_path / "data" / "demo")
    ingest = yocho(tmp_path, "ingest", "--data-dir", "data/small", timeout=600)
    assert ingest.returncode == 0, ingest.stdout[-2000:] + ingest.stderr[-2000:]
    assert (tmp_path / "data" / ".yocho-default").read_text().strip() == "small"
    result = yocho(tmp_path, "summary")
    assert result.returncode == 0 and "data/small/reports/validation.html" in result.stdout, result.stderr


def test_flags_without_scores_for_the_date_stops_before_any_flow(tmp_path: Path) -> None:
    folder = tmp_path / "wh"
    empty_warehouse(folder)
    started = time.monotonic()
    result = yocho(tmp_path, "flags", "--as-of", "2026-10-31", "--data-dir", "wh")
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("no risk scores as of 2026-10-31 in wh/warehouse.duckdb: score that date first "
            "(yocho score --as-of 2026-10-31 --data-dir wh)") in result.stderr
    assert not (folder / ".prefect" / "prefect.db").exists()  # Prefect's server never started
    assert elapsed < 20, elapsed  # formerly 92 s: the server's start and the task's retry first

    # with other dates scored, it names them
    import duckdb
    con = duckdb.connect(str(folder / "warehouse.duckdb"))
    con.execute("INSERT INTO risk_scores VALUES ('b1', ?, 0.1, 'high', 1, 1.0, 0, false, 'v1', '[]', now())",
                [date(2026, 9, 30)])
    con.close()
    result = yocho(tmp_path, "flags", "--as-of", "2026-10-31", "--data-dir", "wh")
    assert result.returncode == 1
    assert "scored dates: 2026-09-30 … 2026-09-30 (1), e.g. yocho flags --as-of 2026-09-30 --data-dir wh" \
        in result.stderr
