"""The council's own report of what followed its referrals, counted in SQL.

- 相談件数 by 持込経路 (金融機関 / 信用保証協会 / 士業 / その他: the route on the case; a 士業 or
  その他 referral is one council intake registered by hand) per fiscal-year quarter (April
  start: Q1 = April–June) of the day the council accepted it (受付, `cases.closed_on`);
- 支援完了件数 by phase: the cases whose stage log reached 支援完了, under the latest support
  phase (収益力改善 / 経営改善 / 事業再生 / 再チャレンジ支援) recorded before it, per fiscal quarter
  of the completion;
- the months from the first warning sign to the referral, from the referral to the plan agreed
  (金融機関調整成立) and from the first sign to the plan agreed: medians with their counts.

Scoped like every read (`_scope`): council intake counts its own council's referrals, an
administrator every council's (national), with the per-council breakdown. The database
groups and takes the medians (window functions, on SQLite and PostgreSQL alike); Python
only labels the grouped rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import INTEGER, ColumnElement, Connection, and_, cast, extract, func, literal, or_, select
from sqlalchemy import case as sql_case

from signals.queue.actors import User
from signals.queue.lifecycle import ROUTE_JA, Route, State
from signals.queue.schema import cases, support_stages
from signals.queue.scope import _scope
from signals.queue.stage_terms import PHASE_STAGES, STAGE_LABELS, Stage

DAYS_PER_MONTH = 365.25 / 12
ROUTES = tuple(ROUTE_JA.values())  # 金融機関, 信用保証協会, 士業, その他
PHASES = tuple(STAGE_LABELS[s][0] for s in PHASE_STAGES)
NO_PHASE = "フェーズ未記録"
NATIONAL = ""  # the key of the figures over every council the user can see
# (key, Japanese, English) of the durations the report gives
DURATIONS = (("sign_to_referral", "最初の予兆 → 紹介", "First sign → referral"),
             ("referral_to_plan", "紹介 → 計画合意", "Referral → plan agreed"),
             ("sign_to_plan", "最初の予兆 → 計画合意", "First sign → plan agreed"))


def fiscal_quarter_sql(day: Any) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """(fiscal year, quarter) of a date column, in SQL: the year starting in April of Y is FY Y."""
    month = cast(extract("month", day), INTEGER)
    year = cast(extract("year", day), INTEGER)
    fiscal_year = year - sql_case((month < 4, 1), else_=0)
    quarter = sql_case((month.between(4, 6), 1), (month.between(7, 9), 2), (month.between(10, 12), 3), else_=4)
    return fiscal_year, quarter


def days_between(conn: Connection, later: Any, earlier: Any) -> ColumnElement[Any]:
    """Whole days from `earlier` to `later` (dates): PostgreSQL subtracts dates, SQLite
    subtracts Julian day numbers."""
    if conn.dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return later - earlier


@dataclass(frozen=True)
class Duration:
    median_months: float | None
    count: int


@dataclass(frozen=True)
class StageKpis:
    # council id (NATIONAL for all the user sees) -> ("FY2026 Q1", route label) -> consultations
    consultations: dict[str, dict[tuple[str, str], int]]
    # council id -> ("FY2026 Q1", phase label) -> completions
    completions: dict[str, dict[tuple[str, str], int]]
    # council id -> duration key -> median and count
    durations: dict[str, dict[str, Duration]]

    def quarters(self, table: dict[str, dict[tuple[str, str], int]], council: str = NATIONAL) -> list[str]:
        return sorted({q for q, _ in table.get(council, {})}, key=_quarter_order)

    @property
    def councils(self) -> list[str]:
        return sorted({c for t in (self.consultations, self.completions, self.durations) for c in t} - {NATIONAL})


def _quarter_order(label: str) -> tuple[int, int]:
    year, quarter = label[2:].split(" Q")
    return int(year), int(quarter)


def _label(year: Any, quarter: Any) -> str:
    return f"FY{int(year)} Q{int(quarter)}"


def _route_label() -> ColumnElement[str]:
    return sql_case(*((cases.c.route == r.value, literal(label)) for r, label in ROUTE_JA.items()),
                    else_=literal(ROUTE_JA[Route.OTHER]))


def _counted(conn: Connection, actor: User, source: Any, day: Any, label: Any,
             where: list[Any]) -> dict[str, dict[tuple[str, str], int]]:
    """Counts per council and (quarter, label), and the same over every council (NATIONAL)."""
    fiscal_year, quarter = fiscal_quarter_sql(day)
    rows = conn.execute(select(cases.c.council_id, fiscal_year, quarter, label, func.count())
                        .select_from(source).where(_scope(actor), *where)
                        .group_by(cases.c.council_id, fiscal_year, quarter, label)).all()
    out: dict[str, dict[tuple[str, str], int]] = {NATIONAL: {}}
    for council, year, q, name, n in rows:  # grouped rows, a handful per council and quarter
        key = (_label(year, q), name)
        out.setdefault(council or "", {})[key] = int(n)
        out[NATIONAL][key] = out[NATIONAL].get(key, 0) + int(n)
    return out


def _plan_agreed() -> Any:
    return (select(support_stages.c.case_id, func.min(support_stages.c.stage_on).label("agreed_on"))
            .where(support_stages.c.stage == Stage.PLAN_AGREED.value).group_by(support_stages.c.case_id)
            .subquery("plan"))


def _medians(conn: Connection, actor: User, days: Any, where: list[Any], source: Any,
             partition: Any) -> dict[str, Duration]:
    """Median days per partition (the council, or one constant) by window functions: the
    middle row, or the mean of the two middle rows."""
    values = select(partition.label("grp"), days.label("days")).select_from(source).where(
        _scope(actor), *where).subquery("v")
    ranked = select(values.c.grp, values.c.days,
                    func.row_number().over(partition_by=values.c.grp, order_by=values.c.days).label("rn"),
                    func.count().over(partition_by=values.c.grp).label("n")).subquery("r")
    rows = conn.execute(select(ranked.c.grp, func.avg(ranked.c.days), func.max(ranked.c.n))
                        .where(or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2))
                        .group_by(ranked.c.grp)).all()
    return {str(g or ""): Duration(float(m) / DAYS_PER_MONTH, int(n)) for g, m, n in rows}


def stage_kpis(conn: Connection, actor: User) -> StageKpis:
    accepted = [cases.c.state == State.ACCEPTED.value, cases.c.closed_on.is_not(None)]
    consultations = _counted(conn, actor, cases, cases.c.closed_on, _route_label(), accepted)

    done = support_stages.alias("done")
    earlier = support_stages.alias("earlier")
    latest_phase = (select(earlier.c.stage).where(
        earlier.c.case_id == done.c.case_id, earlier.c.id < done.c.id,
        earlier.c.stage.in_([s.value for s in PHASE_STAGES]))
        .order_by(earlier.c.id.desc()).limit(1).scalar_subquery())
    phase_label = sql_case(*((latest_phase == s.value, literal(STAGE_LABELS[s][0])) for s in PHASE_STAGES),
                           else_=literal(NO_PHASE))
    completions = _counted(conn, actor, done.join(cases, cases.c.id == done.c.case_id), done.c.stage_on,
                           phase_label, [done.c.stage == Stage.COMPLETED.value])

    plan = _plan_agreed()
    with_plan = cases.join(plan, plan.c.case_id == cases.c.id)
    legs = {
        "sign_to_referral": (cases, days_between(conn, cases.c.referred_on, cases.c.first_sign_on),
                             [cases.c.referred_on.is_not(None), cases.c.first_sign_on.is_not(None)]),
        "referral_to_plan": (with_plan, days_between(conn, plan.c.agreed_on, cases.c.referred_on),
                             [cases.c.referred_on.is_not(None)]),
        "sign_to_plan": (with_plan, days_between(conn, plan.c.agreed_on, cases.c.first_sign_on),
                         [cases.c.first_sign_on.is_not(None)]),
    }
    durations: dict[str, dict[str, Duration]] = {NATIONAL: {}}
    referred = and_(cases.c.council_id.is_not(None))
    for key, (source, days, where) in legs.items():  # three queries per partition, not per row
        for partition in (cases.c.council_id, literal(NATIONAL)):
            for grp, duration in _medians(conn, actor, days, [referred, *where], source, partition).items():
                durations.setdefault(grp, {})[key] = duration
    return StageKpis(consultations, completions, durations)
