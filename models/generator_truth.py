"""Reading the synthetic generator's ground truth (yocho/generator/truth.py) for evaluation.

The generator writes what really happened next to the landing files, in `<data dir>/truth/`;
it is never ingested. When a data folder has it (the demo, tests), the watch-list comparison
(models/budget_comparison.py) measures the model against the best ranking the generator's
own state allows. Nothing here is used to train or score a model.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

HEALTH_FILE = "health_monthly.parquet"
NEEDED = ("businesses.parquet", "links.parquet", HEALTH_FILE)


def has_truth(folder: Path | None) -> bool:
    """The folder holds the generator's truth with its monthly latent health."""
    return folder is not None and all((Path(folder) / name).is_file() for name in NEEDED)


def key_map(con: duckdb.DuckDBPyConnection, folder: Path) -> pl.DataFrame:
    """business_id (the generator's) → business_key (the warehouse's), through the local ids
    each institution sent (links.parquet) and the warehouse's own keying (business_identity,
    yocho/warehouse/pit.py): a company is one key (its 法人番号), a sole proprietor one key per
    institution."""
    keys = con.execute("SELECT institution_id, local_id, business_key FROM business_identity").pl()
    links = pl.read_parquet(Path(folder) / "links.parquet", columns=["business_id", "institution_id", "local_id"])
    return (links.join(keys, on=["institution_id", "local_id"])
            .select("business_id", "business_key").unique()
            # a key belongs to one business; should a defect ever join two, the first id wins
            .sort("business_key", "business_id").unique("business_key", keep="first"))


def latent_health(con: duckdb.DuckDBPyConnection, folder: Path) -> pl.DataFrame:
    """business_key, as_of (month-end), h, monthly_hazard: the generator's latent health of
    each warehouse business in each month, the month-end being when that month is known, and
    the business's monthly hazard of a deterioration event before industry shocks."""
    folder = Path(folder)
    health = pl.read_parquet(folder / HEALTH_FILE, columns=["business_id", "month", "h"]).with_columns(
        as_of=pl.col("month").dt.month_end(), h=pl.col("h").cast(pl.Float64))
    hazard = pl.read_parquet(folder / "businesses.parquet", columns=["business_id", "monthly_hazard"])
    return (key_map(con, folder).join(health.drop("month"), on="business_id")
            .join(hazard, on="business_id").drop("business_id").sort("business_key", "as_of"))
