"""The real thing: a Prefect server, `prefect deploy --all` from prefect.yaml, a process
worker, and the `nightly-scan` deployment run end to end on a copy of a trained warehouse.

Slow (a server, a worker and a flow-run subprocess): CI runs it with `-m slow`.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.conftest import LAST_SCAN

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))
RUN_TIMEOUT = 300

# `prefect deploy` reads the pool's online workers after creating each deployment, and
# Prefect 3.8.8's client sends `"offset": null, "limit": null` to /workers/filter, which its
# own server refuses with 422, failing the command after the first deployment. The real CLI
# is run with only that request's paging filled in.
DEPLOY_CLI = """
import sys
from prefect.client.orchestration._work_pools import client as pools

original = pools.WorkPoolAsyncClient.read_workers_for_work_pool

async def read_workers_for_work_pool(self, work_pool_name, worker_filter=None, offset=None, limit=None):
    return await original(self, work_pool_name, worker_filter, offset or 0, limit or 200)

pools.WorkPoolAsyncClient.read_workers_for_work_pool = read_workers_for_work_pool
from prefect.cli import app
sys.argv[0] = "prefect"
sys.exit(app())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process this test started, and the process group it leads (its own children)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def prefect_env(tmp_path: Path, trained):
    """Environment for the server, the CLI and the worker: a throwaway Prefect home and
    database, and Yocho settings pointing at a copy of the trained warehouse and models."""
    data_dir = tmp_path / "data"
    shutil.copytree(trained.settings.data_dir, data_dir)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "YOCHO_"))}
    env.update({
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        # the scheduler looks for deployments to schedule every 5 s instead of every 60 s
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PREFECT_CLI_PROMPT": "false",
        "DO_NOT_TRACK": "1",
        "YOCHO_HOME": str(REPO),
        "YOCHO_DATA_DIR": str(data_dir),
        "YOCHO_TODAY": "2026-11-24",  # last completed month-end: 2026-10-31
        "YOCHO_DUCKDB_MEMORY_LIMIT": "2GB",
    })
    return env, port, data_dir


def _spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    out = log.open("wb")
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _cli(args: list[str], env: dict, prefect: tuple[str, ...] = (PREFECT,)) -> str:
    done = subprocess.run([*prefect, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_nightly_deployment_runs_on_a_process_worker(prefect_env, tmp_path):
    env, port, data_dir = prefect_env
    api = env["PREFECT_API_URL"]
    started: list[subprocess.Popen] = []
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    try:
        server_log = tmp_path / "server.log"
        server = _spawn([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, server_log)
        started.append(server)
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, f"server exited:\n{_tail(server_log)}"
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"server not healthy after 120 s:\n{_tail(server_log)}"
            time.sleep(0.5)
        timings["server"] = time.monotonic() - t0

        _cli(["work-pool", "create", "yocho-process", "--type", "process"], env)
        _cli(["--no-prompt", "deploy", "--all"], env, prefect=[sys.executable, "-c", DEPLOY_CLI])
        timings["deploy"] = time.monotonic() - t0

        with httpx.Client(base_url=api, timeout=30) as client:
            deployments = client.post("/deployments/filter", json={"limit": 50, "offset": 0}).raise_for_status().json()
            names = {d["name"] for d in deployments}
            assert {"nightly-scan", "monthly-training", "nightly-ingest", "nightly-score", "nightly-flags",
                    "daily-digest"} <= names
            nightly = client.get("/deployments/name/nightly/nightly-scan").raise_for_status().json()
            assert nightly["entrypoint"] == "flows/nightly.py:nightly"
            schedules = [s["schedule"] for s in nightly["schedules"]]
            assert [(s["cron"], s["timezone"]) for s in schedules] == [("0 3 * * *", "Asia/Tokyo")]

            # The server's own scheduler creates the 03:00 runs: nothing at night happens
            # without them (SQLAlchemy 2.1 broke it silently; manual runs still worked).
            deadline = time.monotonic() + 90
            while True:
                scheduled = client.post("/flow_runs/filter", json={
                    "limit": 20, "offset": 0,
                    "deployments": {"id": {"any_": [nightly["id"]]}},
                    "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
                }).raise_for_status().json()
                if scheduled:
                    break
                assert time.monotonic() < deadline, f"no scheduled run after 90 s:\n{_tail(server_log, 80)}"
                time.sleep(2)
            timings["scheduled"] = time.monotonic() - t0
            times = sorted(r["expected_start_time"] for r in scheduled)
            assert all(t.endswith(("T18:00:00Z", "T18:00:00+00:00")) for t in times), times  # 03:00 in Tokyo

            run = client.post(f"/deployments/{nightly['id']}/create_flow_run", json={}).raise_for_status().json()

            worker_log = tmp_path / "worker.log"
            started.append(_spawn([PREFECT, "worker", "start", "--pool", "yocho-process", "--type", "process"],
                                  env, worker_log))

            deadline = time.monotonic() + RUN_TIMEOUT
            while True:
                state = client.get(f"/flow_runs/{run['id']}").raise_for_status().json()["state"]
                if state and state["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
                    break
                assert time.monotonic() < deadline, (
                    f"flow run still {state and state['type']} after {RUN_TIMEOUT} s:\n{_tail(worker_log)}")
                time.sleep(2)
            timings["run"] = time.monotonic() - t0
        assert state["type"] == "COMPLETED", f"{state}\n{_tail(worker_log, 80)}"
    finally:
        for proc in reversed(started):
            _stop(proc)
        print("timings (s from start):", {k: round(v, 1) for k, v in timings.items()})

    # the queue changed: cases opened as of the last completed month-end
    with sqlite3.connect(data_dir / "queue.sqlite") as db:
        cases = db.execute("SELECT count(*) FROM cases").fetchone()[0]
    assert cases > 0
    import duckdb

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        scored = con.execute("SELECT count(*) FROM risk_scores WHERE as_of = ?", [LAST_SCAN]).fetchone()[0]
    assert scored > 1_000
    assert LAST_SCAN == date(2026, 10, 31)
