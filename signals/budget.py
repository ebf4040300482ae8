"""The monthly review budget (月間審査枠): how many new watch-list entries each institution
opens as cases in a month, and which ones (docs/signals.md, "Monthly review budget").

Reviewers read 1-2% of their book a month, in depth. Opening a case for every flagged
business buries them (on the demo about 15% of all businesses are flagged; nationally one
night would open some 180,000 cases), so the nightly flags open cases only up to each lead
institution's budget and keep the rest ranked below the line (queue table `waiting_entries`),
where a later month's budget reaches them.

**Budget.** `signals.monthly_capacity[<institution id>]` if set, else
`signals.monthly_budget_share` × the businesses the institution monitors as of the date
(`monitored`: in the monitored universe, with a loan, deposit account or guarantee at the
institution; signals/sql/monitored.sql), rounded down, at least 1.

**Ranking of new entries** (flagged businesses without an open case), within each lead
institution: entries with a critical sign first (a missed payment of 90 days or a stopped tax
debit is worth a reviewer's look whatever the score), then by ranking priority (the flags'
priority, halved for a business whose last case was dismissed: below), then probability,
then business key, so the order is the same every run.

**A dismissal feeds the next months' ranking.** A reviewer who dismissed a business's last
case (within `DISMISSAL_LOOKBACK_MONTHS`) judged it not worth support; when it is flagged
again it re-enters the ranking with its priority × `DISMISSAL_DISCOUNT`, unless something
changed since: its probability is now at least `DISMISSAL_REENTRY_RATIO` × the probability
at dismissal (its last snapshot), or a critical sign fires that none of that case's snapshots
had. The cool-down (signals.cooldown_months, in the store) still keeps a dismissed business
out altogether for its first months; this discount acts after it.
"""
from __future__ import annotations

import polars as pl

from yocho.settings import SignalSettings

# How long a dismissal still counts against a business re-entering the ranking: two years
# of a reviewer's judgement, after which the business is ranked afresh.
DISMISSAL_LOOKBACK_MONTHS = 24
# A dismissed business's priority counts half: it still rises above mild new entries when its
# risk is high, but a reviewer's recent "not needed" is not overturned by the same picture.
DISMISSAL_DISCOUNT = 0.5
# The risk has clearly grown since the dismissal once the probability is half as high again
# as it was then: the reviewer judged a different business, so no discount.
DISMISSAL_REENTRY_RATIO = 1.5


def budgets(monitored: pl.DataFrame, settings: SignalSettings) -> pl.DataFrame:
    """institution_id, monitored, monthly_budget from one row per institution with `monitored`."""
    share = pl.col("monitored").cast(pl.Float64) * settings.monthly_budget_share
    by_share = pl.max_horizontal(share.floor().cast(pl.Int64), pl.lit(1, dtype=pl.Int64))
    override = pl.col("institution_id").replace_strict(
        settings.monthly_capacity, default=None, return_dtype=pl.Int64)
    return monitored.select(
        pl.col("institution_id").cast(pl.Utf8),
        pl.col("monitored").cast(pl.Int64),
        monthly_budget=pl.coalesce(override, by_share),
    )


def discount_dismissed(candidates: pl.DataFrame, dismissed: pl.DataFrame) -> pl.DataFrame:
    """`candidates` (business_key, priority, probability, critical_signs) with
    `ranking_priority` and `dismissal_discount` added.

    `dismissed`: one row per business whose latest institutions' case (closed within
    DISMISSAL_LOOKBACK_MONTHS) was dismissed, with `dismissed_probability` (its last
    snapshot's) and `dismissed_signs` (every critical sign its snapshots had)."""
    joined = candidates.join(dismissed.select("business_key", "dismissed_probability", "dismissed_signs"),
                             on="business_key", how="left")
    new_sign = (pl.col("critical_signs").list.set_difference(pl.col("dismissed_signs").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))))
                .list.len() > 0)
    risen = pl.col("probability") >= DISMISSAL_REENTRY_RATIO * pl.col("dismissed_probability")
    discount = (pl.col("dismissed_signs").is_not_null()
                & ~new_sign & ~risen.fill_null(False))
    return joined.with_columns(dismissal_discount=discount).with_columns(
        ranking_priority=pl.when(pl.col("dismissal_discount"))
        .then(pl.col("priority") * DISMISSAL_DISCOUNT).otherwise(pl.col("priority"))
    ).drop("dismissed_probability", "dismissed_signs")


def split_at_budget(candidates: pl.DataFrame, remaining: pl.DataFrame) -> pl.DataFrame:
    """Rank the new entries within their lead institution and draw the line.

    `candidates`: business_key, lead_institution_id, critical_signs, ranking_priority,
    probability. `remaining`: lead_institution_id, remaining (the budget not yet used this
    month). Returns the candidates with `open` (within the budget) and `rank` (1, 2, … below
    the line; null for those opened). A business without a lead institution has nobody to
    review it and no budget: it waits."""
    ranked = (
        candidates.with_columns(critical=pl.col("critical_signs").list.len() > 0)
        .sort(["lead_institution_id", "critical", "ranking_priority", "probability", "business_key"],
              descending=[False, True, True, True, False], nulls_last=True)
        .with_columns(position=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("lead_institution_id"))
        .join(remaining.select("lead_institution_id", pl.col("remaining").cast(pl.Int64)),
              on="lead_institution_id", how="left")
        .with_columns(pl.col("remaining").fill_null(0).clip(lower_bound=0))
    )
    return ranked.with_columns(open=pl.col("position") <= pl.col("remaining")).with_columns(
        rank=pl.when(pl.col("open")).then(None).otherwise(pl.col("position") - pl.col("remaining"))
    ).drop("critical", "position", "remaining")
