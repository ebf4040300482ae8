"""The scan split by shard of businesses, for running on several processes or machines.

A shard is the set of businesses whose `hash(business_key) % shards` is its index
(`features.pit.shard_predicate`). A business and every row about it are in one shard, so
each shard computes its businesses' indicators exactly as the full scan would, the
cross-institution ones included; the signs with an industry-relative threshold compare a
business with its whole trade, so the merge decides them (features/peers.py).

- `compute_shard` opens the warehouse READ-ONLY (any number of processes may read one
  DuckDB file at once), computes one shard and writes its `indicator_results` as Parquet
  under `<out_dir>/shard=<index>/`. Nothing is written to the warehouse.
- `merge_shards` runs once, on the one writer: it loads every shard's Parquet into
  `indicator_results` and stores it with `features.store.store` (one transaction).

flows/scan.py runs one task per shard on Dask, then the merge (docs/scale-out.md).
"""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb

from features import compute as compute_module
from features import peers
from features.catalog import threshold_values
from features.store import store

RESULT_SCHEMA = (
    "business_key VARCHAR, as_of DATE, indicator_id VARCHAR, value DOUBLE, available BOOLEAN, "
    "fired BOOLEAN, evidence VARCHAR, family VARCHAR, severity VARCHAR"
)
_FILE = "indicator_results.parquet"


def shard_dir(out_dir: str | Path, shard: int) -> Path:
    return Path(out_dir) / f"shard={shard}"


def compute_shard(
    warehouse_path: str | Path,
    as_of: list[date],
    thresholds: dict[str, float] | None,
    shard: int,
    shards: int,
    out_dir: str | Path,
    *,
    memory_limit: str = "2GB",
    threads: int = 1,
    dates_per_pass: int = 6,
    inactive_after_months: int = compute_module.pit.INACTIVE_AFTER_MONTHS,
) -> Path:
    """Compute shard `shard` of `shards` and write it to `<out_dir>/shard=<shard>/`.
    Returns the Parquet file written. Safe to rerun (a retry replaces the shard's file)."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")
    target = shard_dir(out_dir, shard)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    con = duckdb.connect(
        str(warehouse_path), read_only=True, config={"memory_limit": memory_limit, "threads": threads}
    )
    try:
        con.execute("SET enable_progress_bar = false")
        compute_module.compute(con, as_of, thresholds, dates_per_pass=dates_per_pass, shard=(shard, shards),
                               inactive_after_months=inactive_after_months)
        path = target / _FILE
        # written under a temporary name first: a half-written file never looks like a shard
        partial = target / (_FILE + ".partial")
        con.execute(
            f"COPY (SELECT * FROM indicator_results ORDER BY business_key, as_of, indicator_id) "
            f"TO '{_sql_path(partial)}' (FORMAT parquet)"
        )
        partial.rename(path)
    finally:
        con.close()
    return path


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def load_shards(con: duckdb.DuckDBPyConnection, out_dir: str | Path, shards: int | None = None) -> int:
    """Fill temp table `indicator_results` from every shard's Parquet under `out_dir`.
    With `shards`, refuse unless exactly shards 0..shards-1 are there. Returns the rows."""
    files = sorted(Path(out_dir).glob(f"shard=*/{_FILE}"))
    found = sorted(int(f.parent.name.split("=", 1)[1]) for f in files)
    if shards is not None and found != list(range(shards)):
        raise RuntimeError(f"expected shards 0..{shards - 1} under {out_dir}, found {found}")
    if not files:
        raise RuntimeError(f"no shard results under {out_dir}")
    listed = ", ".join(f"'{_sql_path(f)}'" for f in files)
    columns = [c.split()[0] for c in RESULT_SCHEMA.split(", ")]
    con.execute(f"CREATE OR REPLACE TEMP TABLE indicator_results ({RESULT_SCHEMA})")
    con.execute(
        f"INSERT INTO indicator_results SELECT {', '.join(columns)} "
        f"FROM read_parquet([{listed}], hive_partitioning = false)"
    )
    duplicated = con.execute(
        "SELECT count(*) FROM (SELECT business_key, as_of, indicator_id FROM indicator_results "
        "GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone()[0]
    if duplicated:
        raise RuntimeError(f"{duplicated} (business, date, indicator) rows are in more than one shard")
    return con.execute("SELECT count(*) FROM indicator_results").fetchone()[0]


def merge_shards(
    con: duckdb.DuckDBPyConnection, out_dir: str | Path, shards: int | None = None,
    thresholds: dict[str, float] | None = None,
) -> int:
    """Load every shard's results, decide the industry-relative signs over all of them
    (`features.peers`, with the same `thresholds` overrides the shards used) and store them
    (`features.store.store`: the long table and the panel, one transaction). `con` is the one writing connection. Returns rows written."""
    load_shards(con, out_dir, shards)
    # the industry-relative thresholds need every shard's businesses (features/peers.py)
    peers.apply(con, threshold_values(thresholds))
    return store(con)
