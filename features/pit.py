"""Point-in-time inputs shared by every family's SQL.

Before the families run, three temporary tables are built on the connection:

- `as_of_dates(as_of DATE)`: the dates to compute, all in one pass.
- `business_keys(institution_id, local_id, business_key)`: one business across
  institutions. A business with a 法人番号 is keyed by it (13 digits), so the same
  company at three banks and the association is one business; a sole proprietor
  (個人事業主) has no 法人番号 and stays `<institution_id>:<local_id>`. The mapping uses
  every row ever received: an identity carries no information about the business's
  health, and a number learnt later should still join the earlier rows.
- `known_by(business_key, institution_id, first_received)`: when each institution first
  sent anything about the business (its first row received, outcome events aside).
- `universe(business_key, as_of)`: the businesses known by each as-of date, i.e. with
  at least one row of any feed received on or before it. The outcome events (labels)
  do not count: a business known only from its default is not one anybody monitored.

With `shard=(i, n)` the three business tables are restricted to one shard: the businesses
whose `hash(business_key) % n = i` (`shard_predicate`). A business and all its rows are in
one shard, so every indicator (the cross-institution ones included, which work per
business_key) is the same as in the full computation. `business_keys` also keeps the
identities that share a versioned record (a loan, guarantee, incident, observation ...) with
a shard business: a correction may move a record to another business, and the version
windows must still see every version. Those neighbours never reach `known_by`/`universe`,
so nothing is computed for them (features/partition.py).

Family SQL then applies the rule every indicator obeys: as of T only rows with
received_on <= T are used, and where a row was sent again (a correction, same key,
later received_on) the latest version received by T wins.
"""
from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from yocho.contract import FEEDS


def _union_of(columns: str, *, labels: bool = True) -> str:
    feeds = [f for f in FEEDS.values() if labels or f.name != "events"]
    return "\nUNION ALL\n".join(f"SELECT {columns} FROM {feed.table}" for feed in feeds)


def shard_predicate(column: str, shard: tuple[int, int]) -> str:
    """SQL true for the rows whose business key `column` falls in shard (index, count)."""
    index, count = _checked(shard)
    return f"hash({column}) % {count} = {index}"


def _checked(shard: tuple[int, int]) -> tuple[int, int]:
    index, count = (int(x) for x in shard)
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard must be (index, count) with 0 <= index < count, got {shard!r}")
    return index, count


def _record_ids() -> str:
    """(institution_id, feed, record id, local_id) of every feed whose rows are versioned by
    a record id of their own rather than by the business (loans, guarantees, incidents ...)."""
    selects = [
        f"SELECT institution_id, '{feed.name}' AS feed, {feed.key[0]}::VARCHAR AS record_id, local_id FROM {feed.table}"
        for feed in FEEDS.values() if feed.key[0] != "local_id"
    ]
    return "\nUNION ALL\n".join(selects)


def build_business_keys(con: duckdb.DuckDBPyConnection, shard: tuple[int, int] | None = None) -> None:
    mapping = f"""
        SELECT institution_id, local_id,
               coalesce(max(corporate_number), institution_id || ':' || local_id) AS business_key
        FROM ({_union_of("institution_id, local_id, corporate_number")})
        GROUP BY institution_id, local_id
        """
    if shard is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE business_keys AS {mapping}")
        return
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE business_keys AS
        WITH all_keys AS ({mapping}),
        mine AS (SELECT institution_id, local_id FROM all_keys WHERE {shard_predicate("business_key", shard)}),
        records AS ({_record_ids()}),
        linked AS (
            SELECT DISTINCT o.institution_id, o.local_id
            FROM (SELECT DISTINCT r.institution_id, r.feed, r.record_id FROM records r SEMI JOIN mine USING (institution_id, local_id)) m
            JOIN records o USING (institution_id, feed, record_id)
        )
        SELECT k.* FROM all_keys k
        WHERE (k.institution_id, k.local_id) IN (SELECT (institution_id, local_id) FROM mine)
           OR (k.institution_id, k.local_id) IN (SELECT (institution_id, local_id) FROM linked)
        """
    )


def prepare(con: duckdb.DuckDBPyConnection, as_of: list[date], shard: tuple[int, int] | None = None) -> None:
    """Build the point-in-time tables; `shard=(index, count)` restricts them to one shard."""
    dates = pl.DataFrame({"as_of": sorted(set(as_of))}, schema={"as_of": pl.Date})
    con.register("as_of_input", dates.to_arrow())
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE as_of_dates AS SELECT as_of FROM as_of_input")
    finally:
        con.unregister("as_of_input")
    build_business_keys(con, shard)
    in_shard = f"WHERE {shard_predicate('k.business_key', shard)}" if shard is not None else ""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE known_by AS
        SELECT k.business_key, r.institution_id, min(r.received_on) AS first_received
        FROM ({_union_of("institution_id, local_id, received_on", labels=False)}) r
        JOIN business_keys k USING (institution_id, local_id)
        {in_shard}
        GROUP BY ALL
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE universe AS
        WITH first_seen AS (
            SELECT business_key, min(first_received) AS first_received FROM known_by GROUP BY ALL
        )
        SELECT f.business_key, a.as_of
        FROM first_seen f JOIN as_of_dates a ON f.first_received <= a.as_of
        """
    )
