"""Who reviews a flagged business first: the lead institution, the priority and the rank
(docs/signals.md, "Priority").

**Lead institution.** Every institution that knows the business may see its case, but one
leads the review: the institution with the largest exposure as of the date -- a bank's
current loan balance to the business, the association's current guaranteed balance (see
signals/sql/institutions.sql). Ties, and businesses with no current exposure anywhere, go
to the guarantee association if it guarantees the business, else to a bank, else to any
institution that knows it; the institution id decides the rest, so the choice is the same
every run.

**Priority.** Risk, discounted for lateness:

    priority = probability × PHASE_WEIGHTS[phase] × (IN_EVENT_WEIGHT if in_event else 1)

Support works best early (the point of the March 2025 package), so at the same
probability a business still in 収益力改善 comes before one already in 事業再生, and one not
yet in a deterioration event before one that is. A high enough probability still puts a
late case first: the weights only discount it.

**Rank.** Flagged businesses are ranked 1, 2, … within their lead institution by priority
(ties: higher probability, then business key). Which of them become new cases this month is
decided against the institution's monthly review budget by the queue, which knows who already
has an open case (signals/budget.py).
"""
from __future__ import annotations

import polars as pl

from signals.phases import PHASES

# How early each phase still is: the share of its risk that counts toward priority.
PHASE_WEIGHTS: dict[str, float] = {
    "profitability": 1.0,
    "management_improvement": 0.85,
    "revitalisation": 0.7,
    "rechallenge": 0.5,
}
# A business already in a deterioration event is past early warning: its case still goes to
# the queue (routed to 事業再生 or 再チャレンジ) but earlier cases come first.
IN_EVENT_WEIGHT = 0.5

if set(PHASE_WEIGHTS) != set(PHASES):
    raise ValueError("PHASE_WEIGHTS must weigh every phase of signals.phases.PHASES")


def lead_institutions(known: pl.DataFrame) -> pl.DataFrame:
    """business_key, lead_institution_id from one row per (business, institution) with
    `exposure_jpy` (nullable), `guarantor` and `is_bank`."""
    exposure = pl.col("exposure_jpy")
    return (
        known.with_columns(exposure=pl.when(exposure > 0).then(exposure))
        .sort(["business_key", "exposure", "guarantor", "is_bank", "institution_id"],
              descending=[False, True, True, True, False], nulls_last=True)
        .group_by("business_key", maintain_order=True)
        .agg(lead_institution_id=pl.col("institution_id").first())
    )


def priority(probability: pl.Expr, phase: pl.Expr, in_event: pl.Expr) -> pl.Expr:
    weight = phase.replace_strict(PHASE_WEIGHTS, return_dtype=pl.Float64)
    return probability * weight * pl.when(in_event.fill_null(False)).then(IN_EVENT_WEIGHT).otherwise(1.0)


def prioritise(cases: pl.DataFrame) -> pl.DataFrame:
    """The cases with `priority` and `priority_rank` (1 = first within the lead institution)
    added. Needs business_key, probability, phase, in_event and lead_institution_id."""
    ranked = cases.with_columns(
        priority=priority(pl.col("probability"), pl.col("phase"), pl.col("in_event"))
    ).sort(["lead_institution_id", "priority", "probability", "business_key"],
           descending=[False, True, True, False], nulls_last=True)
    return ranked.with_columns(
        priority_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("lead_institution_id"))
