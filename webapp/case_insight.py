"""What the case page shows a reviewer to decide fast, beyond the evidence itself: why now
(今月の変化, from `signals.why_now`) and how similar cases ended (類似案件のその後, from
`signals.queue.outcomes`). Both are built from what the store already returned for the
acting user — snapshots scoped per institution, outcomes counted within the user's scope —
so nothing here can show more than the user may see.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from signals.queue.outcomes import OUTCOMES, SimilarOutcomes
from signals.queue.store import Snapshot
from signals.why_now import ScoreChange, SignChange, WhyNow, months_between, snapshot_facts, why_now
from webapp.i18n import Translator


@dataclass(frozen=True)
class SignItem:
    id: str
    name: str


@dataclass(frozen=True)
class ScoreLine:
    since: date
    before: float | None
    after: float | None
    delta_points: str | None  # "+6.0pt", signed, in percentage points
    direction: str  # up | down | same | unknown
    band_before: str | None
    band_after: str | None
    band_changed: bool


@dataclass(frozen=True)
class SignLines:
    since: date | None
    new: list[SignItem]
    stopped: list[SignItem]
    continuing: list[SignItem]


@dataclass(frozen=True)
class WhyNowView:
    as_of: date
    month: SignLines
    score: ScoreLine | None
    opened_on: date | None
    months_open: int | None
    since_opened: SignLines | None
    since_opened_score: ScoreLine | None


def _score_line(change: ScoreChange | None, unit: str) -> ScoreLine | None:
    if change is None:
        return None
    delta = change.delta
    if delta is None:
        direction, text = "unknown", None
    else:
        points = round(delta * 100, 1)
        direction = "up" if points > 0 else "down" if points < 0 else "same"
        text = f"{points:+.1f}{unit}" if points else f"±0.0{unit}"
    return ScoreLine(change.since, change.before, change.after, text, direction, change.band_before,
                     change.band_after, change.band_changed)


def _sign_lines(change: SignChange, result: WhyNow, t: Translator) -> SignLines:
    def items(ids: Sequence[str]) -> list[SignItem]:
        return [SignItem(i, t.indicator(i, *result.names.get(i, (None, None)))) for i in ids]

    return SignLines(change.since, items(change.new), items(change.stopped), items(change.continuing))


def initial_snapshot(snapshots: Sequence[Snapshot]) -> Snapshot | None:
    """The snapshot the case was opened with (kind `initial`; else the earliest)."""
    return next((s for s in snapshots if s.kind == "initial"), snapshots[0] if snapshots else None)


def _data(snapshot: Snapshot) -> Any:
    try:
        return snapshot.data
    except (TypeError, ValueError):
        return {}


def why_now_view(snapshots: Sequence[Snapshot], chosen: Snapshot, t: Translator,
                 bands: Mapping[str, float]) -> WhyNowView:
    """Why now for the snapshot shown (the latest by default), compared with the previous
    month inside its own evidence and with the case's initial snapshot."""
    first = initial_snapshot(snapshots)
    current = snapshot_facts(chosen.as_of, _data(chosen), chosen.probability, chosen.band)
    initial = (snapshot_facts(first.as_of, _data(first), first.probability, first.band)
               if first is not None and first.as_of < chosen.as_of else None)
    result = why_now(current, initial, bands=bands, stored={s.as_of: (s.probability, s.band) for s in snapshots})
    unit = "pt" if t.lang == "ja" else " pts"
    return WhyNowView(
        as_of=result.as_of,
        month=_sign_lines(result.month, result, t),
        score=_score_line(result.score, unit),
        opened_on=result.opened_on,
        months_open=months_between(result.opened_on, result.as_of) if result.opened_on else None,
        since_opened=_sign_lines(result.since_opened_signs, result, t) if result.since_opened_signs else None,
        since_opened_score=_score_line(result.since_opened_score, unit),
    )


@dataclass(frozen=True)
class OutcomeRow:
    label: str
    count: int
    reasons: list[tuple[str, int]]  # dismissed: by reason


@dataclass(frozen=True)
class SimilarView:
    shown: bool
    phase: str | None
    trigger: str | None
    total: int
    rows: list[OutcomeRow]
    median_months: float | None


def similar_view(outcomes: SimilarOutcomes, t: Translator, reason_label: Any) -> SimilarView:
    """The outcome table of similar cases; `reason_label(code)` names a dismissal reason code."""
    rows = []
    if outcomes.shown:
        for state in OUTCOMES:
            reasons = ([(reason_label(code), n) for code, n in outcomes.dismissed_by_reason.items()]
                       if state.value == "dismissed" else [])
            rows.append(OutcomeRow(t.state(state), outcomes.by_outcome.get(state, 0), reasons))
    return SimilarView(outcomes.shown, outcomes.phase, outcomes.trigger, outcomes.total if outcomes.shown else 0,
                       rows, outcomes.median_months_to_close)


__all__ = ["SimilarView", "WhyNowView", "initial_snapshot", "similar_view", "why_now_view"]
