"""The watch list against the monthly review budget (月間審査枠): which of a night's new
entries open a case, the ranked entries waiting below the line, and the scoped reads of both
for the web app (docs/queue.md, "Monthly review budget"; the ranking rules are in
signals/budget.py).

Waiting entries are confidential like cases: a bank reviewer or an association analyst sees
only the entries its own institution leads; council intake sees none (nothing below the line
is a referral, and nothing reaches the council without the owner's consent); an administrator
sees the counts, never the list.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, func, select

from signals.budget import DISMISSAL_LOOKBACK_MONTHS, discount_dismissed, split_at_budget
from signals.queue.batches import chunks as _chunks
from signals.queue.lifecycle import CLOSED_STATES, INSTITUTION_ROLES, Forbidden, InvalidInput, Role, State
from signals.queue.months import add_months
from signals.queue.schema import OWNER_INSTITUTIONS, cases, evidence_snapshots, review_budgets, waiting_entries
from signals.queue.views import Paged

if TYPE_CHECKING:
    from signals.queue.store import QueueStore, User

# The candidates frame apply_flags hands over: one row per new entry (a flagged business
# without an open case, past the cool-down).
CANDIDATE_SCHEMA: dict[str, pl.DataType] = {
    "business_key": pl.Utf8,
    "lead_institution_id": pl.Utf8,
    "lead_local_id": pl.Utf8,
    "trigger": pl.Utf8,
    "critical_signs": pl.List(pl.Utf8),
    "probability": pl.Float64,
    "band": pl.Utf8,
    "phase": pl.Utf8,
    "in_event": pl.Boolean,
    "priority": pl.Float64,
    "first_sign_on": pl.Date,
    "business_name": pl.Utf8,
}


@dataclass(frozen=True)
class BudgetLine:
    """One lead institution's monthly review budget after a night's flags were applied."""
    institution_id: str
    monitored: int  # businesses it monitors as of the date
    budget: int  # new cases it can open this month (月間審査枠)
    opened: int  # new cases opened by this application
    used: int  # new cases opened against this month's budget so far, this application included
    waiting: int  # new entries ranked below the line, waiting


@dataclass(frozen=True)
class Drawn:
    """What apply_flags writes: the keys to open (by business key), the waiting_entries rows
    and the review_budgets rows for as_of, and the per-institution report."""
    to_open: list[str]
    waiting_rows: list[dict[str, Any]]
    budget_rows: list[dict[str, Any]]
    lines: tuple[BudgetLine, ...]


def _month(as_of: date) -> tuple[date, date]:
    """The calendar month of as_of, [first day, first day of the next month)."""
    start = as_of.replace(day=1)
    return start, add_months(start, 1)


def _opened_in_month(as_of: date) -> tuple[ColumnElement[bool], ...]:
    """The cases the nightly flags opened in as_of's calendar month: what a month's review
    budget counts (count them per `budget_institution_id`)."""
    start, end = _month(as_of)
    return cases.c.owner == OWNER_INSTITUTIONS, cases.c.flagged_on >= start, cases.c.flagged_on < end


def budgets_of(flags: pl.DataFrame) -> pl.DataFrame:
    """lead_institution_id, monitored, monthly_budget: one row per lead institution of the
    flags frame (its `monitored` and `monthly_budget` columns; unknown counts as 0)."""
    return (flags.filter(pl.col("lead_institution_id").is_not_null())
            .group_by("lead_institution_id")
            .agg(pl.col("monitored").max().fill_null(0).cast(pl.Int64),
                 pl.col("monthly_budget").max().fill_null(0).cast(pl.Int64))
            .sort("lead_institution_id"))


def draw_the_line(conn: Connection, budgets: pl.DataFrame, candidates: pl.DataFrame, as_of: date,
                  now: datetime) -> Drawn:
    """Rank the night's new entries within their lead institution and open the first ones up
    to what is left of its budget for as_of's month (the cases already opened against it that
    month count, so applying a night again never goes beyond it); the others wait, ranked."""
    used: dict[str, int] = {}
    for chunk in _chunks(budgets["lead_institution_id"].to_list()):
        used.update(conn.execute(
            select(cases.c.budget_institution_id, func.count()).where(
                *_opened_in_month(as_of), cases.c.budget_institution_id.in_(chunk))
            .group_by(cases.c.budget_institution_id)).tuples().all())
    budgets = budgets.with_columns(
        used=pl.col("lead_institution_id").replace_strict(used, default=0, return_dtype=pl.Int64))
    remaining = budgets.select("lead_institution_id", remaining=pl.col("monthly_budget") - pl.col("used"))

    drawn = split_at_budget(
        discount_dismissed(candidates, dismissed(conn, candidates["business_key"].to_list(), as_of)), remaining)
    below = drawn.filter(~pl.col("open")).select(
        "business_key", "lead_institution_id", "lead_local_id", "rank", "trigger", "critical_signs", "probability",
        "band", "phase", "in_event", "priority", "ranking_priority", "dismissal_discount", "first_sign_on",
        "business_name")
    waiting_rows = [{**row, "as_of": as_of, "created_at": now,
                     "ranking_priority": None if row["ranking_priority"] is None
                     or math.isnan(row["ranking_priority"]) else row["ranking_priority"]}
                    for row in below.to_dicts()]
    counts = drawn.group_by("lead_institution_id").agg(
        opened=pl.col("open").sum().cast(pl.Int64), waiting=(~pl.col("open")).sum().cast(pl.Int64))
    summary = budgets.join(counts, on="lead_institution_id", how="left").with_columns(
        pl.col("opened").fill_null(0), pl.col("waiting").fill_null(0))
    lines = tuple(BudgetLine(r["lead_institution_id"], r["monitored"], r["monthly_budget"], r["opened"],
                             r["used"] + r["opened"], r["waiting"]) for r in summary.iter_rows(named=True))
    budget_rows = [{"as_of": as_of, "institution_id": line.institution_id, "monitored": line.monitored,
                    "budget": line.budget} for line in lines]
    return Drawn(sorted(drawn.filter(pl.col("open"))["business_key"].to_list()), waiting_rows, budget_rows, lines)


def dismissed(conn: Connection, keys: list[str], as_of: date) -> pl.DataFrame:
    """business_key, dismissed_probability, dismissed_signs of the businesses whose latest
    institutions' case was closed as dismissed within DISMISSAL_LOOKBACK_MONTHS of as_of: the
    probability of that case's last snapshot and every critical sign its snapshots had."""
    cutoff = add_months(as_of, -DISMISSAL_LOOKBACK_MONTHS)
    closed: list[tuple[int, str, str, date]] = []
    for chunk in _chunks(keys):
        closed += conn.execute(select(cases.c.id, cases.c.business_key, cases.c.state, cases.c.closed_on).where(
            cases.c.owner == OWNER_INSTITUTIONS, cases.c.state.in_(sorted(s.value for s in CLOSED_STATES)),
            cases.c.closed_on > cutoff, cases.c.business_key.in_(chunk))).tuples().all()
    latest = (pl.DataFrame(closed, schema={"case_id": pl.Int64, "business_key": pl.Utf8, "state": pl.Utf8,
                                           "closed_on": pl.Date}, orient="row")
              .sort("business_key", "closed_on", "case_id")
              .group_by("business_key", maintain_order=True).last()
              .filter(pl.col("state") == State.DISMISSED.value))
    snaps: list[tuple[int, date, float | None, list[str]]] = []
    for chunk in _chunks(latest["case_id"].to_list()):
        snaps += [(r.case_id, r.as_of, r.probability, list(r.critical_signs or []))
                  for r in conn.execute(select(evidence_snapshots.c.case_id, evidence_snapshots.c.as_of,
                                               evidence_snapshots.c.probability, evidence_snapshots.c.critical_signs)
                                        .where(evidence_snapshots.c.case_id.in_(chunk)))]
    per_case = (pl.DataFrame(snaps, schema={"case_id": pl.Int64, "as_of": pl.Date, "probability": pl.Float64,
                                            "signs": pl.List(pl.Utf8)}, orient="row")
                .sort("case_id", "as_of")
                .group_by("case_id", maintain_order=True)
                .agg(dismissed_probability=pl.col("probability").last(),
                     dismissed_signs=pl.col("signs").list.explode(keep_nulls=False, empty_as_null=False)
                     .drop_nulls().unique().sort()))
    return latest.join(per_case, on="case_id", how="inner").select(
        "business_key", "dismissed_probability", "dismissed_signs")


# ---------------------------------------------------------------------------- scoped reads

@dataclass(frozen=True)
class BudgetStatus:
    """This month's review budget as the acting user may see it: its own institution's (an
    administrator: every institution's, summed)."""
    as_of: date  # the latest night applied
    monitored: int
    budget: int
    opened: int  # new cases opened against the budget in as_of's month
    waiting: int  # entries waiting below the line as of as_of


@dataclass(frozen=True)
class WaitingEntry:
    rank: int
    business_key: str
    lead_local_id: str | None
    trigger: str | None
    critical_signs: list[str]
    probability: float | None
    band: str | None
    phase: str | None
    in_event: bool | None
    priority: float | None
    ranking_priority: float | None
    dismissal_discount: bool
    first_sign_on: date | None
    business_name: str | None = None  # 商号 on the night's date


@dataclass(frozen=True)
class WaitingPage(Paged):
    as_of: date | None
    items: list[WaitingEntry]
    total: int
    page: int
    page_size: int


def _own_institution(actor: User) -> str | None:
    """The institution whose waiting entries `actor` may list; None: none at all."""
    if actor.role in INSTITUTION_ROLES and actor.institution_id:
        return actor.institution_id
    return None


def _latest_night(conn: Connection) -> date | None:
    """The as_of of the latest night applied: the lists and budgets shown are that night's, so
    a list an earlier night left is never shown as current."""
    return conn.execute(select(func.max(review_budgets.c.as_of))).scalar_one_or_none()


def budget_status(store: QueueStore, user: User) -> BudgetStatus | None:
    """The budget of the latest night applied, for the acting user's institution (an
    administrator: all institutions' budgets, opened cases and waiting entries summed). None
    for council intake, and when that night set no budget for the institution (it led no
    flagged business)."""
    with store._read() as conn:
        actor = store._actor(conn, user)
        if actor.role is Role.ADMIN:
            institution = None
        else:
            institution = _own_institution(actor)
            if institution is None:
                return None
        mine = [review_budgets.c.institution_id == institution] if institution else []
        as_of = _latest_night(conn)
        if as_of is None or not conn.execute(select(func.count()).select_from(review_budgets).where(
                review_budgets.c.as_of == as_of, *mine)).scalar_one():
            return None
        monitored, budget = conn.execute(
            select(func.coalesce(func.sum(review_budgets.c.monitored), 0),
                   func.coalesce(func.sum(review_budgets.c.budget), 0))
            .where(review_budgets.c.as_of == as_of, *mine)).one()
        opened = conn.execute(select(func.count()).select_from(cases).where(
            *_opened_in_month(as_of),
            cases.c.budget_institution_id == institution if institution
            else cases.c.budget_institution_id.is_not(None))).scalar_one()
        waiting = conn.execute(select(func.count()).select_from(waiting_entries).where(
            waiting_entries.c.as_of == as_of,
            *([waiting_entries.c.lead_institution_id == institution] if institution else []))).scalar_one()
        return BudgetStatus(as_of, int(monitored), int(budget), int(opened), int(waiting))


def waiting_page(store: QueueStore, user: User, *, page: int = 1, page_size: int = 50) -> WaitingPage:
    """The acting user's institution's entries waiting below the line as of the latest night
    applied (none when that night opened all of them), by rank. Forbidden for council intake and administrators (counts only:
    `budget_status`)."""
    if page < 1 or not 1 <= page_size <= 1000:
        raise InvalidInput("page must be ≥ 1 and page_size between 1 and 1000")
    with store._read() as conn:
        actor = store._actor(conn, user)
        institution = _own_institution(actor)
        if institution is None:
            raise Forbidden("waiting entries are shown to their lead institution's reviewers only")
        mine = waiting_entries.c.lead_institution_id == institution
        as_of = _latest_night(conn)
        if as_of is None:
            return WaitingPage(None, [], 0, page, page_size)
        where = (mine, waiting_entries.c.as_of == as_of)
        total = conn.execute(select(func.count()).select_from(waiting_entries).where(*where)).scalar_one()
        rows = conn.execute(select(waiting_entries).where(*where).order_by(waiting_entries.c.rank)
                            .limit(page_size).offset((page - 1) * page_size)).all()
        items = [WaitingEntry(
            rank=r.rank, business_key=r.business_key, lead_local_id=r.lead_local_id, trigger=r.trigger,
            critical_signs=list(r.critical_signs or []), probability=r.probability, band=r.band, phase=r.phase,
            in_event=r.in_event, priority=r.priority, ranking_priority=r.ranking_priority,
            dismissal_discount=bool(r.dismissal_discount), first_sign_on=r.first_sign_on,
            business_name=r.business_name) for r in rows]
        return WaitingPage(as_of, items, total, page, page_size)
