"""The point-in-time layer: every version of every record with the dates it was in force, one
identity per business, and when each institution sent rows, all kept at ingest.

The rule, written here once: **as of T, a record is its latest version received by T.** A
version is in force from its `received_on` (valid_from) until the next version of the same
record arrives (`valid_to`, NULL while it is the latest). A record is what the contract's
`Feed.record_key` names within one institution (a loan-month, a statement, an incident report);
the contract allows one version per record and delivery date, so the order of versions is
the order of their `received_on` and needs no tie-break.

What is kept, in the same transaction as the rows it describes (`append`):

- `raw_<feed>.valid_to`: when the version stopped being in force.
- `business_identity(institution_id, local_id, corporate_number, business_key)`: one business
  across institutions. A business with a 法人番号 is keyed by it, so the same company at three
  banks and the association is one business; a sole proprietor (個人事業主) has none and stays
  `<institution_id>:<local_id>`. Every row ever received counts (the largest number sent, as
  in a correction): an identity says nothing about a business's health, and a number learnt
  later should join the earlier rows too.
- `business_activity(institution_id, local_id, received_on)`: the days each institution sent
  rows about the business (activity feeds only: `Feed.activity`), which is all the monitored
  universe needs (features/pit.py), instead of every row of every feed.
- `business_relationships(institution_id, local_id, feed, first_received)`: for the feeds
  that are a credit relationship (`Feed.relationship`: loans, accounts, guarantees), the
  first day the institution sent a row of that feed about that customer. A record received by
  T always has a version in force at T, so "has a loan with the bank as of T" is
  `first_received <= T`: one row per customer and feed instead of every row ever received.

How the rest of the product reads it (`install`, on every connection that reads the feeds):

- `pit_<feed>(lookback_months)`, a table macro: the version in force at each date of the temp
  table `as_of_dates(as_of)` of every record whose identity is in the temp table
  `business_keys(institution_id, local_id, business_key)` (features/pit.py builds both; a
  shard restricts `business_keys`), with columns `as_of, business_key` and the feed's own.
  Only records whose time column (`Feed.time_column`: a loan's month, a statement's period
  end) falls within `lookback_months` before the date are read; the business master has none.
- `pit_<feed>_at(as_of, lookback_months)`: the same for one date and every business
  (`business_identity`), for the nightly steps that work on a single date.
- `pit_relationships_at(as_of)`: business_key, institution_id, local_id, feed of every credit
  relationship received by `as_of`, keyed by business_identity.
- `pit_preference(received_on, institution_id)`: the one order in which rows from different
  records that say the same thing compete (two institutions' statements for one period,
  classifications of one business): the latest received first, then the lowest institution
  id. Sort ascending by it, or take `arg_min(x, pit_preference(...))`.

Writing rows into a feed table any other way breaks the layer; tests that write rows by hand
or delete the future call `append` or `rebuild`.
"""
from __future__ import annotations

from datetime import date

import duckdb

from yocho.contract import FEEDS, Feed

# A look-back long enough to read a record's whole history (100 years).
ALL_HISTORY_MONTHS = 1200


def _activity_feeds() -> list[Feed]:
    return [feed for feed in FEEDS.values() if feed.activity]


def _record(feed: Feed, alias: str | None = None) -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{c}" for c in ("institution_id", *feed.record_key))


def _same_record(feed: Feed, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{c} = {right}.{c}" for c in ("institution_id", *feed.record_key))


def literal(value: object) -> str:
    """A SQL string literal (NULL for None)."""
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def record_bounds(con: duckdb.DuckDBPyConnection, feed: Feed, rows: str, *aliases: str) -> list[str]:
    """For each of `aliases` (a row of the feed's table), a predicate true for every row that
    can share a record with `rows`: the same institutions and, when the record key holds the
    time column (a loan-month, a statement's period end), the same range of it. Written with
    literals, so DuckDB skips the row groups of the table outside them by their min/max: a
    delivery is compared with the rows near it, not with everything ever received (which would
    make each file's load slower as the warehouse grows). One read of `rows` for all aliases."""
    columns = ["institution_id"] + ([feed.time_column] if feed.time_column in feed.record_key else [])
    bounds = con.execute(
        "SELECT " + ", ".join(f"min({c})::VARCHAR, max({c})::VARCHAR" for c in columns) + f" FROM {rows}").fetchone()
    if bounds[0] is None:
        return ["false" for _ in aliases]
    ranges = []
    for i, column in enumerate(columns):
        cast = "" if column == "institution_id" else "::DATE"
        ranges.append((column, f"{literal(bounds[2 * i])}{cast}", f"{literal(bounds[2 * i + 1])}{cast}"))
    return [" AND ".join(f"{alias}.{column} BETWEEN {low} AND {high}" for column, low, high in ranges)
            for alias in aliases]


def _refresh_versions(con: duckdb.DuckDBPyConnection, feed: Feed, touched: str | None) -> None:
    """Set valid_to of every version of the records in `touched` (a relation of the feed's
    record keys; None: every record) from the next version's received_on."""
    if not feed.correctable:
        return  # one version per record: always in force once received
    if touched:
        scope = f"SEMI JOIN (SELECT DISTINCT {_record(feed)} FROM {touched}) t USING ({_record(feed)})"
        near_x, near_r = record_bounds(con, feed, touched, "x", "r")
        near_x, near_r = f"WHERE {near_x}", f"AND {near_r}"
    else:
        scope = near_x = near_r = ""
    con.execute(
        f"""
        UPDATE {feed.table} AS r SET valid_to = v.next_from
        FROM (
            SELECT {_record(feed, "x")}, x.received_on,
                   lead(x.received_on) OVER (PARTITION BY {_record(feed, "x")} ORDER BY x.received_on) AS next_from
            FROM {feed.table} x {scope} {near_x}
        ) v
        WHERE {_same_record(feed, "r", "v")} AND r.received_on = v.received_on
          AND r.valid_to IS DISTINCT FROM v.next_from {near_r}
        """
    )


def _refresh_identity(con: duckdb.DuckDBPyConnection, rows: str) -> None:
    """Fold the (institution_id, local_id, corporate_number) of `rows` into business_identity.
    Only identities that are new or learn a larger 法人番号 reach the upsert: DuckDB's ON
    CONFLICT update is slow per row, and nearly every row of a delivery is about a business
    already known."""
    con.execute(
        f"""
        INSERT INTO business_identity
        SELECT n.* FROM (
            SELECT institution_id, local_id, max(corporate_number) AS corporate_number,
                   coalesce(max(corporate_number), institution_id || ':' || local_id) AS business_key
            FROM {rows} GROUP BY institution_id, local_id
        ) n
        LEFT JOIN business_identity b USING (institution_id, local_id)
        WHERE b.local_id IS NULL OR n.corporate_number > coalesce(b.corporate_number, '')
        ON CONFLICT (institution_id, local_id) DO UPDATE SET
            corporate_number = greatest(business_identity.corporate_number, excluded.corporate_number),
            business_key = coalesce(greatest(business_identity.corporate_number, excluded.corporate_number),
                                    excluded.institution_id || ':' || excluded.local_id)
        """
    )


def _refresh_activity(con: duckdb.DuckDBPyConnection, rows: str) -> None:
    # the days already recorded can only be the delivery's own days: compared within them.
    # An anti-join, not EXCEPT: EXCEPT hashes the recorded side (every day of the delivery's
    # range, tens of millions of rows for a year's file at national scale), the anti-join
    # hashes the delivery's few days and only streams the recorded ones past them (3x faster
    # at 1.5M businesses, the same rows).
    low, high = con.execute(f"SELECT min(received_on)::VARCHAR, max(received_on)::VARCHAR FROM {rows}").fetchone()
    if low is None:
        return
    con.execute(
        f"""
        INSERT INTO business_activity
        SELECT DISTINCT n.institution_id, n.local_id, n.received_on FROM {rows} n
        ANTI JOIN (
            SELECT institution_id, local_id, received_on FROM business_activity
            WHERE received_on BETWEEN {literal(low)}::DATE AND {literal(high)}::DATE
        ) a ON a.institution_id = n.institution_id AND a.local_id = n.local_id AND a.received_on = n.received_on
        """
    )


def _relationship_rows(feed: Feed, rows: str) -> str:
    return (f"SELECT institution_id, local_id, {literal(feed.name)} AS feed, min(received_on) AS first_received "
            f"FROM {rows} GROUP BY institution_id, local_id")


def _refresh_relationships(con: duckdb.DuckDBPyConnection, feed: Feed, rows: str) -> None:
    """Fold the customers of `rows` into business_relationships: new ones, and known ones whose
    first row of the feed turns out earlier (a late delivery of old months)."""
    con.execute(
        f"""
        INSERT INTO business_relationships
        SELECT n.* FROM ({_relationship_rows(feed, rows)}) n
        LEFT JOIN business_relationships b USING (institution_id, local_id, feed)
        WHERE b.local_id IS NULL OR n.first_received < b.first_received
        ON CONFLICT (institution_id, local_id, feed) DO UPDATE SET
            first_received = least(business_relationships.first_received, excluded.first_received)
        """
    )


def rebuild_relationships(con: duckdb.DuckDBPyConnection) -> None:
    """Derive business_relationships again from the relationship feeds' tables."""
    con.execute("DELETE FROM business_relationships")
    for feed in FEEDS.values():
        if feed.relationship:
            con.execute(f"INSERT INTO business_relationships {_relationship_rows(feed, feed.table)}")


def append(con: duckdb.DuckDBPyConnection, feed: Feed, rows: str) -> None:
    """Insert `rows` (a relation with the feed's columns plus institution_id, source_sha256 and
    source_row, none of them already loaded) into the feed's table and bring the layer up to
    date for them. Call it inside the caller's transaction: the rows and what the layer says
    about them commit together."""
    columns = ", ".join([*feed.column_names, "institution_id", "source_sha256", "source_row"])
    con.execute(f"INSERT INTO {feed.table} ({columns}) SELECT {columns} FROM {rows}")
    _refresh_versions(con, feed, rows)
    _refresh_identity(con, rows)
    if feed.activity:
        _refresh_activity(con, rows)
    if feed.relationship:
        _refresh_relationships(con, feed, rows)


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Derive the whole layer again from the feed tables: after a migration that adds it, or
    after rows were deleted (a test that removes the future)."""
    con.execute("DELETE FROM business_identity")
    con.execute("DELETE FROM business_activity")
    for feed in FEEDS.values():
        con.execute(f"UPDATE {feed.table} SET valid_to = NULL WHERE valid_to IS NOT NULL")
        _refresh_versions(con, feed, None)
        _refresh_identity(con, feed.table)
    activity = " UNION ".join(
        f"SELECT institution_id, local_id, received_on FROM {feed.table}" for feed in _activity_feeds())
    con.execute(f"INSERT INTO business_activity {activity}")
    if _has_table(con, "business_relationships"):  # not yet while migration 9 fills the rest
        rebuild_relationships(con)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [name]).fetchone() is not None


def _in_force(alias: str, as_of: str) -> str:
    return f"{alias}.received_on <= {as_of} AND ({alias}.valid_to IS NULL OR {alias}.valid_to > {as_of})"


def _within(feed: Feed, alias: str, as_of: str) -> str:
    if feed.time_column is None:
        return "true"
    return f"{alias}.{feed.time_column} > {as_of} - to_months(lookback_months::INTEGER)"


def _pass_bounds(feed: Feed, alias: str, dates: tuple[date, date] | None) -> str:
    """Literal bounds implied by the pass's first and last as-of dates: nothing received after
    the last, nothing superseded by the first, nothing older than the look-back from the first.
    Redundant with the per-date rule, but constant, so DuckDB skips whole row groups by their
    min/max instead of joining every version ever received to the dates."""
    if dates is None:
        return ""
    first, last = (f"DATE '{d.isoformat()}'" for d in dates)
    bounds = f" AND {alias}.received_on <= {last} AND ({alias}.valid_to IS NULL OR {alias}.valid_to > {first})"
    if feed.time_column is not None:
        bounds += f" AND {alias}.{feed.time_column} > {first} - to_months(lookback_months::INTEGER)"
    return bounds


def install(con: duckdb.DuckDBPyConnection, dates: tuple[date, date] | None = None) -> None:
    """Create the layer's macros on this connection (temporary: each connection has its own).
    `as_of_dates` and `business_keys` are created empty if absent, because a table macro binds
    the tables it names when it is created; features/pit.py replaces them with the real ones.
    `dates` (first, last) are the bounds of the as-of dates `pit_<feed>` will be read for
    (features/pit.py passes those of `as_of_dates`); None leaves it unbounded.
    Nothing is created on a warehouse the layer's migration has not reached yet (opened read-only
    before any command opened it for writing): nothing could read it there."""
    if not _has_table(con, "business_identity"):
        return
    con.execute("CREATE TEMP TABLE IF NOT EXISTS as_of_dates (as_of DATE)")
    con.execute("CREATE TEMP TABLE IF NOT EXISTS business_keys (institution_id VARCHAR, local_id VARCHAR, business_key VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP MACRO pit_preference(received_on, institution_id) AS "
                "(DATE '9999-12-31' - received_on, institution_id)")
    for feed in FEEDS.values():
        columns = ", ".join(f"r.{c}" for c in (*feed.column_names, "institution_id", "source_sha256", "source_row"))
        con.execute(
            f"""
            CREATE OR REPLACE TEMP MACRO pit_{feed.name}(lookback_months) AS TABLE
            SELECT a.as_of, k.business_key, {columns}
            FROM as_of_dates a
            JOIN {feed.table} r ON {_in_force("r", "a.as_of")} AND {_within(feed, "r", "a.as_of")}{_pass_bounds(feed, "r", dates)}
            JOIN business_keys k ON k.institution_id = r.institution_id AND k.local_id = r.local_id
            """
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP MACRO pit_{feed.name}_at(as_of, lookback_months) AS TABLE
            SELECT as_of::DATE AS as_of, k.business_key, {columns}
            FROM {feed.table} r
            JOIN business_identity k ON k.institution_id = r.institution_id AND k.local_id = r.local_id
            WHERE {_in_force("r", "as_of::DATE")} AND {_within(feed, "r", "as_of::DATE")}
            """
        )
    if _has_table(con, "business_relationships"):
        con.execute(
            """
            CREATE OR REPLACE TEMP MACRO pit_relationships_at(as_of) AS TABLE
            SELECT k.business_key, r.institution_id, r.local_id, r.feed
            FROM business_relationships r
            JOIN business_identity k ON k.institution_id = r.institution_id AND k.local_id = r.local_id
            WHERE r.first_received <= as_of::DATE
            """
        )
