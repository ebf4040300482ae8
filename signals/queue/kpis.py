"""Referral KPIs, counted the way the council's own reports count them.

- by route: 金融機関 (referred by a bank reviewer), 信用保証協会 (by a CGA analyst), 士業 and
  その他 (registered by hand by council intake: `QueueStore.register_manual_referral`);
- by support phase at referral (収益力改善 / 経営改善 / 事業再生 / 再チャレンジ, 未設定);
- by Japanese fiscal-year quarter of the referral date (the fiscal year runs April–March:
  2026-05-10 is FY2026 Q1, 2027-02-01 is FY2026 Q4);
- by outcome (紹介済 pending, 受付, 不受理);
- the median days from the first warning sign (first_sign_on) to the referral;
- reviewers' decisions per fiscal quarter (`decision_kpis`): cases dismissed (by reason
  code), snoozed to watch, consent obtained, referred — from the audit log;
- the early share (`early_share`, 早期着手率): of the cases the nightly flags opened, the share
  opened before any deterioration event of the business (条件変更, 延滞90日以上, 代位弁済,
  破綻・法的整理, 格下げ: the events the risk model learns to foresee), counted in one SQL query.

Scoped like every read: council intake counts the referrals made to its own council (one per
prefecture), an administrator every council's, with the breakdown per council (`by_council`);
a bank or CGA user counts the referrals among its own cases.
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select

from signals.phases import PHASES
from signals.queue.lifecycle import COUNCIL_STATES, ROUTE_JA, STATE_JA, Route, State
from signals.queue.schema import OWNER_INSTITUTIONS, cases, transitions
from signals.queue.store import TOKYO, CaseDetail, CaseQuery, QueueStore, User, _aware, _scope

UNSET_PHASE = "未設定"


def fiscal_quarter(day: date) -> tuple[int, int]:
    """(fiscal year, quarter) of a date; the fiscal year starting in April of year Y is FY Y."""
    year = day.year if day.month >= 4 else day.year - 1
    return year, (day.month - 4) % 12 // 3 + 1


def fiscal_quarter_label(day: date) -> str:
    year, quarter = fiscal_quarter(day)
    return f"FY{year} Q{quarter}"


def fiscal_quarter_label_ja(day: date) -> str:
    year, quarter = fiscal_quarter(day)
    return f"{year}年度第{quarter}四半期"


@dataclass(frozen=True)
class ReferralKpis:
    total: int
    by_route: dict[str, int]  # 金融機関, 信用保証協会, 士業, その他 (all four, zeros included)
    by_phase: dict[str, int]  # phase in Japanese, in the order of signals.phases, then 未設定
    by_quarter: dict[str, int]  # "FY2026 Q1", chronological
    by_outcome: dict[str, int]  # 協議会へ紹介済 / 受付（事前相談） / 不受理
    median_days_first_sign_to_referral: float | None  # over referrals with a first sign date
    by_route_quarter: dict[tuple[str, str], int]  # (quarter, route) -> referrals
    # council id (council_NN) -> outcome (as by_outcome) -> referrals: one council's own for
    # its intake, every council's for an administrator (the national view's breakdown)
    by_council: dict[str, dict[str, int]]


def referral_kpis(store: QueueStore, user: User, *, since: date | None = None,
                  until: date | None = None) -> ReferralKpis:
    """KPIs over the referrals the user can see, with referral dates in [since, until]."""
    referrals = [c for c in store.all_cases(user, CaseQuery(states=tuple(sorted(COUNCIL_STATES)),
                                                            sort="referred_on", descending=False))
                 if c.referred_on is not None
                 and (since is None or c.referred_on >= since) and (until is None or c.referred_on <= until)]
    by_route = {label: 0 for label in ROUTE_JA.values()}
    by_phase = {phase.ja: 0 for phase in PHASES.values()} | {UNSET_PHASE: 0}
    by_outcome = {STATE_JA[s]: 0 for s in (State.REFERRED, State.ACCEPTED, State.DECLINED)}
    quarters: Counter[tuple[int, int]] = Counter()
    route_quarter: Counter[tuple[str, str]] = Counter()
    days: list[int] = []
    by_council: dict[str, dict[str, int]] = {}
    for case in referrals:
        assert case.referred_on is not None
        route = ROUTE_JA[case.route or Route.OTHER]
        by_route[route] += 1
        by_phase[PHASES[case.referral_phase].ja if case.referral_phase in PHASES else UNSET_PHASE] += 1
        by_outcome[STATE_JA[case.state]] += 1
        council = by_council.setdefault(case.council_id or "", {label: 0 for label in by_outcome})
        council[STATE_JA[case.state]] += 1
        quarters[fiscal_quarter(case.referred_on)] += 1
        route_quarter[(fiscal_quarter_label(case.referred_on), route)] += 1
        if case.first_sign_on is not None:
            days.append((case.referred_on - case.first_sign_on).days)
    return ReferralKpis(
        total=len(referrals),
        by_route=by_route,
        by_phase=by_phase,
        by_quarter={f"FY{y} Q{q}": n for (y, q), n in sorted(quarters.items())},
        by_outcome=by_outcome,
        median_days_first_sign_to_referral=float(statistics.median(days)) if days else None,
        by_route_quarter=dict(sorted(route_quarter.items())),
        by_council=dict(sorted(by_council.items())),
    )


# The decisions a reviewer records on a case, in the order the KPI page lists them.
DECISIONS = (State.DISMISSED, State.SNOOZED, State.CONSENT_OBTAINED, State.REFERRED)


@dataclass(frozen=True)
class DecisionKpis:
    total: dict[State, int]  # every decision in DECISIONS (zeros included)
    by_quarter: dict[str, dict[State, int]]  # "FY2026 Q1" -> decision -> count, chronological
    dismissed_by_reason: dict[str | None, int]  # reason code -> dismissals (None: recorded without a code)
    dismissed_by_quarter_reason: dict[tuple[str, str | None], int]  # (quarter, reason code) -> dismissals


def decision_kpis(store: QueueStore, user: User, *, since: date | None = None,
                  until: date | None = None) -> DecisionKpis:
    """Reviewers' decisions, from the case audit log (`transitions`), on the cases the user can
    see, made on days (in Japan) in [since, until]: each move to dismissed, snoozed (watch),
    consent obtained or referred by a person, counted in the fiscal quarter it was made.
    The nightly job's moves and council intake's hand-registered referrals are not reviewers'
    decisions and are not counted."""
    with store._read() as conn:
        actor = store._actor(conn, user)
        rows = conn.execute(
            select(transitions.c.at, transitions.c.to_state, transitions.c.reason_code)
            .join(cases, cases.c.id == transitions.c.case_id)
            .where(_scope(actor), transitions.c.to_state.in_(sorted(d.value for d in DECISIONS)),
                   transitions.c.actor_user_id.is_not(None), transitions.c.from_state.is_not(None),
                   # an audit row that moves nothing (a document request's) is no decision
                   transitions.c.from_state != transitions.c.to_state)).all()
    total = {d: 0 for d in DECISIONS}
    quarters: dict[tuple[int, int], dict[State, int]] = {}
    reasons: Counter[str | None] = Counter()
    quarter_reasons: Counter[tuple[tuple[int, int], str | None]] = Counter()
    for r in rows:
        day = _aware(r.at).astimezone(TOKYO).date()
        if (since is not None and day < since) or (until is not None and day > until):
            continue
        decision, quarter = State(r.to_state), fiscal_quarter(day)
        total[decision] += 1
        quarters.setdefault(quarter, {d: 0 for d in DECISIONS})[decision] += 1
        if decision is State.DISMISSED:
            reasons[r.reason_code] += 1
            quarter_reasons[(quarter, r.reason_code)] += 1
    return DecisionKpis(
        total=total,
        by_quarter={f"FY{y} Q{q}": counts for (y, q), counts in sorted(quarters.items())},
        dismissed_by_reason=dict(reasons.most_common()),
        dismissed_by_quarter_reason={(f"FY{y} Q{q}", code): n for ((y, q), code), n in
                                     sorted(quarter_reasons.items(), key=lambda item: (item[0][0], str(item[0][1])))},
    )


@dataclass(frozen=True)
class EarlyShare:
    """早期着手率: of the cases the nightly flags opened (flag date within the range), those
    whose business had no deterioration event on or before the day the case was opened."""
    opened: int  # the denominator: opened cases whose nights reported the business's events
    early: int  # the numerator: of those, opened before any event (none yet, or its first later)
    unknown: int  # opened cases left out: no night reported events for them (opened before it did)

    @property
    def share(self) -> float | None:
        return self.early / self.opened if self.opened else None


def early_share(store: QueueStore, user: User, *, since: date | None = None,
                until: date | None = None) -> EarlyShare:
    """The early share over the cases the user can see that the nightly flags opened with
    flag dates in [since, until]. A case is early when the first deterioration event its
    nights reported (`cases.first_event_on`, the earliest any night knew of, a late report
    included) is after the day it was opened, or there has been none. Council-owned manual
    referrals were not opened by the flags and are not counted."""
    known = cases.c.events_as_of.is_not(None)
    early = or_(cases.c.first_event_on.is_(None), cases.c.first_event_on > cases.c.flagged_on)
    conditions = [cases.c.owner == OWNER_INSTITUTIONS, cases.c.flagged_on.is_not(None)]
    if since is not None:
        conditions.append(cases.c.flagged_on >= since)
    if until is not None:
        conditions.append(cases.c.flagged_on <= until)
    with store._read() as conn:
        actor = store._actor(conn, user)
        opened, early_n, unknown = conn.execute(select(
            func.coalesce(func.sum(sql_case((known, 1), else_=0)), 0),
            func.coalesce(func.sum(sql_case((known & early, 1), else_=0)), 0),
            func.coalesce(func.sum(sql_case((known, 0), else_=1)), 0),
        ).where(_scope(actor), *conditions)).one()
    return EarlyShare(int(opened), int(early_n), int(unknown))


def register_manual_referral(store: QueueStore, user: User, business_key: str, route: Route | str,
                             note: str | None, *, phase: str | None = None,
                             consent_on: date | None = None) -> CaseDetail:
    """Council intake registers a 士業 / その他 referral by hand (see
    `QueueStore.register_manual_referral`, which this calls)."""
    return store.register_manual_referral(user, business_key, route, note, phase=phase, consent_on=consent_on)
