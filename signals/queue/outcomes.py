"""How similar cases ended (類似案件のその後): for the case a reviewer is deciding, the closed
cases *the reviewer may see* with the same recommended phase (and, when there are enough of
them, the same trigger), counted by outcome, with the median months from flag to close.

Aggregated and non-identifying: only counts and a median leave this module, and only when at
least `MIN_SIMILAR` cases are behind them (fewer could point at a particular business). The
read is a store read like every other: the acting user is re-read from the database and the
cases are filtered with the store's own scope (`store._scope`), so a bank counts only cases
of its own borrowers, an association only its guaranteed businesses, council intake only
referrals made to it with consent; another institution's cases are never counted.
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, func, select

from signals.queue.batches import chunks
from signals.queue.lifecycle import CLOSED_STATES, NotFound, State
from signals.queue.schema import cases, transitions
from signals.queue.store import QueueStore, User, _scope

# Fewer similar cases than this are not shown: a count of two or three, with a phase and a
# trigger, could be read back to the businesses behind it.
MIN_SIMILAR = 5
# Outcomes in the order the page lists them.
OUTCOMES = (State.ACCEPTED, State.DECLINED, State.DISMISSED)
_DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class SimilarOutcomes:
    phase: str | None
    trigger: str | None  # the trigger matched; None: any trigger (too few with the same one)
    total: int  # closed similar cases the user may see; 0 when fewer than MIN_SIMILAR (not shown)
    by_outcome: dict[State, int] = field(default_factory=dict)  # accepted, declined, dismissed (zeros included)
    # dismissed cases by the reviewer's reason code (signals.queue.lifecycle.DISMISS_REASONS); None: no code
    dismissed_by_reason: dict[str | None, int] = field(default_factory=dict)
    median_months_to_close: float | None = None  # flagged_on → closed_on, over cases with both dates

    @property
    def shown(self) -> bool:
        return self.total >= MIN_SIMILAR


def _months(start: date, end: date) -> float:
    return (end - start).days / _DAYS_PER_MONTH


def similar_outcomes(store: QueueStore, user: User, case_id: int) -> SimilarOutcomes:
    """Outcomes of the closed cases like `case_id` that `user` may see (NotFound when the case
    itself is outside the user's scope). Similar: the same recommended phase and trigger; when
    fewer than MIN_SIMILAR share the trigger, the same phase alone (trigger None)."""
    with store._read() as conn:
        actor = store._actor(conn, user)
        scope = _scope(actor)
        row = conn.execute(select(cases.c.phase, cases.c.trigger).where(cases.c.id == case_id, scope)).first()
        if row is None:
            raise NotFound(f"case {case_id} not found")
        base = [scope, cases.c.id != case_id, cases.c.state.in_(sorted(s.value for s in CLOSED_STATES)),
                cases.c.phase.is_(None) if row.phase is None else cases.c.phase == row.phase]
        trigger = row.trigger
        if trigger is not None:
            with_trigger = conn.execute(select(func.count()).select_from(cases)
                                        .where(*base, cases.c.trigger == trigger)).scalar_one()
            if with_trigger >= MIN_SIMILAR:
                base.append(cases.c.trigger == trigger)
            else:
                trigger = None
        closed = conn.execute(select(cases.c.id, cases.c.state, cases.c.flagged_on, cases.c.closed_on)
                              .where(*base)).all()
        reasons = _dismiss_reasons(conn, [r.id for r in closed if r.state == State.DISMISSED.value])
    by_outcome = {state: 0 for state in OUTCOMES}
    for r in closed:
        by_outcome[State(r.state)] += 1
    months = [_months(r.flagged_on, r.closed_on) for r in closed
              if r.flagged_on is not None and r.closed_on is not None and r.closed_on >= r.flagged_on]
    if len(closed) < MIN_SIMILAR:  # not even the count leaves the store: it could identify a business
        return SimilarOutcomes(row.phase, trigger, 0)
    return SimilarOutcomes(
        phase=row.phase, trigger=trigger, total=len(closed), by_outcome=by_outcome, dismissed_by_reason=reasons,
        median_months_to_close=round(statistics.median(months), 1) if months else None,
    )


def _dismiss_reasons(conn: Connection, case_ids: list[int]) -> dict[str | None, int]:
    """Dismissed cases by the reason code of their dismissal in the audit log (None: a
    dismissal recorded before reasons were coded)."""
    code: dict[int, str | None] = {case_id: None for case_id in case_ids}
    for chunk in chunks(sorted(code)):
        for r in conn.execute(select(transitions.c.case_id, transitions.c.reason_code)
                              .where(transitions.c.case_id.in_(chunk),
                                     transitions.c.to_state == State.DISMISSED.value)
                              .order_by(transitions.c.id)):
            code[r.case_id] = r.reason_code
    return dict(Counter(code.values()).most_common())


__all__ = ["MIN_SIMILAR", "OUTCOMES", "SimilarOutcomes", "similar_outcomes"]
