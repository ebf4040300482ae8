"""Nightly flow: the whole night in one run — ingest → indicators → scores → flags.

Thin on purpose: each step is the existing flow or task (flows/ingest.py, flows/scan.py,
flows/score.py, flows/flags.py); this module only sequences them and writes one summary
artifact, `nightly-summary`. Before the first training there is no champion model: the
night then ingests and scans, warns, and skips scoring and flags instead of failing.
See docs/orchestration.md.
"""
from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from features.scan import last_month_end
from flows.flags import refresh
from flows.ingest import ingest
from flows.scan import compute_indicators
from flows.score import score_portfolio
from models.registry import Registry
from signals.refresh import budget_totals
from yocho.settings import Settings, load_settings


@task
def champion_model(settings: Settings) -> str | None:
    """The champion's version, or None before the first training."""
    return Registry(settings.models_dir).champion()


def nightly_markdown(as_of: date, files: list[dict], indicators: dict,
                     scores: dict | None, flags: dict | None) -> str:
    """The night in one page: files and rows in, quarantine, indicators, bands, queue."""
    by_status: dict[str, int] = {}
    for f in files:
        by_status[f["status"]] = by_status.get(f["status"], 0) + 1
    rows_in = sum(f["rows_total"] for f in files)
    loaded = sum(f["rows_loaded"] for f in files)
    quarantined = sum(f["rows_quarantined"] for f in files)
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "none"
    lines = [
        f"# Nightly scan as of {as_of.isoformat()}",
        "",
        "## Ingest",
        "",
        f"- files: {len(files):,} ({statuses})",
        f"- rows in: {rows_in:,}, loaded: {loaded:,}, quarantined: {quarantined:,}",
    ]
    rejected = [f for f in files if f["status"] == "rejected"]
    if rejected:
        lines += [""] + [f"- rejected: {f['message']}" for f in rejected]
    fired = sum(c["fired"] for c in indicators.get("counts", []))
    lines += [
        "", "## Indicators", "",
        f"- {indicators['businesses']:,} businesses, {indicators['rows_written']:,} indicator values written, "
        f"{fired:,} signs fired as of {indicators['as_of'][-1]}",
        "", "## Scores", "",
    ]
    if scores is None:
        lines.append("- skipped: no champion model yet (train one first: the `monthly-training` deployment)")
    else:
        lines += [f"Model {scores['model_version']}", "",
                  "| band | 区分 | businesses |", "|---|---|---:|"]
        lines += [f"| {b['band']} | {b['ja']} | {b['businesses']:,} |" for b in scores["bands"]]
    lines += ["", "## Referral queue", ""]
    if flags is None:
        lines.append("- skipped: no scores tonight")
    else:
        applied, totals = flags["applied"], budget_totals(flags)
        lines += [
            f"- {flags['flagged']:,} businesses flagged",
            f"- cases opened: {applied['opened']:,} (within the monthly review budgets: {totals['budget']:,} over "
            f"{len(flags.get('budgets', [])):,} institutions monitoring {totals['monitored']:,} businesses), "
            f"waiting below the line: {applied['waiting']:,}, updated: {applied['updated']:,}",
            "", "| phase | 支援フェーズ | businesses |", "|---|---|---:|",
        ]
        lines += [f"| {p['phase']} | {p['ja']} | {p['businesses']:,} |" for p in flags["by_phase"]]
    return "\n".join(lines)


@flow(name="nightly")
def nightly(as_of: date | None = None, settings: Settings | None = None) -> dict:
    """The nightly scan as of `as_of` (default: the last completed month-end)."""
    settings = settings or load_settings()
    as_of = as_of or last_month_end(settings.effective_today())
    files = ingest(settings)
    indicators = compute_indicators(settings, [as_of])
    scores = flags = None
    if champion_model(settings) is None:
        get_run_logger().warning("no champion model in %s yet: scoring and flags skipped tonight",
                                 settings.models_dir)
    else:
        scores = score_portfolio(settings, [as_of])
        flags = refresh(settings, as_of)
    create_markdown_artifact(key="nightly-summary",
                             markdown=nightly_markdown(as_of, files, indicators, scores, flags))
    return {"as_of": as_of.isoformat(), "files": files, "indicators": indicators,
            "scores": scores, "flags": flags}
