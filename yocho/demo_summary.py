"""The demo's closing words: what its figures mean for a guarantee association, in a Japanese
and an English paragraph.

Every figure comes from the run: the training summary (`flows.train.train_flow`: the chosen
model's backtest, and on synthetic data the watch list at the monthly review budget), the
night's flags (`flows.flags.flags_flow`: flagged businesses, budgets, waiting entries) and the
referral queue (cases opened this month by phase, and the early share, 早期着手率, as the KPI
page counts it: `signals.queue.kpis.early_share`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy import case as sql_case

from signals.phases import PHASES
from signals.queue import QueueStore
from signals.queue.actors import User
from signals.queue.kpis import EarlyShare, early_share
from signals.queue.lifecycle import Role
from signals.queue.schema import OWNER_INSTITUTIONS, cases, users


@dataclass(frozen=True)
class PhaseCases:
    """This month's cases of one support phase, and how many were opened only once the
    business was already in a deterioration event (late, not early)."""
    phase: str
    ja: str
    en: str
    cases: int
    late: int


@dataclass(frozen=True)
class DemoFigures:
    as_of: date
    flagged: int  # businesses flagged as of the date
    budget: int  # new cases the lead institutions can open this month (月間審査枠), summed
    opened: int  # new cases opened against this month's budgets
    waiting: int  # new entries ranked below the line
    model: str
    auc: float | None  # the chosen model's ROC AUC on the held-out months
    lead_months: float | None  # median months between a case and the event it came before
    lead_events: int | None  # events of the held-out months (synthetic data: the watch list's)
    lead_caught: int | None  # of those, caught ahead by the list
    lead_from_watchlist: bool  # True: the flag policy at the budget; False: the model's top 3% of scores
    early: EarlyShare | None  # None: the queue has no administrator to count with
    phases: tuple[PhaseCases, ...]


def _month_start(day: date) -> date:
    return day.replace(day=1)


def queue_admin(store: QueueStore) -> User | None:
    """An active administrator of the queue, read from the users table (no login recorded):
    the summary counts the whole queue, which only an administrator's scope covers."""
    with store.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.role == Role.ADMIN.value, users.c.active.is_(True))
                           .order_by(users.c.id).limit(1)).first()
    if row is None:
        return None
    return User(row.id, row.username, Role(row.role), row.institution_id, row.display_name, bool(row.active))


def month_early_share(store: QueueStore, as_of: date) -> EarlyShare | None:
    """The early share of the cases the nightly flags opened in the month of `as_of` (the KPI
    page's figure, `signals.queue.kpis.early_share`, over every institution)."""
    admin = queue_admin(store)
    return None if admin is None else early_share(store, admin, since=_month_start(as_of), until=as_of)


def month_cases_by_phase(store: QueueStore, as_of: date) -> tuple[PhaseCases, ...]:
    """The cases the nightly flags opened in the month of `as_of`, per recommended phase in the
    council's order, with those whose business's first deterioration event came on or before
    the day the case was opened: the complement of the early share, counted the same way."""
    late = and_(cases.c.events_as_of.is_not(None), cases.c.first_event_on.is_not(None),
                cases.c.first_event_on <= cases.c.flagged_on)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(cases.c.phase, func.count(), func.coalesce(func.sum(sql_case((late, 1), else_=0)), 0))
            .where(cases.c.owner == OWNER_INSTITUTIONS, cases.c.flagged_on >= _month_start(as_of),
                   cases.c.flagged_on <= as_of)
            .group_by(cases.c.phase)).all()
    counts = {phase: (int(n), int(n_late)) for phase, n, n_late in rows}
    return tuple(PhaseCases(key, p.ja, p.en, *counts[key]) for key, p in PHASES.items() if key in counts)


def figures(training: dict, flags: dict, store: QueueStore) -> DemoFigures:
    """The closing figures from the training summary, the night's flags and the queue."""
    as_of = date.fromisoformat(flags["as_of"])
    budgets = flags.get("budgets") or []
    backtest = training.get("backtest", {}).get(training.get("model"), {})
    rankings = (training.get("watchlist") or {}).get("rankings") or {}
    # the flag policy is what opens cases; without the generator's truth, the model's top 3%
    listed = rankings.get("flag_policy")
    return DemoFigures(
        as_of=as_of,
        flagged=flags["flagged"],
        budget=sum(b["budget"] for b in budgets),
        opened=sum(b["used"] for b in budgets),
        waiting=sum(b["waiting"] for b in budgets),
        model=training.get("model", ""),
        auc=backtest.get("roc_auc"),
        lead_months=listed.get("median_lead_months") if listed else backtest.get("median_lead_months_top_3%"),
        lead_events=listed.get("events") if listed else backtest.get("test_positives"),
        lead_caught=listed.get("caught") if listed else None,
        lead_from_watchlist=listed is not None,
        early=month_early_share(store, as_of),
        phases=month_cases_by_phase(store, as_of),
    )


def _months_of_budget(waiting: int, budget: int) -> int | None:
    return math.ceil(waiting / budget) if budget else None


def _n(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def _in100(auc: float) -> int:
    return round(auc * 100)


def japanese(f: DemoFigures) -> str:
    parts = [
        f"【今月見る先】{f.as_of.year}年{f.as_of.month}月{f.as_of.day}日時点でフラグが立った {f.flagged:,} 先のうち、月間審査枠 "
        f"{f.budget:,} 件の範囲で {f.opened:,} 件の案件を開きました。",
    ]
    months = _months_of_budget(f.waiting, f.budget)
    if f.waiting:
        parts.append(
            f"枠を超えた {f.waiting:,} 先は捨てずに順位付きで待機させ、フラグが続く限り毎晩新しい先と合わせて"
            f"順位を付け直し、翌月以降の審査枠で上位から案件にします"
            f"（新しいフラグがなくても、今の枠では約 {months} か月分）。")
    if f.lead_months is not None:
        if f.lead_from_watchlist:
            parts.append(
                f"【どれだけ早いか】検証期間の悪化事象 {f.lead_events:,} 件のうち {f.lead_caught:,} 件を、審査枠の範囲の"
                f"フラグが事象の前に捉え、その時期は事象の中央値 {f.lead_months:.0f} か月前でした。")
        else:
            parts.append(
                f"【どれだけ早いか】スコア上位3%の先は、悪化事象の中央値 {f.lead_months:.0f} か月前に挙がりました。")
    if f.auc is not None:
        parts.append(
            f"AUC {f.auc:.2f} とは、12か月以内に悪化する先と悪化しない先を1組選ぶと、モデルが前者を高く"
            f"順位付けるのが100回中 {_in100(f.auc)} 回という意味です（50回なら当て推量）。")
    if f.early is not None and f.early.opened:
        late = f.early.opened - f.early.early
        parts.append(
            f"【早期着手率】今月開いた案件 {f.early.opened:,} 件のうち、悪化事象（条件変更・延滞90日以上・代位弁済・"
            f"法的整理・格下げ）より前に開けたのは {f.early.early:,} 件（{f.early.share:.0%}）です。"
            f"残る {late:,} 件はすでに悪化事象の中にある先で、早期ではなく手遅れの着手です")
        worst = [p for p in f.phases if p.late]
        parts[-1] += ("（" + "、".join(f"{p.ja}では {p.cases:,} 件中 {p.late:,} 件" for p in worst) + "）。"
                      if worst else "。")
        if f.early.unknown:
            parts.append(f"悪化事象の有無がまだ届いていない {f.early.unknown:,} 件は数えていません。")
    elif f.early is not None:
        parts.append("【早期着手率】今月開いた案件のうち、悪化事象の有無が分かる案件はまだありません。")
    return "".join(parts)


def english(f: DemoFigures) -> str:
    parts = [
        f"This month: of the {f.flagged:,} businesses flagged as of {f.as_of.isoformat()}, {f.opened:,} cases were "
        f"opened within the monthly review budget of {f.budget:,}.",
    ]
    months = _months_of_budget(f.waiting, f.budget)
    if f.waiting:
        parts.append(
            f" The other {_n(f.waiting, 'business', 'businesses')} {'is' if f.waiting == 1 else 'are'} not dropped: "
            f"{'it waits' if f.waiting == 1 else 'they wait'} below the line, ranked, "
            "ranked again each night with the new entries while still flagged, and the following months' budgets "
            f"open the list from the top (about {_n(months or 0, 'month')} of today's budget even if nothing new "
            "were flagged).")
    if f.lead_months is not None:
        if f.lead_from_watchlist:
            parts.append(
                f" How early: of the {f.lead_events:,} deterioration events of the held-out months, the flags within "
                f"the budget caught {f.lead_caught:,} ahead of time, a median of {f.lead_months:.0f} months before "
                "the event.")
        else:
            parts.append(f" How early: the top 3% of scores came a median of {f.lead_months:.0f} months before the "
                         "event.")
    if f.auc is not None:
        parts.append(
            f" An AUC of {f.auc:.2f} means: take two businesses, one that will deteriorate within 12 months and one "
            f"that won't; the model ranks the first higher {_in100(f.auc)} times in 100 (50 would be a coin toss).")
    if f.early is not None and f.early.opened:
        late = f.early.opened - f.early.early
        parts.append(
            f" Early share: of the {f.early.opened:,} cases opened this month, {f.early.early:,} "
            f"({f.early.share:.0%}) were opened before any deterioration event of the business (restructuring, "
            f"90 days past due, subrogation, legal proceedings, downgrade); the other {late:,} are businesses "
            "already in such an event: late, not early")
        worst = [p for p in f.phases if p.late]
        parts[-1] += (" (" + "; ".join(f"{p.late:,} of the {p.cases:,} {p.en.lower()} cases" for p in worst) + ")."
                      if worst else ".")
        if f.early.unknown:
            parts.append(f" {f.early.unknown:,} cases whose events no night has reported yet are left out.")
    elif f.early is not None:
        parts.append(" Early share: no case opened this month has its events known yet.")
    return "".join(parts)


def print_closing(console, training: dict, flags: dict, store: QueueStore) -> DemoFigures:
    """Print both paragraphs under a heading; returns the figures."""
    found = figures(training, flags, store)
    console.print("[bold]この結果の意味 / What these figures mean for an association[/bold]")
    console.print(japanese(found), soft_wrap=True)
    console.print(english(found), soft_wrap=True)
    return found


def print_demo_closing(console, settings, training: dict, flags: dict) -> DemoFigures:
    """`print_closing` over the queue at `settings.queue_url` (yocho demo's last words)."""
    with QueueStore.from_settings(settings) as store:
        return print_closing(console, training, flags, store)
