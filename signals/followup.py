"""Did it work? The warning signs and risk scores of referred businesses 12 and 24 months
after their plan was agreed, next to comparable businesses that were flagged but never
referred — observational, not a causal effect: the businesses referred differ from the
others in ways the flags do not see (the owner consented, a bank chose to refer, the council
accepted).

Comparable: the same recommended phase and risk band at flag time. A comparison business has
no plan date, so it is followed from its flag date plus the median time from flag to plan
agreed of the referred businesses of its phase and band; businesses of a phase and band with
no referred business are left out. At each point the business's latest score (DuckDB ASOF
join on the warehouse's `risk_scores`) counts only if scored within `FRESH_DAYS` before it;
a point after the warehouse's latest score date is not yet available. A group smaller than
`MIN_GROUP` gets no figures at all (`Horizon.status`).

One DuckDB query over the queue's cohort (signals/queue/followup_cohort.py) and the
warehouse; Python only reads the grouped result.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

HORIZONS = (12, 24)
MIN_GROUP = 5
FRESH_DAYS = 62  # a monthly score at most two month-ends old still describes the business

_SQL = """
WITH cohort AS (SELECT * FROM followup_cohort),
lag AS (
    SELECT phase, band, median(date_diff('day', flagged_on, plan_agreed_on)) AS lag_days
    FROM cohort WHERE grp = 'referred' GROUP BY phase, band
),
indexed AS (
    SELECT c.business_key, c.grp,
           CASE WHEN c.grp = 'referred' THEN c.plan_agreed_on
                ELSE c.flagged_on + CAST(round(l.lag_days) AS INTEGER) END AS index_on
    FROM cohort c JOIN lag l ON l.phase = c.phase AND l.band = c.band
),
latest AS (SELECT max(as_of) AS as_of FROM risk_scores),
points AS (
    SELECT i.business_key, i.grp, i.index_on, h.months,
           CAST(i.index_on + to_months(h.months) AS DATE) AS due
    FROM indexed i CROSS JOIN (SELECT unnest($horizons) AS months) h
),
at_index AS (
    SELECT p.*, r.as_of AS index_as_of, r.probability AS p0, r.signs_fired AS s0
    FROM points p ASOF LEFT JOIN risk_scores r ON p.business_key = r.business_key AND p.index_on >= r.as_of
),
at_due AS (
    SELECT p.*, r.as_of AS due_as_of, r.probability AS p1, r.signs_fired AS s1
    FROM at_index p ASOF LEFT JOIN risk_scores r ON p.business_key = r.business_key AND p.due >= r.as_of
),
followed AS (
    SELECT d.*, d.due <= (SELECT as_of FROM latest) AS reached,
           d.due <= (SELECT as_of FROM latest) AND d.due_as_of > d.due - $fresh
               AND d.index_as_of > d.index_on - $fresh AS scored
    FROM at_due d
)
SELECT grp, months, count(*) AS businesses,
       count(*) FILTER (WHERE NOT reached) AS not_yet,
       count(*) FILTER (WHERE scored) AS followed,
       avg(p0) FILTER (WHERE scored) AS probability_before,
       avg(p1) FILTER (WHERE scored) AS probability_after,
       avg(s0) FILTER (WHERE scored) AS signs_before,
       avg(s1) FILTER (WHERE scored) AS signs_after,
       avg(CASE WHEN s1 > 0 THEN 1.0 ELSE 0.0 END) FILTER (WHERE scored) AS share_with_signs
FROM followed GROUP BY grp, months
"""


@dataclass(frozen=True)
class GroupFigures:
    businesses: int  # in the group, for this horizon
    not_yet: int  # whose point is after the warehouse's latest score
    followed: int  # scored at the plan date (or its comparison point) and at the horizon
    probability_before: float | None
    probability_after: float | None
    signs_before: float | None  # mean warning signs fired
    signs_after: float | None
    share_with_signs: float | None  # share with at least one sign at the horizon


@dataclass(frozen=True)
class Horizon:
    months: int
    referred: GroupFigures
    comparison: GroupFigures
    # "ok": both groups have MIN_GROUP followed; "not_yet": no referred business has reached
    # the horizon; "too_few": otherwise (say so, show no number)
    status: str


_EMPTY = GroupFigures(0, 0, 0, None, None, None, None, None)


def followup(con: duckdb.DuckDBPyConnection, cohort: pl.DataFrame, *, horizons: tuple[int, ...] = HORIZONS,
             min_group: int = MIN_GROUP) -> list[Horizon]:
    """The comparison at each horizon (months after the plan agreed), from the warehouse
    connection `con` (its `risk_scores`) and the queue's cohort frame."""
    con.register("followup_cohort", cohort.to_arrow())
    try:
        rows = con.execute(_SQL, {"horizons": list(horizons), "fresh": FRESH_DAYS}).fetchall()
        columns = [d[0] for d in con.description]
    finally:
        con.unregister("followup_cohort")
    figures = {(r[0], r[1]): dict(zip(columns, r, strict=True)) for r in rows}
    out = []
    for months in horizons:
        groups = []
        for grp in ("referred", "comparison"):
            row = figures.get((grp, months))
            groups.append(_EMPTY if row is None else GroupFigures(
                int(row["businesses"]), int(row["not_yet"]), int(row["followed"]), row["probability_before"],
                row["probability_after"], row["signs_before"], row["signs_after"], row["share_with_signs"]))
        referred, comparison = groups
        if referred.businesses and referred.not_yet == referred.businesses:
            status = "not_yet"
        elif referred.followed < min_group or comparison.followed < min_group:
            status = "too_few"
        else:
            status = "ok"
        if status != "ok":  # say why, show no figure of a group too small to mean anything
            referred, comparison = _counts_only(referred), _counts_only(comparison)
        out.append(Horizon(months, referred, comparison, status))
    return out


def _counts_only(g: GroupFigures) -> GroupFigures:
    return GroupFigures(g.businesses, g.not_yet, g.followed, None, None, None, None, None)
