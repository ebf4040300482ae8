"""What the warehouse holds after ingest: counts a person reads at the end of a run."""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from yocho.contract import FEEDS
from yocho.ingest.reasons import reason_code_sql


@dataclass(frozen=True)
class ReasonCount:
    """One kind of defect in one feed's column: how many quarantined rows it holds, and one
    of them as an example with its reason worded as stored (real figures, not folded)."""
    feed: str
    column: str | None
    code: str
    rows: int
    wordings: int  # distinct reasons under the code (e.g. several unknown values)
    reason: str
    institution_id: str
    file_name: str
    sha256: str
    source_row: int
    value: str | None


def reason_counts(con: duckdb.DuckDBPyConnection, top: int | None = None) -> list[ReasonCount]:
    """Quarantined rows per (feed, column, reason code), most frequent first; the example is
    the group's first row by file and row number. The row errors of a file rejected whole are
    counted too (they are why it was refused); its file-level reason, without a row number, is
    shown with the file instead."""
    rows = con.execute(
        f"""
        WITH coded AS (
            SELECT *, {reason_code_sql()} AS code FROM quarantine WHERE source_row IS NOT NULL
        ), ranked AS (
            SELECT *, row_number() OVER (PARTITION BY feed, column_name, code
                                         ORDER BY file_name, institution_id, source_row, reason) AS nth,
                   count(*) OVER (PARTITION BY feed, column_name, code) AS n,
                   count(DISTINCT reason) OVER (PARTITION BY feed, column_name, code) AS wordings
            FROM coded
        )
        SELECT feed, column_name, code, n, wordings, reason, institution_id, file_name, source_sha256, source_row,
               raw_value
        FROM ranked WHERE nth = 1
        ORDER BY n DESC, feed, code, column_name NULLS FIRST
        LIMIT ?
        """,
        [top],
    ).fetchall()
    return [ReasonCount(*r) for r in rows]


def shown_reason(r: ReasonCount) -> str:
    """The example's reason as stored; when the code groups several wordings, say so."""
    if r.wordings <= 1:
        return r.reason
    return f"{r.reason} (e.g.; {r.wordings - 1} other wording{'s' if r.wordings > 2 else ''} / 他{r.wordings - 1}件の文言)"


@dataclass(frozen=True)
class IngestSummary:
    rows_per_feed: dict[str, int]
    files_by_status: dict[str, int]
    rows_quarantined: int
    # (feed, column, reason as stored for an example row, count of its code), most frequent first
    top_reasons: list[tuple[str, str | None, str, int]] = field(default_factory=list)
    rejected_files: list[tuple[str, str]] = field(default_factory=list)
    # Files still lying in landing that cannot be ingested there: (path, reason, first seen, last seen).
    misplaced_files: list[tuple] = field(default_factory=list)
    # the same groups with their code and example row
    reasons: list[ReasonCount] = field(default_factory=list)


def summarise(con: duckdb.DuckDBPyConnection, top: int = 10) -> IngestSummary:
    rows = {
        name: con.execute(f"SELECT count(*) FROM {feed.table}").fetchone()[0]
        for name, feed in FEEDS.items()
    }
    by_status = dict(con.execute("SELECT status, count(*) FROM ingested_files GROUP BY status").fetchall())
    quarantined = con.execute(
        "SELECT count(*) FROM (SELECT DISTINCT source_sha256, source_row FROM quarantine WHERE source_row IS NOT NULL)"
    ).fetchone()[0]
    # Grouped by reason code: the figures inside reasons (bounds, dates, codes) would split
    # one kind of defect into many groups, but are shown as stored in the example.
    reasons = reason_counts(con, top)
    rejected = con.execute(
        "SELECT file_name, message FROM ingested_files WHERE status = 'rejected' ORDER BY file_name"
    ).fetchall()
    misplaced = con.execute(
        "SELECT path, reason, first_seen, last_seen FROM misplaced_files WHERE resolved_at IS NULL ORDER BY path"
    ).fetchall()
    return IngestSummary(rows, by_status, quarantined, [(r.feed, r.column, shown_reason(r), r.rows) for r in reasons],
                         [tuple(r) for r in rejected], [tuple(r) for r in misplaced], reasons)
