"""Flags: the businesses that belong in the referral queue as of a date, each with its
trigger, recommended support phase, priority within its lead institution and evidence.

`flags_as_of(con, as_of, settings)` is the one entry point. It reads only the warehouse
(risk_scores, indicator_values and the feeds through the point-in-time layer's
`pit_<feed>_at(as_of, ...)` macros and its `business_identity`, yocho/warehouse/pit.py: each
record as its latest version received by `as_of`), keeps no state of its own and gives the
same answer every time it is run for the same date: the queue store (which adds dismissals and
cool-down) consumes its frame.

Every SQL file gets what it reads besides the warehouse as an argument: `run_sql` registers
the frames it is given under the names the file's header lists (`sig_bands`, `sig_critical`,
`sig_flagged` ...) for that one query and removes them afterwards, so nothing is left on the
connection between steps.

The steps, each columnar over all businesses (docs/signals.md):

1. the flag policy with its hysteresis over the scanned history (sql/history.sql);
2. the institutions that know each flagged business, with their exposure (sql/institutions.sql),
   and the lead institution (signals/priority.py);
3. the routing facts (sql/routing_facts.sql) and the recommended phase (signals/routing.py);
4. the priority and rank (signals/priority.py), and each lead institution's monitored
   businesses and monthly review budget (sql/monitored.sql, signals/budget.py);
5. the evidence snapshot (sql/evidence.sql, signals/evidence.py).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from importlib import resources

import duckdb
import polars as pl

from features.catalog import indicators
from signals import budget, evidence, priority, routing
from yocho.settings import Settings
from yocho.warehouse.pit import ALL_HISTORY_MONTHS

# How recent a loan or guarantee month must be to count toward an institution's exposure
# when choosing the lead institution: the same three months the repayment indicators treat
# as current (rep_dpd_*.recent_months); older months describe credit that has since moved on.
EXPOSURE_RECENT_MONTHS = 3
# A legal filing (破産等申立) reported as an incident counts for routing for this long after
# it occurred: proceedings and their aftermath run well over a year.
LEGAL_PROCEEDINGS_MONTHS = 24

SCHEMA: dict[str, pl.DataType] = {
    "business_key": pl.Utf8,
    "as_of": pl.Date,
    "institutions": pl.List(pl.Struct({"institution_id": pl.Utf8, "local_id": pl.Utf8})),
    "trigger": pl.Utf8,
    "critical_signs": pl.List(pl.Utf8),
    "probability": pl.Float64,
    "band": pl.Utf8,
    "portfolio_share": pl.Float64,
    "in_event": pl.Boolean,
    "phase": pl.Utf8,
    "phase_reason_ja": pl.Utf8,
    "phase_reason_en": pl.Utf8,
    "priority": pl.Float64,
    "priority_rank": pl.Int64,
    "lead_institution_id": pl.Utf8,
    "monitored": pl.Int64,  # businesses the lead institution monitors as of the date
    "monthly_budget": pl.Int64,  # the lead institution's monthly review budget (new cases)
    "first_sign_on": pl.Date,
    "evidence": pl.Utf8,
}

TRIGGERS = ("critical_sign", "score", "both")

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class MissingScores(Exception):
    def __init__(self, as_of: date):
        self.as_of = as_of
        super().__init__(f"no risk scores as of {as_of}: score that date first (yocho score --as-of {as_of})")


def sql_text(name: str) -> str:
    return (resources.files("signals") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


def run_sql(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, object],
            inputs: Mapping[str, pl.DataFrame] | None = None) -> pl.DataFrame | None:
    """Run signals/sql/<name>.sql with the parameters it names (DuckDB refuses extra ones).
    `inputs` are the relations the file reads besides the warehouse (its header's "Inputs"),
    registered under their names for this query only. `$history_months` is the point-in-time
    layer's whole history unless given."""
    sql = sql_text(name)
    names = set(_PARAM.findall(sql))
    params = {"history_months": ALL_HISTORY_MONTHS, **params}
    missing = names - params.keys()
    if missing:
        raise KeyError(f"{name}.sql needs parameters {sorted(missing)}")
    inputs = dict(inputs or {})
    for relation, frame in inputs.items():
        con.register(relation, frame.to_arrow())
    try:
        result = con.execute(sql, {n: params[n] for n in names})
        return result.pl() if result.description else None
    finally:
        for relation in inputs:
            con.unregister(relation)


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def _band_ranks(settings: Settings) -> dict[str, int]:
    ranks = {band: i for i, band in enumerate(settings.models.bands)}
    sig = settings.signals
    for name, band in (("flag_band", sig.flag_band), ("release_band", sig.release_band)):
        if band not in ranks:
            raise ValueError(f"signals.{name} {band!r} is not one of models.bands {list(ranks)}")
    if ranks[sig.release_band] > ranks[sig.flag_band]:
        raise ValueError("signals.release_band must not be above signals.flag_band: a flag could then never "
                         "be released")
    unknown = set(sig.critical_signs) - indicators().keys()
    if unknown:
        raise ValueError(f"signals.critical_signs names indicators the catalog does not declare: {sorted(unknown)}")
    return ranks


def policy_inputs(settings: Settings) -> dict[str, pl.DataFrame]:
    """The settings history.sql reads as relations: sig_bands(band, rank) from models.bands
    (rank 0 = lowest), sig_critical(indicator_id, pos) from signals.critical_signs."""
    ranks = _band_ranks(settings)
    critical = settings.signals.critical_signs
    return {
        "sig_bands": pl.DataFrame({"band": list(ranks), "rank": list(ranks.values())},
                                  schema={"band": pl.Utf8, "rank": pl.Int64}),
        "sig_critical": pl.DataFrame({"indicator_id": list(critical), "pos": list(range(len(critical)))},
                                     schema={"indicator_id": pl.Utf8, "pos": pl.Int64}),
    }


def routing_facts(con: duckdb.DuckDBPyConnection, as_of: date, flagged: pl.DataFrame) -> pl.DataFrame:
    """What routing reads (signals/sql/routing_facts.sql, signals/routing.py FACT_SCHEMA) for
    the businesses of `flagged` (business_key) as of `as_of`."""
    return run_sql(con, "routing_facts", {"as_of": as_of, "legal_months": LEGAL_PROCEEDINGS_MONTHS},
                   {"sig_flagged": flagged.select("business_key")})


def _institutions(known: pl.DataFrame) -> pl.DataFrame:
    """business_key, institutions (list of {institution_id, local_id}), lead_institution_id."""
    lists = (
        known.explode("local_ids")
        .sort("business_key", "institution_id", "local_ids")
        .group_by("business_key", maintain_order=True)
        .agg(institutions=pl.struct(pl.col("institution_id"), pl.col("local_ids").alias("local_id")))
    )
    return lists.join(priority.lead_institutions(known), on="business_key", how="left")


def flags_as_of(con: duckdb.DuckDBPyConnection, as_of: date, settings: Settings) -> pl.DataFrame:
    """One row per business that belongs in the referral queue as of `as_of` (columns: SCHEMA).

    Needs risk_scores for `as_of` (MissingScores otherwise) and indicator_values for it; the
    earlier scanned months present in the warehouse are the history the hysteresis reads."""
    if not con.execute("SELECT count(*) FROM risk_scores WHERE as_of = ?", [as_of]).fetchone()[0]:
        raise MissingScores(as_of)
    sig = settings.signals
    ranks = _band_ranks(settings)
    flagged = run_sql(con, "history", {
        "as_of": as_of, "flag_rank": ranks[sig.flag_band], "release_rank": ranks[sig.release_band],
        "release_months": sig.release_months,
    }, policy_inputs(settings))
    if flagged.is_empty():
        return empty()
    keys = {"sig_flagged": flagged.select("business_key")}
    known = run_sql(con, "institutions", {"as_of": as_of, "recent_months": EXPOSURE_RECENT_MONTHS}, keys)
    facts = routing_facts(con, as_of, flagged)
    budgets = budget.budgets(run_sql(con, "monitored", {"as_of": as_of}), sig)
    snapshots = evidence.snapshots(con, as_of, flagged)
    cases = (
        flagged.join(_institutions(known), on="business_key", how="left")
        .join(facts, on="business_key", how="left")
        .pipe(routing.route)
        .pipe(priority.prioritise)
        .join(budgets.rename({"institution_id": "lead_institution_id"}), on="lead_institution_id", how="left")
        .join(snapshots, on="business_key", how="left")
        .with_columns(pl.col("institutions").fill_null(pl.lit([], dtype=SCHEMA["institutions"])))
    )
    return (
        cases.select([pl.col(name).cast(dtype) for name, dtype in SCHEMA.items()])
        .sort(["lead_institution_id", "priority_rank"], nulls_last=True)
    )
