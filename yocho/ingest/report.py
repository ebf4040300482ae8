"""Human-readable accounts of an ingest: a markdown run summary (Prefect artifact) and
the validation report, an HTML page that opens with a summary (totals; per kind of defect its
count and an example row; per file its rows loaded, quarantined and rejected) and then lists
every file, every expectation GX checked on it, and every quarantined row with its reason (the
project's equivalent of Data Docs)."""
from __future__ import annotations

import html
from pathlib import Path
from typing import NamedTuple

import duckdb

from yocho.ingest.reasons import label, reason_code_sql
from yocho.ingest.summary import reason_counts, shown_reason


def outcomes_markdown(outcomes: list[dict], misplaced: list[str]) -> str:
    lines = [
        "| file | institution | feed | status | rows | loaded | quarantined | repeats skipped |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        lines.append(
            f"| {Path(o['path']).name} | {o['institution_id']} | {o['feed']} | {o['status']} "
            f"| {o['rows_total']:,} | {o['rows_loaded']:,} | {o['rows_quarantined']:,} | {o.get('rows_repeated', 0):,} |"
        )
    keys = ("rows_total", "rows_loaded", "rows_quarantined", "rows_repeated")
    totals = {k: sum(o.get(k, 0) for o in outcomes) for k in keys}
    lines.append(
        f"| **total** | | | | {totals['rows_total']:,} | {totals['rows_loaded']:,} | {totals['rows_quarantined']:,} "
        f"| {totals['rows_repeated']:,} |"
    )
    rejected = [o for o in outcomes if o["status"] == "rejected"]
    if rejected:
        lines += ["", "**Rejected files**", ""] + [f"- {o['message']}" for o in rejected]
    if misplaced:
        lines += ["", "**Left in landing (cannot be ingested where they lie)**", ""] + [f"- {m}" for m in misplaced]
    return "\n".join(lines)


class Link(str):
    """A table cell linking to a file's section further down the page."""

    def __new__(cls, text: str, anchor: str):
        cell = super().__new__(cls, text)
        cell.anchor = anchor
        return cell


def _cell(v: object) -> str:
    if v is None:
        return "<td></td>"
    if isinstance(v, Link):
        return f"<td><a href='#{html.escape(v.anchor)}'>{html.escape(str(v))}</a></td>"
    if isinstance(v, int) and not isinstance(v, bool):  # counts; row numbers come as text
        return f"<td class='n'>{v:,}</td>"
    return f"<td>{html.escape(str(v))}</td>"


def _table(headers: list[str], rows: list[tuple]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _File(NamedTuple):
    sha256: str
    file_name: str
    institution_id: str
    feed: str
    status: str
    rows_total: int
    rows_loaded: int
    rows_quarantined: int
    message: str | None
    ingested_at: object
    rows_repeated: int | None

    @property
    def rejected(self) -> int:
        """Rows of a file refused whole: none loaded, and counted here rather than as quarantined."""
        return self.rows_total if self.status == "rejected" else 0

    @property
    def quarantined(self) -> int:
        return 0 if self.status == "rejected" else self.rows_quarantined


def _anchor(institution_id: str, feed: str, sha: str) -> str:
    return f"{institution_id}-{feed}-{sha}"


def _summary(con: duckdb.DuckDBPyConnection, files: list[_File]) -> list[str]:
    """The page's opening: totals, each kind of defect with an example row, each file's rows."""
    parts = [
        "<h2 id='summary'>概要 / Summary</h2>",
        f"<p>{len(files):,} ファイル / files ({sum(f.status == 'rejected' for f in files):,} 却下 / rejected): "
        f"{sum(f.rows_total for f in files):,} 行 / rows, {sum(f.rows_loaded for f in files):,} 取込 / loaded, "
        f"{sum(f.quarantined for f in files):,} 隔離 / quarantined, "
        f"{sum(f.rejected for f in files):,} 却下ファイルの行 / in rejected files, "
        f"{sum(f.rows_repeated or 0 for f in files):,} 既取込の繰り返し / repeats skipped</p>",
    ]
    reasons = reason_counts(con)
    if reasons:
        parts.append(
            "<h3>隔離理由 / Quarantine reasons</h3><p>理由コードごとの件数と例 (最初の行) / rows per reason code, "
            "with the first such row as an example; the reason is worded as stored for that row</p>"
            + _table(["理由 / reason code", "feed", "column", "rows", "例 / example reason", "file", "row", "value"],
                     [(label(r.code), r.feed, r.column, r.rows, shown_reason(r),
                       Link(r.file_name, _anchor(r.institution_id, r.feed, r.sha256)),
                       str(r.source_row), r.value) for r in reasons]))
    parts.append(
        "<h3>ファイル別 / Per file</h3>"
        + _table(["file", "institution", "feed", "status", "rows", "loaded", "quarantined", "rejected",
                  "repeats skipped", "message", "ingested at"],
                 [(Link(f.file_name, _anchor(f.institution_id, f.feed, f.sha256)), f.institution_id, f.feed,
                   f.status, f.rows_total, f.rows_loaded, f.quarantined, f.rejected, f.rows_repeated or 0,
                   f.message, f.ingested_at) for f in files]))
    return parts


def write_validation_report(con: duckdb.DuckDBPyConnection, path: Path, max_rows_per_file: int = 200) -> Path:
    """Write the validation report; quarantine rows are capped per file to keep the page
    readable (the quarantine table holds them all)."""
    files = [_File(*row) for row in con.execute(
        f"SELECT {', '.join(_File._fields)} FROM ingested_files ORDER BY ingested_at, file_name").fetchall()]
    parts = [
        "<!doctype html><html lang='ja'><head><meta charset='utf-8'>",
        "<title>Yocho 取込検証レポート / ingest validation report</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}td.n{text-align:right}"
        ".fail{color:#b00}.ok{color:#070}</style>",
        "</head><body><h1>取込検証レポート / Ingest validation report</h1>",
        *_summary(con, files),
    ]
    # The same content may come from two institutions or feeds: each delivery is its own.
    misplaced = con.execute(
        "SELECT path, reason, first_seen, last_seen FROM misplaced_files WHERE resolved_at IS NULL ORDER BY path"
    ).fetchall()
    if misplaced:
        parts.append("<h2 id='misplaced'>置き場所の誤り / Misplaced files (left in landing, not ingested)</h2>"
                     + _table(["path", "reason", "first seen", "last seen"], misplaced))
    parts.append("<h2 id='details'>詳細 / Details per file</h2>")
    for sha, file_name, institution_id, feed, *_ in files:
        results = con.execute(
            """
            SELECT expectation, column_name, CASE WHEN success THEN 'ok' ELSE 'FAILED' END,
                   unexpected_count, element_count, description
            FROM validation_results WHERE source_sha256 = ? AND institution_id = ? AND feed = ?
            ORDER BY success, expectation, column_name
            """,
            [sha, institution_id, feed],
        ).fetchall()
        quarantined = con.execute(
            f"""
            SELECT source_row, column_name, {reason_code_sql()}, reason, raw_value FROM quarantine
            WHERE source_sha256 = ? AND institution_id = ? AND feed = ?
            ORDER BY source_row NULLS FIRST, column_name LIMIT ?
            """,
            [sha, institution_id, feed, max_rows_per_file],
        ).fetchall()
        anchor = html.escape(_anchor(institution_id, feed, sha))
        parts.append(f"<h3 id='{anchor}'>{html.escape(file_name)} ({html.escape(institution_id)})</h3><p>sha256 {sha}</p>")
        parts.append("<h4>Expectations</h4>" + _table(
            ["expectation", "column", "result", "unexpected", "checked", "description"], results))
        if quarantined:
            parts.append("<h4>Quarantined rows</h4>" + _table(["row", "column", "reason code", "reason", "value"],
                                                              [(None if r[0] is None else str(r[0]), r[1], label(r[2]), *r[3:])
                                                               for r in quarantined]))
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
