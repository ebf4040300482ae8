"""Scan flow: warning-sign indicators as of one or more dates, stored in the warehouse.

With `settings.scale_out.shards > 1` the computation is split by shard of businesses and
run on Dask (docs/scale-out.md): one task per shard, each reading the warehouse read-only
and writing Parquet, then one merge task that stores everything in one transaction.
"""
from __future__ import annotations

import shutil
import uuid
from datetime import date
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from features.partition import compute_shard, merge_shards
from features.scan import fired_counts, last_month_end, scan
from yocho import progress
from yocho.settings import Settings, load_settings
from yocho.warehouse.db import warehouse


def _summary(as_of: list[date], rows_written: int, businesses: int, counts) -> dict:
    return {
        "as_of": [d.isoformat() for d in sorted(as_of)],
        "rows_written": rows_written,
        "businesses": businesses,
        "counts": counts.to_dicts(),
    }


@task(retries=1, retry_delay_seconds=10)
def compute_indicators(settings: Settings, as_of: list[date]) -> dict:
    with warehouse(settings) as con:
        result = scan(con, as_of, settings.features)
    return _summary(result.as_of, result.rows_written, result.businesses, result.counts)


@task(retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE)
def compute_indicator_shard(
    warehouse_path: str, as_of: list[date], thresholds: dict[str, float], shard: int, shards: int,
    out_dir: str, memory_limit: str, threads: int, inactive_after_months: int,
) -> str:
    """One shard of businesses, on a Dask worker: reads the warehouse, writes Parquet."""
    return str(compute_shard(warehouse_path, as_of, thresholds, shard, shards, out_dir,
                             memory_limit=memory_limit, threads=threads,
                             inactive_after_months=inactive_after_months))


@task(cache_policy=NO_CACHE)
def merge_indicator_shards(settings: Settings, as_of: list[date], out_dir: str, shards: int) -> dict:
    """The one writer: every shard's results into the warehouse in one transaction."""
    with warehouse(settings) as con:
        written = merge_shards(con, out_dir, shards, dict(settings.features.thresholds))
        last = max(as_of)
        businesses = con.execute(
            "SELECT count(DISTINCT business_key) FROM indicator_results WHERE as_of = ?", [last]
        ).fetchone()[0]
        counts = fired_counts(con, last)
    shutil.rmtree(out_dir, ignore_errors=True)
    return _summary(as_of, written, businesses, counts)


def dask_task_runner(settings: Settings):
    """The Dask task runner the scale-out uses: the cluster at `dask_address`, else a
    LocalCluster of `local_workers` processes started for the run."""
    from prefect_dask import DaskTaskRunner

    scale = settings.scale_out
    if scale.dask_address:
        return DaskTaskRunner(address=scale.dask_address)
    return DaskTaskRunner(cluster_kwargs={
        "n_workers": scale.local_workers, "processes": True, "threads_per_worker": 1,
        "memory_limit": scale.local_worker_memory, "dashboard_address": None,
    })


@flow(name="scan-sharded")
def scan_sharded_flow(as_of: list[date], settings: Settings) -> dict:
    """Run through `scan_sharded(...)`, which sets the Dask task runner."""
    shards = settings.scale_out.shards
    with warehouse(settings):
        pass  # the schema is current before the read-only readers start
    out_dir = (settings.data_dir / "scan-shards" / uuid.uuid4().hex).resolve()
    futures = [
        compute_indicator_shard.submit(
            str(Path(settings.warehouse_path).resolve()), sorted(as_of), dict(settings.features.thresholds),
            shard, shards, str(out_dir), settings.duckdb_memory_limit, settings.duckdb_threads,
            settings.features.inactive_after_months,
        )
        for shard in range(shards)
    ]
    with progress.task("指標をシャード別に計算 / computing indicator shards", total=shards) as reporter:
        for future in futures:
            future.result()  # raises the first shard's failure
            reporter.advance()
    # called, not submitted: the merge runs in the flow's process, next to the warehouse
    return merge_indicator_shards(settings, sorted(as_of), str(out_dir), shards)


def scan_sharded(as_of: list[date], settings: Settings) -> dict:
    return scan_sharded_flow.with_options(task_runner=dask_task_runner(settings))(as_of, settings)


@flow(name="scan")
def scan_flow(as_of: list[date] | None = None, settings: Settings | None = None) -> dict:
    """Indicators as of the given dates (default: the last completed month-end)."""
    settings = settings or load_settings()
    dates = as_of or [last_month_end(settings.effective_today())]
    if settings.scale_out.shards > 1:
        summary = scan_sharded(dates, settings)
    else:
        summary = compute_indicators(settings, dates)
    create_markdown_artifact(key="scan-indicators", markdown=counts_markdown(summary))
    return summary


def counts_markdown(summary: dict) -> str:
    lines = [f"Indicators as of {summary['as_of'][-1]} ({summary['businesses']:,} businesses)", "",
             "| indicator | 指標 | severity | fired | available |", "|---|---|---|---:|---:|"]
    lines += [f"| {c['indicator_id']} | {c['ja']} | {c['severity']} | {c['fired']:,} | {c['available']:,} |"
              for c in summary["counts"]]
    return "\n".join(lines)
