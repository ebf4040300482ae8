"""A night that crashes part-way, then runs again, leaves the warehouse and the referral
queue exactly as one clean night would.

The crash is real: the nightly flow runs in a child process that dies with `os._exit`
(no rollback, no `finally`, no flush: what a killed worker or a lost machine leaves) at a
chosen point, in the middle of a write transaction where there is one. The same night is
then run again in this process, and both stores are compared, table by table and row by
row, with a copy of the same starting state that ran the night once without a crash.
Only wall-clock columns (ingested_at, computed_at, taken_at ...) may differ.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from prefect.settings import PREFECT_API_URL

from flows.nightly import nightly
from tests.landing_files import corporate_number, write_csv
from tests.test_ingest import JA_HEADER, _good_rows
from tests.test_nightly import _copy_of_trained, prefect_server  # noqa: F401  (module fixture)
from yocho.settings import Settings
from yocho.warehouse.db import warehouse

ROOT = Path(__file__).resolve().parents[1]

# Where the child dies. Each patch replaces (or wraps) a function the night calls at that
# point with `die`, which exits the process; the comments say what is half-done then.
CRASH_POINTS = {
    # the second file's rows, quarantine and GX results are written, its COMMIT never comes
    "ingest_mid_file": """
        import yocho.ingest.load as m
        real, calls = m._insert_file, []
        def patched(*a, **k):
            real(*a, **k)
            calls.append(1)
            if len(calls) == 2:
                die()
        m._insert_file = patched
    """,
    # indicator_values for the night deleted and re-inserted, the panel not yet, no COMMIT
    "indicators_mid_store": """
        import features.store as m
        m._panel_is_current = die
    """,
    # scores committed, the queue not touched
    "between_scores_and_flags": """
        import signals.refresh as m
        m.flags_as_of = die
    """,
    # cases, snapshots, institutions and audit rows inserted, the queue's COMMIT never comes
    "queue_mid_transaction": """
        from signals.queue.store import QueueStore
        QueueStore._wake_due = die
    """,
    # everything committed, the run dies before its summary: the re-run applies the same night again
    "after_queue_commit": """
        import flows.nightly as m
        m.nightly_markdown = die
    """,
}

DRIVER = """
import os, sys
from yocho.settings import Settings
settings = Settings.model_validate_json(open(sys.argv[1], encoding="utf-8").read())

def die(*args, **kwargs):
    os._exit(9)  # no rollback, no finally, no flush
{patch}
from flows.nightly import nightly
nightly(settings=settings)
sys.exit(3)  # the crash point was never reached
"""


def _night_files(settings: Settings) -> None:
    """Tonight's deliveries: two good files and one the ingest rejects whole."""
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "night-a.csv", JA_HEADER, _good_rows(6, start=960_000))
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "night-b.csv", JA_HEADER, _good_rows(5, start=961_000))
    broken = [[f"GX{i}", "C1", corporate_number(i), "0116", "2024-03", "x", "正常", "2024-04-15"] for i in range(5)]
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "night-broken.csv", JA_HEADER,
              broken + _good_rows(20, start=962_000))


def _crash(settings: Settings, point: str, tmp_path: Path) -> subprocess.CompletedProcess:
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(settings.model_dump_json(), encoding="utf-8")
    script = tmp_path / "crash_night.py"
    script.write_text(DRIVER.format(patch=textwrap.dedent(CRASH_POINTS[point])), encoding="utf-8")
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(script), str(settings_file)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def _warehouse_tables(settings: Settings) -> dict[str, pl.DataFrame]:
    """Every warehouse table without its wall-clock columns, sorted, paths made relative."""
    prefix = str(settings.data_dir)
    out = {}
    with warehouse(settings, read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
        for table in tables:
            columns = [c for c, kind in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                "AND table_schema = 'main' ORDER BY ordinal_position", [table]).fetchall()
                if not kind.startswith("TIMESTAMP")]
            quoted = ", ".join(f'"{c}"' for c in columns)
            frame = con.execute(f"SELECT {quoted} FROM {table} ORDER BY ALL").pl()
            out[table] = frame.with_columns(pl.col(pl.Utf8).str.replace(prefix, "<data>", literal=True))
    return out


def _queue_tables(settings: Settings) -> dict[str, pl.DataFrame]:
    out = {}
    with sqlite3.connect(settings.data_dir / "queue.sqlite") as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]
        for table in tables:
            columns = [name for _, name, kind, *_ in db.execute(f"PRAGMA table_info({table})")
                       if "DATETIME" not in kind.upper() and "TIMESTAMP" not in kind.upper()]
            quoted = ", ".join(f'"{c}"' for c in columns)
            rows = db.execute(f"SELECT {quoted} FROM {table} ORDER BY {', '.join(map(str, range(1, len(columns) + 1)))}").fetchall()
            out[table] = pl.DataFrame([list(r) for r in rows], schema=columns, orient="row",
                                      infer_schema_length=None)
    return out


def _cases(settings: Settings) -> int:
    if not (settings.data_dir / "queue.sqlite").exists():
        return 0
    return _queue_tables(settings).get("cases", pl.DataFrame()).height


def _assert_same(expected: dict[str, pl.DataFrame], got: dict[str, pl.DataFrame], store: str) -> None:
    assert sorted(got) == sorted(expected), f"{store}: tables differ"
    for table, frame in expected.items():
        assert got[table].height == frame.height, f"{store}.{table}: {got[table].height} rows, expected {frame.height}"
        try:
            assert_frame_equal(got[table], frame, check_dtypes=False)
        except AssertionError as exc:
            raise AssertionError(f"{store}.{table} differs from the clean night: {exc}") from None


@pytest.fixture(scope="module")
def clean_night(prefect_server, trained, tmp_path_factory):  # noqa: F811
    """The same night, run once without a crash."""
    settings = _copy_of_trained(trained, tmp_path_factory.mktemp("clean"))
    _night_files(settings)
    night = nightly(settings=settings)
    assert night["flags"]["applied"]["opened"] > 0 and night["scores"]["rows_written"] > 0
    assert {Path(f["path"]).name: f["status"] for f in night["files"]} == {
        "night-a.csv": "loaded", "night-b.csv": "loaded", "night-broken.csv": "rejected"}
    return _warehouse_tables(settings), _queue_tables(settings)


# The default run keeps one crash inside ingest and the one after the queue commit (the guard
# whose removal the test was shown to catch); every crash point runs with -m slow.
DEFAULT_POINTS = ("after_queue_commit", "ingest_mid_file")


@pytest.mark.parametrize("point", [p if p in DEFAULT_POINTS else pytest.param(p, marks=pytest.mark.slow)
                                   for p in sorted(CRASH_POINTS)])
def test_a_crashed_night_run_again_equals_one_clean_night(point, clean_night, trained, tmp_path):
    settings = _copy_of_trained(trained, tmp_path)
    _night_files(settings)
    cases_before = _cases(settings)

    crashed = _crash(settings, point, tmp_path)
    assert crashed.returncode == 9, f"the night did not crash at {point}:\n{crashed.stdout[-3000:]}\n{crashed.stderr[-3000:]}"

    if point != "after_queue_commit":  # the crash came before the queue's COMMIT: no new case is visible
        assert _cases(settings) == cases_before
    else:
        assert _cases(settings) > cases_before
    again = nightly(settings=settings)
    assert again["flags"] is not None

    expected_warehouse, expected_queue = clean_night
    _assert_same(expected_warehouse, _warehouse_tables(settings), "warehouse")
    _assert_same(expected_queue, _queue_tables(settings), "queue")
