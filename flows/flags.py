"""Flags flow: the night's flags as of a date, brought into the referral queue."""
from __future__ import annotations

from datetime import date

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from features.scan import last_month_end
from signals.queue import QueueStore
from signals.refresh import refresh_queue
from yocho.settings import Settings, load_settings
from yocho.warehouse.db import warehouse


@task(retries=1, retry_delay_seconds=10)
def refresh(settings: Settings, as_of: date) -> dict:
    with warehouse(settings) as con, QueueStore.from_settings(settings) as store:
        return refresh_queue(con, store, as_of, settings)


def flags_markdown(summary: dict) -> str:
    applied = summary["applied"]
    lines = [
        f"Flags as of {summary['as_of']}: {summary['flagged']:,} businesses",
        "",
        f"Queue: {applied['opened']:,} cases opened within the monthly review budgets, "
        f"{applied['waiting']:,} new entries waiting below the line, {applied['updated']:,} updated, "
        f"{applied['suppressed_by_cooldown']:,} held back by the cool-down, {applied['woken']:,} woken from snooze",
        "",
        "| institution | monitored | 月間審査枠 budget | opened tonight | opened this month | waiting (枠外) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {b['institution_id']} | {b['monitored']:,} | {b['budget']:,} | {b['opened']:,} | {b['used']:,} | "
              f"{b['waiting']:,} |" for b in summary.get("budgets", [])]
    lines += [
        "",
        "| phase | 支援フェーズ | businesses | critical sign | score | both | already in an event |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {p['phase']} | {p['ja']} | {p['businesses']:,} | {p['critical_sign']:,} | {p['score']:,} | "
              f"{p['both']:,} | {p['in_event']:,} |" for p in summary["by_phase"]]
    return "\n".join(lines)


@flow(name="flags")
def flags_flow(as_of: date | None = None, settings: Settings | None = None) -> dict:
    """Flags as of a date (default: the last completed month-end) into the referral queue."""
    settings = settings or load_settings()
    summary = refresh(settings, as_of or last_month_end(settings.effective_today()))
    create_markdown_artifact(key="queue-flags", markdown=flags_markdown(summary))
    return summary
