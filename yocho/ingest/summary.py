"""What the warehouse holds after ingest: counts a person reads at the end of a run."""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from yocho.contract import FEEDS


@dataclass(frozen=True)
class IngestSummary:
    rows_per_feed: dict[str, int]
    files_by_status: dict[str, int]
    rows_quarantined: int
    # (feed, column, reason with numbers folded, count), most frequent first
    top_reasons: list[tuple[str, str | None, str, int]] = field(default_factory=list)
    rejected_files: list[tuple[str, str]] = field(default_factory=list)
    # Files still lying in landing that cannot be ingested there: (path, reason, first seen, last seen).
    misplaced_files: list[tuple] = field(default_factory=list)


def summarise(con: duckdb.DuckDBPyConnection, top: int = 10) -> IngestSummary:
    rows = {
        name: con.execute(f"SELECT count(*) FROM {feed.table}").fetchone()[0]
        for name, feed in FEEDS.items()
    }
    by_status = dict(con.execute("SELECT status, count(*) FROM ingested_files GROUP BY status").fetchall())
    quarantined = con.execute(
        "SELECT count(*) FROM (SELECT DISTINCT source_sha256, source_row FROM quarantine WHERE source_row IS NOT NULL)"
    ).fetchone()[0]
    # Numbers inside reasons (row numbers, codes, dates) would split one kind of
    # defect into thousands of groups; fold them for the overview.
    reasons = con.execute(
        """
        SELECT feed, column_name, regexp_replace(reason, '[0-9]+', 'N', 'g') AS kind, count(*) AS n
        FROM quarantine WHERE source_row IS NOT NULL
        GROUP BY ALL ORDER BY n DESC, feed, kind LIMIT ?
        """,
        [top],
    ).fetchall()
    rejected = con.execute(
        "SELECT file_name, message FROM ingested_files WHERE status = 'rejected' ORDER BY file_name"
    ).fetchall()
    misplaced = con.execute(
        "SELECT path, reason, first_seen, last_seen FROM misplaced_files WHERE resolved_at IS NULL ORDER BY path"
    ).fetchall()
    return IngestSummary(rows, by_status, quarantined, [tuple(r) for r in reasons], [tuple(r) for r in rejected],
                         [tuple(r) for r in misplaced])
