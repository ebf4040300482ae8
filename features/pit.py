"""Point-in-time inputs shared by every family's SQL.

Before the families run, these temporary tables are built on the connection:

- `as_of_dates(as_of DATE)`: the dates to compute, all in one pass.
- `business_keys(institution_id, local_id, business_key)`: one business across
  institutions, read from the identity the point-in-time layer keeps at ingest
  (yocho/warehouse/pit.py `business_identity`, where the rule is written).
- `known_by(business_key, institution_id, first_received)`: when each institution first
  sent anything about the business (its first row received by the last as-of date; outcome
  events and exits aside).
- `universe(business_key, as_of)`: the businesses monitored at each as-of date T, those
  that are (a) known: some row about them received on or before T; (b) still in someone's
  portfolio: some institution that sent rows about them has no exit in force at T, an
  exit being in force when it has exited_on <= T, received_on <= T and was received no
  earlier than that institution's last other row received by T (rows received after an
  exit bring the business back); and (c) active: their latest row was received no more
  than `inactive_after_months` months before T (`features.inactive_after_months`: a
  borrower that repaid quietly, without an exit row, must not stay a healthy row for
  ever). Outcome events (labels) and exits never count as rows here: a business known
  only from its default is not one anybody monitored, and leaving is not activity.
  Everything downstream (the panel, scores, flags, training and backtests) reads the
  businesses of this table, so a business that left is in none of them after it left.

With `shard=(i, n)` the three business tables are restricted to one shard: the businesses
whose `hash(business_key) % n = i` (`shard_predicate`). A business and all its rows are in
one shard, so every indicator (the cross-institution ones included, which work per
business_key) is the same as in the full computation. `business_keys` also keeps the
identities that share a versioned record (a loan, guarantee, incident, observation ...) with
a shard business: a correction may move a record to another business, and the version
windows must still see every version. Those neighbours never reach `known_by`/`universe`,
so nothing is computed for them (features/partition.py). The universe is built from
`known_by` and the shard's exits, so each shard's universe is the full one's restricted
to the shard.

Family SQL reads the feeds only through the layer's macros `pit_<feed>(lookback_months)`
(yocho/warehouse/pit.py), which apply the rule every indicator obeys, written there once: as
of T a record is its latest version received by T. The activity behind `known_by` and the
universe is the layer's `business_activity`, kept at ingest.
"""
from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from yocho.contract import FEEDS
from yocho.settings import FeatureSettings
from yocho.warehouse import pit as layer

INACTIVE_AFTER_MONTHS: int = FeatureSettings.model_fields["inactive_after_months"].default


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
        f"SELECT institution_id, '{feed.name}' AS feed, {feed.record_key[0]}::VARCHAR AS record_id, local_id FROM {feed.table}"
        for feed in FEEDS.values() if feed.record_key[0] != "local_id"
    ]
    return "\nUNION ALL\n".join(selects)


def _linked_keys(mine: str, records: str) -> str:
    """(institution_id, local_id) of every identity that shares a versioned record with an
    identity in `mine`, given `records` (institution_id, feed, record_id, local_id)."""
    return f"""
        SELECT DISTINCT o.institution_id, o.local_id
        FROM (SELECT DISTINCT r.institution_id, r.feed, r.record_id FROM {records} r
              SEMI JOIN {mine} USING (institution_id, local_id)) m
        JOIN {records} o USING (institution_id, feed, record_id)
    """


def build_business_keys(con: duckdb.DuckDBPyConnection, shard: tuple[int, int] | None = None) -> None:
    """`business_keys` from the identity the point-in-time layer keeps at ingest
    (yocho/warehouse/pit.py: business_identity), restricted to a shard when one is given."""
    if shard is None:
        con.execute("CREATE OR REPLACE TEMP TABLE business_keys AS "
                    "SELECT institution_id, local_id, business_key FROM business_identity")
        return
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE business_keys AS
        WITH all_keys AS (SELECT institution_id, local_id, business_key FROM business_identity),
        mine AS (SELECT institution_id, local_id FROM all_keys WHERE {shard_predicate("business_key", shard)}),
        records AS ({_record_ids()}),
        linked AS ({_linked_keys("mine", "records")})
        SELECT k.* FROM all_keys k
        WHERE (k.institution_id, k.local_id) IN (SELECT (institution_id, local_id) FROM mine)
           OR (k.institution_id, k.local_id) IN (SELECT (institution_id, local_id) FROM linked)
        """
    )


def prepare(
    con: duckdb.DuckDBPyConnection,
    as_of: list[date],
    shard: tuple[int, int] | None = None,
    inactive_after_months: int = INACTIVE_AFTER_MONTHS,
) -> None:
    """Build the point-in-time tables; `shard=(index, count)` restricts them to one shard.
    `inactive_after_months` is `features.inactive_after_months` (the universe's rule (c))."""
    if int(inactive_after_months) < 1:
        raise ValueError(f"inactive_after_months must be at least 1, got {inactive_after_months!r}")
    dates = pl.DataFrame({"as_of": sorted(set(as_of))}, schema={"as_of": pl.Date})
    con.register("as_of_input", dates.to_arrow())
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE as_of_dates AS SELECT as_of FROM as_of_input")
    finally:
        con.unregister("as_of_input")
    layer.install(con, (min(as_of), max(as_of)))  # pit_<feed> bounded to this pass's dates
    build_business_keys(con, shard)
    in_shard = f"WHERE {shard_predicate('k.business_key', shard)}" if shard is not None else ""
    in_shard_exits = f"AND {shard_predicate('e.business_key', shard)}" if shard is not None else ""
    # One read of the activity days the layer keeps at ingest: per (business, institution) and
    # as-of date T, the days rows were received after the previous as-of date and by T (the
    # first date takes everything before it). Small (at most one row per pair and date), and
    # enough for both the first and the last row received by each date; rows received after the
    # last date never count. The days are reduced per record (institution, local id) before the
    # identity is joined: the join then sees one row per record and date, not one per day.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE pit_activity AS
        WITH per_record AS (
            SELECT r.institution_id, r.local_id, d.as_of AS period_end,
                   min(r.received_on) AS first_received, max(r.received_on) AS last_received
            -- the constant bound lets DuckDB skip the row groups received after the last date
            FROM (SELECT * FROM business_activity WHERE received_on <= DATE '{max(as_of).isoformat()}') r
            ASOF JOIN as_of_dates d ON r.received_on <= d.as_of
            GROUP BY ALL
        )
        SELECT k.business_key, p.institution_id, p.period_end,
               min(p.first_received) AS first_received, max(p.last_received) AS last_received
        FROM per_record p
        JOIN business_keys k USING (institution_id, local_id)
        {in_shard}
        GROUP BY ALL
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE known_by AS
        SELECT business_key, institution_id, min(first_received) AS first_received
        FROM pit_activity GROUP BY ALL
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE universe AS
        WITH last_row AS (
            -- each institution's last row about the business received by T
            SELECT p.business_key, p.institution_id, p.as_of, a.last_received
            FROM (SELECT kb.business_key, kb.institution_id, d.as_of
                  FROM known_by kb JOIN as_of_dates d ON kb.first_received <= d.as_of) p
            ASOF JOIN pit_activity a
              ON a.business_key = p.business_key AND a.institution_id = p.institution_id
             AND a.period_end <= p.as_of
        ),
        exit_known AS (
            -- each institution's latest exit of the business that has happened and is known by T
            SELECT e.business_key, e.institution_id, e.as_of, max(e.received_on) AS exit_received
            FROM pit_exits({layer.ALL_HISTORY_MONTHS}) e
            WHERE e.exited_on <= e.as_of {in_shard_exits}
            GROUP BY ALL
        ),
        per_business AS (
            SELECT l.business_key, l.as_of,
                   -- an exit is in force unless the institution sent rows after it (it came back);
                   -- an exit received with the institution's last rows is in force
                   bool_or(x.exit_received IS NULL OR x.exit_received < l.last_received) AS still_held,
                   max(l.last_received) AS last_received
            FROM last_row l
            LEFT JOIN exit_known x USING (business_key, institution_id, as_of)
            GROUP BY ALL
        )
        SELECT business_key, as_of
        FROM per_business
        WHERE still_held
          AND last_received >= (as_of - to_months($inactive_after_months::INTEGER))::DATE
        """,
        {"inactive_after_months": int(inactive_after_months)},
    )
    con.execute("DROP TABLE IF EXISTS pit_activity")


# The tables of a whole pass, kept while it is computed shard by shard (`select_shard`).
WHOLE_TABLES = ("business_keys", "known_by", "universe")


def _whole_kept(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `select_shard` holds a whole pass's tables on this connection."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'universe_whole'").fetchone()[0])


def select_shard(con: duckdb.DuckDBPyConnection, shard: tuple[int, int]) -> None:
    """After `prepare` of a whole pass (no shard): restrict `business_keys`, `known_by` and
    `universe` to one shard, as `prepare(..., shard)` would build them, without reading the
    feeds and the activity again for every shard. The first call keeps the whole tables as
    `<table>_whole` and the records that several identities share (a correction that moved a
    record to another local id) as `shared_records`; `end_shards` puts the whole tables
    back after the pass. A shard's universe is the whole one restricted to the shard (see the module
    docstring), and so is known_by; business_keys also keeps the identities linked through a
    shared record, as build_business_keys does."""
    if not _whole_kept(con):
        for table in WHOLE_TABLES:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_whole AS SELECT * FROM {table}")
        # only records under more than one identity can link a shard's business to another
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE shared_records AS
            WITH records AS ({_record_ids()}),
            shared AS (SELECT institution_id, feed, record_id FROM (SELECT DISTINCT * FROM records) GROUP BY ALL HAVING count(*) > 1)
            SELECT DISTINCT r.* FROM records r SEMI JOIN shared USING (institution_id, feed, record_id)
            """
        )
    in_shard = shard_predicate("business_key", shard)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE business_keys AS
        WITH mine AS (SELECT institution_id, local_id FROM business_keys_whole WHERE {in_shard}),
        linked AS ({_linked_keys("mine", "shared_records")})
        SELECT k.* FROM business_keys_whole k
        WHERE {in_shard}
           OR (k.institution_id, k.local_id) IN (SELECT (institution_id, local_id) FROM linked)
        """
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE known_by AS SELECT * FROM known_by_whole WHERE {in_shard}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE universe AS SELECT * FROM universe_whole WHERE {in_shard}")


def end_shards(con: duckdb.DuckDBPyConnection) -> None:
    """After the pass's last shard: put the whole pass's tables back (what follows the
    families, such as the industry peers and the scan's count, reads every business) and drop
    what `select_shard` kept. Nothing to do when the pass was not split."""
    if not _whole_kept(con):
        return
    for table in WHOLE_TABLES:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {table}_whole")
        con.execute(f"DROP TABLE {table}_whole")
    con.execute("DROP TABLE IF EXISTS shared_records")
