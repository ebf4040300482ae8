"""Scan flow: warning-sign indicators as of one or more dates, stored in the warehouse."""
from __future__ import annotations

from datetime import date

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from features.scan import last_month_end, scan
from yocho.settings import Settings, load_settings
from yocho.warehouse.db import warehouse


@task(retries=1, retry_delay_seconds=10)
def compute_indicators(settings: Settings, as_of: list[date]) -> dict:
    with warehouse(settings) as con:
        result = scan(con, as_of, settings.features)
    return {
        "as_of": [d.isoformat() for d in result.as_of],
        "rows_written": result.rows_written,
        "businesses": result.businesses,
        "counts": result.counts.to_dicts(),
    }


def counts_markdown(summary: dict) -> str:
    lines = [f"Indicators as of {summary['as_of'][-1]} ({summary['businesses']:,} businesses)", "",
             "| indicator | 指標 | severity | fired | available |", "|---|---|---|---:|---:|"]
    lines += [f"| {c['indicator_id']} | {c['ja']} | {c['severity']} | {c['fired']:,} | {c['available']:,} |"
              for c in summary["counts"]]
    return "\n".join(lines)


@flow(name="scan")
def scan_flow(as_of: list[date] | None = None, settings: Settings | None = None) -> dict:
    """Indicators as of the given dates (default: the last completed month-end)."""
    settings = settings or load_settings()
    summary = compute_indicators(settings, as_of or [last_month_end(settings.effective_today())])
    create_markdown_artifact(key="scan-indicators", markdown=counts_markdown(summary))
    return summary
