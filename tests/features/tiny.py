"""A tiny in-memory warehouse for indicator tests: rows written by hand, results by key."""
from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from features.catalog import Family
from features.compute import compute, results
from yocho.contract import DUCKDB_TYPE, FEEDS
from yocho.warehouse import pit
from yocho.warehouse.db import migrate

_POLARS = {"VARCHAR": pl.Utf8, "BIGINT": pl.Int64, "INTEGER": pl.Int32, "DOUBLE": pl.Float64,
           "BOOLEAN": pl.Boolean, "DATE": pl.Date}


class Tiny:
    def __init__(self) -> None:
        self.con = duckdb.connect()
        migrate(self.con)
        pit.install(self.con)

    def add(self, feed_name: str, institution_id: str, *rows: dict) -> Tiny:
        """Insert rows into raw_<feed>; columns left out are NULL (so required ones must be given)."""
        feed = FEEDS[feed_name]
        schema = {c.name: _POLARS[DUCKDB_TYPE[c.kind]] for c in feed.columns}
        unknown = {k for r in rows for k in r} - schema.keys()
        assert not unknown, f"{feed_name} has no column(s) {unknown}"
        frame = pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)
        frame = frame.with_columns(
            institution_id=pl.lit(institution_id),
            source_sha256=pl.lit("test"),
            source_row=pl.int_range(2, frame.height + 2, dtype=pl.Int32),
        )
        self.con.register("tiny_rows", frame.to_arrow())
        pit.append(self.con, feed, "tiny_rows")
        self.con.unregister("tiny_rows")
        return self

    def run(self, *as_of: date, family: Family | None = None, thresholds: dict | None = None) -> dict:
        """{(business_key, as_of, indicator_id): row} for the dates given."""
        compute(self.con, list(as_of), thresholds, [family] if family else None)
        return {(r["business_key"], r["as_of"], r["indicator_id"]): r for r in results(self.con).iter_rows(named=True)}
