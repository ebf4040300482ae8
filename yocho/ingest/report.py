"""Human-readable accounts of an ingest: a markdown run summary (Prefect artifact) and
the validation report, an HTML page listing every file, every expectation GX checked on
it, and every quarantined row with its reason (the project's equivalent of Data Docs)."""
from __future__ import annotations

import html
from pathlib import Path

import duckdb


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


def _table(headers: list[str], rows: list[tuple]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{'' if v is None else html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_validation_report(con: duckdb.DuckDBPyConnection, path: Path, max_rows_per_file: int = 200) -> Path:
    """Write the validation report; quarantine rows are capped per file to keep the page
    readable (the quarantine table holds them all)."""
    files = con.execute(
        """
        SELECT sha256, file_name, institution_id, feed, status, rows_total, rows_loaded,
               rows_quarantined, message, ingested_at
        FROM ingested_files ORDER BY ingested_at, file_name
        """
    ).fetchall()
    parts = [
        "<!doctype html><html lang='ja'><head><meta charset='utf-8'>",
        "<title>Yocho 取込検証レポート / ingest validation report</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}.fail{color:#b00}.ok{color:#070}</style>",
        "</head><body><h1>取込検証レポート / Ingest validation report</h1>",
        _table(
            ["file", "institution", "feed", "status", "rows", "loaded", "quarantined", "message", "ingested at"],
            [f[1:] for f in files],
        ),
    ]
    # The same content may come from two institutions or feeds: each delivery is its own.
    misplaced = con.execute(
        "SELECT path, reason, first_seen, last_seen FROM misplaced_files WHERE resolved_at IS NULL ORDER BY path"
    ).fetchall()
    if misplaced:
        parts.append("<h2 id='misplaced'>置き場所の誤り / Misplaced files (left in landing, not ingested)</h2>"
                     + _table(["path", "reason", "first seen", "last seen"], misplaced))
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
            """
            SELECT source_row, column_name, reason, raw_value FROM quarantine
            WHERE source_sha256 = ? AND institution_id = ? AND feed = ?
            ORDER BY source_row NULLS FIRST, column_name LIMIT ?
            """,
            [sha, institution_id, feed, max_rows_per_file],
        ).fetchall()
        anchor = html.escape(f"{institution_id}-{feed}-{sha}")
        parts.append(f"<h2 id='{anchor}'>{html.escape(file_name)}</h2><p>sha256 {sha}</p>")
        parts.append("<h3>Expectations</h3>" + _table(
            ["expectation", "column", "result", "unexpected", "checked", "description"], results))
        if quarantined:
            parts.append("<h3>Quarantined rows</h3>" + _table(["row", "column", "reason", "value"], quarantined))
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
