"""Scoring flow: risk scores as of one or more dates from the champion model."""
from __future__ import annotations

from datetime import date

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from features.scan import last_month_end, scan
from models.registry import Registry
from models.score import missing_dates, score
from yocho.settings import Settings, load_settings
from yocho.warehouse.db import warehouse


@task(retries=1, retry_delay_seconds=10)
def compute_missing_indicators(settings: Settings, as_of: list[date]) -> list[date]:
    """Dates not yet scanned are scanned first, so a score never lacks its indicators."""
    with warehouse(settings) as con:
        missing = missing_dates(con, as_of)
        if missing:
            scan(con, missing, settings.features)
    return missing


@task(retries=1, retry_delay_seconds=10)
def score_portfolio(settings: Settings, as_of: list[date]) -> dict:
    with warehouse(settings) as con:
        result = score(con, Registry(settings.models_dir), as_of, settings.models)
    return {
        "model_version": result.model_version,
        "as_of": [d.isoformat() for d in result.as_of],
        "rows_written": result.rows_written,
        "bands": result.bands.to_dicts(),
    }


def bands_markdown(summary: dict) -> str:
    lines = [f"Risk bands as of {summary['as_of'][-1]} (model {summary['model_version']})", "",
             "| band | 区分 | from | businesses | already in an event | share | mean probability |",
             "|---|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {b['band']} | {b['ja']} | {b['lower_bound']:.0%} | {b['businesses']:,} | {b['in_event']:,} | "
              f"{b['share']:.1%} | "
              f"{'' if b['mean_probability'] is None else format(b['mean_probability'], '.1%')} |"
              for b in summary["bands"]]
    return "\n".join(lines)


@flow(name="score")
def score_flow(as_of: list[date] | None = None, settings: Settings | None = None) -> dict:
    """Risk scores as of the given dates (default: the last completed month-end)."""
    settings = settings or load_settings()
    dates = as_of or [last_month_end(settings.effective_today())]
    scanned = compute_missing_indicators(settings, dates)
    summary = score_portfolio(settings, dates)
    create_markdown_artifact(key="risk-bands", markdown=bands_markdown(summary))
    return {**summary, "scanned_first": [d.isoformat() for d in scanned]}
