"""The night's step from the warehouse to the referral queue: flags as of a date, applied to
the queue store (one open case per business, evidence appended, cool-down honoured, new cases
within each lead institution's monthly review budget and the rest waiting below the line)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date

import duckdb
import polars as pl

from signals.flags import flags_as_of
from signals.phases import PHASES
from signals.queue import QueueStore
from yocho.settings import Settings


def refresh_queue(con: duckdb.DuckDBPyConnection, store: QueueStore, as_of: date, settings: Settings) -> dict:
    flags = flags_as_of(con, as_of, settings)
    institutions = flags.select(pl.col("institutions").explode().struct.field("institution_id")).unique()
    store.ensure_institutions(sorted(institutions.drop_nulls().to_series().to_list()))
    applied = store.apply_flags(flags, as_of, settings.signals.cooldown_months)
    return {
        "as_of": as_of.isoformat(),
        "flagged": flags.height,
        "applied": {name: value for name, value in asdict(applied).items() if name != "budgets"},
        # per lead institution: monitored, budget, opened (tonight), used (this month), waiting
        "budgets": [asdict(line) for line in applied.budgets],
        "by_phase": by_phase(flags).to_dicts(),
    }


def budget_totals(summary: dict) -> dict[str, int]:
    """The night's budgets summed over the lead institutions."""
    lines = summary.get("budgets") or []
    return {name: sum(line[name] for line in lines) for name in ("monitored", "budget", "opened", "used", "waiting")}


def by_phase(flags: pl.DataFrame) -> pl.DataFrame:
    """Flagged businesses per recommended phase and trigger, phases in the council's order."""
    order = pl.DataFrame({"phase": list(PHASES), "ja": [p.ja for p in PHASES.values()]})
    counts = flags.group_by("phase").agg(
        businesses=pl.len(),
        critical_sign=(pl.col("trigger") == "critical_sign").sum(),
        score=(pl.col("trigger") == "score").sum(),
        both=(pl.col("trigger") == "both").sum(),
        in_event=pl.col("in_event").sum(),
    )
    return order.join(counts, on="phase", how="left").fill_null(0)
