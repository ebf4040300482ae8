"""Writing one file's outcome into the warehouse in a single transaction.

Everything a file contributes -- accepted rows, quarantined rows, validation results and
the ingested_files record that marks it done -- commits together or not at all, so a
crash at any point leaves the warehouse as if the file had never been seen, and the
next run simply processes it again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import polars as pl

from yocho.contract import FEEDS, Feed
from yocho.warehouse import pit

QUARANTINE_SCHEMA = {
    "source_row": pl.Int32,
    "column": pl.Utf8,
    "reason": pl.Utf8,
    "value": pl.Utf8,
}


@dataclass(frozen=True)
class FileRecord:
    sha256: str
    institution_id: str
    feed: str
    file_name: str
    archived_path: str
    size_bytes: int


@dataclass(frozen=True)
class LoadCounts:
    rows_total: int
    rows_loaded: int
    rows_quarantined: int
    # exact repeats of rows already loaded: skipped, nothing to correct
    rows_repeated: int = 0


def already_loaded(con: duckdb.DuckDBPyConnection, sha256: str, institution_id: str, feed: str) -> bool:
    """Whether this content was loaded for this institution and feed. A rejected file is
    not "already ingested": sent again, it is processed again (the rules or the folder may
    have changed), and the same bytes from another sender or feed are a delivery of their own."""
    return con.execute(
        "SELECT 1 FROM ingested_files WHERE sha256 = ? AND institution_id = ? AND feed = ? AND status = 'loaded'",
        [sha256, institution_id, feed],
    ).fetchone() is not None


def _forget_rejected(con: duckdb.DuckDBPyConnection, record: FileRecord) -> None:
    """Inside the file's transaction: drop an earlier rejection of the same content for the
    same institution and feed, which the new outcome replaces."""
    params = [record.sha256, record.institution_id, record.feed]
    where = "source_sha256 = ? AND institution_id = ? AND feed = ?"
    con.execute(f"DELETE FROM quarantine WHERE {where}", params)
    con.execute(f"DELETE FROM validation_results WHERE {where}", params)
    con.execute(
        "DELETE FROM ingested_files WHERE sha256 = ? AND institution_id = ? AND feed = ? AND status = 'rejected'",
        params,
    )


def _key_match(feed: Feed, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in ("institution_id", *feed.key))


def _insert_quarantine(con: duckdb.DuckDBPyConnection, record: FileRecord, errors: pl.DataFrame) -> None:
    if errors.is_empty():
        return
    con.register("q_batch", errors.to_arrow())
    try:
        con.execute(
            """
            INSERT INTO quarantine
            SELECT ?, ?, ?, ?, source_row, "column", reason, value, current_timestamp::TIMESTAMP
            FROM q_batch
            """,
            [record.sha256, record.institution_id, record.feed, record.file_name],
        )
    finally:
        con.unregister("q_batch")


def _insert_results(con: duckdb.DuckDBPyConnection, record: FileRecord, results: list[dict]) -> None:
    if not results:
        return
    frame = pl.DataFrame(
        {
            "expectation": [r["expectation"] for r in results],
            "column_name": [None if r.get("column") is None else str(r.get("column")) for r in results],
            "success": [bool(r["success"]) for r in results],
            "unexpected_count": [r.get("unexpected_count") for r in results],
            "element_count": [r.get("element_count") for r in results],
            "description": [r.get("description") or json.dumps(r, ensure_ascii=False, default=str) for r in results],
        },
        schema={
            "expectation": pl.Utf8, "column_name": pl.Utf8, "success": pl.Boolean,
            "unexpected_count": pl.Int64, "element_count": pl.Int64, "description": pl.Utf8,
        },
    )
    con.register("v_batch", frame.to_arrow())
    try:
        con.execute(
            """
            INSERT INTO validation_results (source_sha256, feed, institution_id, expectation, column_name,
                success, unexpected_count, element_count, description, validated_at)
            SELECT ?, ?, ?, expectation, column_name, success, unexpected_count, element_count,
                   description, current_timestamp::TIMESTAMP
            FROM v_batch
            """,
            [record.sha256, record.feed, record.institution_id],
        )
    finally:
        con.unregister("v_batch")


def _insert_file(con, record: FileRecord, status: str, counts: LoadCounts,
                 ignored_columns: tuple[str, ...], message: str | None) -> None:
    con.execute(
        """
        INSERT INTO ingested_files (sha256, institution_id, feed, file_name, archived_path, size_bytes, status,
            rows_total, rows_loaded, rows_quarantined, rows_repeated, ignored_columns, message, ingested_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp::TIMESTAMP)
        """,
        [record.sha256, record.institution_id, record.feed, record.file_name, record.archived_path,
         record.size_bytes, status, counts.rows_total, counts.rows_loaded, counts.rows_quarantined,
         counts.rows_repeated, list(ignored_columns), message],
    )


def _near(con: duckdb.DuckDBPyConnection, feed: Feed, institution_id: str) -> str:
    """A predicate on `r` (a loaded row) true for every row that can share a key with g_batch:
    pit.record_bounds, so the probes below read the row groups near the delivery, not the
    whole table."""
    (near,) = pit.record_bounds(con, feed, f"(SELECT *, {pit.literal(institution_id)} AS institution_id FROM g_batch)", "r")
    return near


def _classify_known(con: duckdb.DuckDBPyConnection, feed: Feed, institution_id: str, near: str) -> pl.DataFrame:
    """The rows of g_batch whose key is already in the warehouse: an exact repeat (every column
    equal) is `repeated` and skipped; anything else under a loaded key is a conflicting version,
    quarantined with where the loaded row came from."""
    same = " AND ".join(f"b.{c} IS NOT DISTINCT FROM r.{c}" for c in feed.column_names)
    if feed.correctable:
        conflict = (
            "'another version of this record with the same received_on is already loaded (key "
            f"{', '.join(feed.key)}) from file ' || f.file_name || ' row ' || r.source_row || "
            "'; send a correction with a later received_on'"
        )
    else:
        conflict = (
            f"'duplicate of a record already loaded (key {', '.join(feed.key)}; this feed takes no corrections) "
            "from file ' || f.file_name || ' row ' || r.source_row"
        )
    return con.execute(
        f"""
        SELECT b.source_row::INTEGER AS source_row, NULL::VARCHAR AS "column",
               CASE WHEN {same} THEN NULL ELSE {conflict} END AS reason,
               NULL::VARCHAR AS value
        FROM (SELECT *, ? AS institution_id FROM g_batch) b
        JOIN {feed.table} r ON {_key_match(feed, "b", "r")} AND {near}
        JOIN ingested_files f ON f.sha256 = r.source_sha256 AND f.institution_id = r.institution_id
            AND f.feed = ?
        """,
        [institution_id, feed.name],
    ).pl()


def load_accepted(
    con: duckdb.DuckDBPyConnection,
    record: FileRecord,
    good: pl.DataFrame,
    errors: pl.DataFrame,
    results: list[dict],
    ignored_columns: tuple[str, ...],
    rows_total: int,
) -> LoadCounts:
    """Insert the good rows whose key is new, through the point-in-time layer; skip exact
    repeats of rows already loaded; quarantine the rest; mark the file loaded -- atomically.
    A correction (same record, later received_on) has a new key and loads as the record's new
    version (yocho/warehouse/pit.py)."""
    feed = FEEDS[record.feed]
    columns = feed.column_names
    col_list = ", ".join(columns)
    batch = good.select(columns + ["source_row"]).to_arrow()
    con.execute("BEGIN TRANSACTION")
    try:
        _forget_rejected(con, record)
        con.register("g_batch", batch)
        near = _near(con, feed, record.institution_id)
        known = _classify_known(con, feed, record.institution_id, near)
        conflicts = known.filter(pl.col("reason").is_not_null())
        repeated = known.filter(pl.col("reason").is_null())["source_row"].n_unique()
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE new_rows AS
            SELECT {col_list}, institution_id, ?::VARCHAR AS source_sha256, source_row
            FROM (SELECT *, ?::VARCHAR AS institution_id FROM g_batch) b
            WHERE NOT EXISTS (SELECT 1 FROM {feed.table} r WHERE {_key_match(feed, "b", "r")} AND {near})
            """,
            [record.sha256, record.institution_id],
        )
        con.unregister("g_batch")
        pit.append(con, feed, "new_rows")
        con.execute("DROP TABLE new_rows")
        all_errors = pl.concat([errors.cast(QUARANTINE_SCHEMA), conflicts.cast(QUARANTINE_SCHEMA)])
        _insert_quarantine(con, record, all_errors)
        _insert_results(con, record, results)
        counts = LoadCounts(
            rows_total=rows_total,
            rows_loaded=good.height - known["source_row"].n_unique(),
            rows_quarantined=all_errors["source_row"].drop_nulls().n_unique(),
            rows_repeated=repeated,
        )
        _insert_file(con, record, "loaded", counts, ignored_columns, None)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def record_rejected(
    con: duckdb.DuckDBPyConnection,
    record: FileRecord,
    errors: pl.DataFrame,
    results: list[dict],
    ignored_columns: tuple[str, ...],
    rows_total: int,
    message: str,
) -> LoadCounts:
    """A file refused whole: keep its row errors and the reason, load none of its rows."""
    file_level = pl.DataFrame(
        {"source_row": [None], "column": [None], "reason": [message], "value": [None]},
        schema=QUARANTINE_SCHEMA,
    )
    all_errors = pl.concat([file_level, errors.cast(QUARANTINE_SCHEMA)])
    counts = LoadCounts(rows_total=rows_total, rows_loaded=0, rows_quarantined=rows_total)
    con.execute("BEGIN TRANSACTION")
    try:
        _forget_rejected(con, record)
        _insert_quarantine(con, record, all_errors)
        _insert_results(con, record, results)
        _insert_file(con, record, "rejected", counts, ignored_columns, message)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def record_misplaced(con: duckdb.DuckDBPyConnection, misplaced: list[tuple[str, str]]) -> None:
    """Record one discovery's misplaced files, (path, reason) each, in misplaced_files: the
    list is the whole landing area's, so a recorded path missing from it is resolved."""
    frame = pl.DataFrame(misplaced, schema={"path": pl.Utf8, "reason": pl.Utf8}, orient="row").unique("path")
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("m_batch", frame.to_arrow())
        con.execute(
            """
            INSERT INTO misplaced_files
            SELECT path, reason, current_timestamp::TIMESTAMP, current_timestamp::TIMESTAMP, NULL FROM m_batch
            ON CONFLICT (path) DO UPDATE SET
                reason = excluded.reason, last_seen = excluded.last_seen, resolved_at = NULL,
                first_seen = CASE WHEN misplaced_files.resolved_at IS NULL THEN misplaced_files.first_seen
                                  ELSE excluded.first_seen END
            """
        )
        con.execute(
            """
            UPDATE misplaced_files SET resolved_at = current_timestamp::TIMESTAMP
            WHERE resolved_at IS NULL AND path NOT IN (SELECT path FROM m_batch)
            """
        )
        con.unregister("m_batch")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
