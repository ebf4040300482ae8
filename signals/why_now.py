"""Why a case needs a look now (今月の変化): what changed in its evidence since the previous
month, and since the case was opened.

Everything is derived from evidence snapshots the queue already stores (docs/signals.md,
"Evidence snapshot"): `sign_history` says which signs fired at each scanned month-end, the
`score` series the probability at each scored month-end. No warehouse query is needed, and
because the inputs are the snapshots *as the viewer is shown them* (signals/sharing.py keeps
`sign_history`, the score series and the sign names for every viewer), nothing here can show
more than the evidence section already does.

Plain functions over plain values: `why_now(current, initial, bands)` with `SnapshotFacts`
built by `snapshot_facts(as_of, data, probability, band)`.

Words matter on a case page: a sign that *stopped* is not a warning sign any more and is
reported as stopped, never among the warnings; and a month with no earlier scanned month to
compare with says so rather than calling every sign new.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from signals.evidence_dates import day_of

Month = tuple[int, int]


def _month(day: date) -> Month:
    return day.year, day.month


def _probability(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and 0.0 <= number <= 1.0 else None


def band_of(probability: float | None, bands: Mapping[str, float]) -> str | None:
    """The band of a probability by the bands' lower bounds (settings.models.bands)."""
    if probability is None or not bands:
        return None
    found = None
    for name, lower in sorted(bands.items(), key=lambda item: item[1]):
        if probability >= lower:
            found = name
    return found


@dataclass(frozen=True)
class SnapshotFacts:
    """What why-now reads of one snapshot: its date, the signs fired at each scanned month,
    the score at each scored month, and the snapshot's own probability and band."""
    as_of: date
    signs_by_month: dict[Month, tuple[date, frozenset[str]]]  # month -> (month-end, signs fired)
    score_by_month: dict[Month, tuple[date, float]]  # month -> (month-end, probability)
    probability: float | None
    band: str | None
    names: dict[str, tuple[str | None, str | None]]  # indicator id -> (name_ja, name_en) from the snapshot

    @property
    def current_signs(self) -> frozenset[str]:
        """The signs fired at the snapshot's month-end."""
        entry = self.signs_by_month.get(_month(self.as_of))
        return entry[1] if entry else frozenset()


def snapshot_facts(as_of: date, data: Any, probability: float | None = None,
                   band: str | None = None) -> SnapshotFacts:
    """The facts of one snapshot's evidence document (a dict; anything malformed reads as
    absent). `probability` and `band` are the snapshot's stored columns, used when the
    document lacks its own."""
    data = data if isinstance(data, Mapping) else {}
    signs_by_month: dict[Month, tuple[date, frozenset[str]]] = {}
    for entry in data.get("sign_history") or []:
        if not isinstance(entry, Mapping):
            continue
        day = day_of(entry.get("month"))
        if day is None or day > as_of:
            continue
        signs = frozenset(str(s) for s in (entry.get("signs") or []) if s)
        month = _month(day)
        _, earlier = signs_by_month.get(month, (day, frozenset()))
        signs_by_month[month] = (day, earlier | signs)
    listed = [s for s in data.get("signs") or [] if isinstance(s, Mapping)]
    names = {str(s.get("indicator_id") or s.get("id") or s.get("indicator")): (s.get("name_ja"), s.get("name_en"))
             for s in listed}
    names.pop("None", None)
    # A document without a history still says which signs fire at its own date.
    if _month(as_of) not in signs_by_month and listed:
        signs_by_month[_month(as_of)] = (as_of, frozenset(names))
    series = data.get("series") if isinstance(data.get("series"), Mapping) else {}
    score_by_month: dict[Month, tuple[date, float]] = {}
    for point in series.get("score") or []:
        if not isinstance(point, Mapping):
            continue
        day, value = day_of(point.get("month")), _probability(point.get("value"))
        if day is not None and value is not None and day <= as_of:
            score_by_month[_month(day)] = (day, value)
    own = _probability(data.get("probability"))
    own = own if own is not None else _probability(probability)
    if own is not None:
        score_by_month[_month(as_of)] = (as_of, own)
    return SnapshotFacts(as_of=as_of, signs_by_month=signs_by_month, score_by_month=score_by_month,
                         probability=own, band=data.get("band") if isinstance(data.get("band"), str) else band,
                         names=names)


@dataclass(frozen=True)
class ScoreChange:
    """The probability (確率（12か月以内の劣化事象）) and band now and at an earlier month."""
    since: date  # the earlier month-end
    before: float | None
    after: float | None
    band_before: str | None
    band_after: str | None

    @property
    def delta(self) -> float | None:
        """Change in probability, in probability units (0.05 is 5 percentage points)."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def band_changed(self) -> bool:
        return None not in (self.band_before, self.band_after) and self.band_before != self.band_after


@dataclass(frozen=True)
class SignChange:
    """Signs compared between an earlier month-end and now."""
    since: date | None  # the earlier month-end; None: no earlier scanned month to compare with
    new: tuple[str, ...]  # fired now, not then (all signs now, when since is None)
    stopped: tuple[str, ...]  # fired then, not now: no longer a warning sign
    continuing: tuple[str, ...]  # fired then and now


@dataclass(frozen=True)
class WhyNow:
    as_of: date
    current_signs: tuple[str, ...]  # the signs fired at as_of
    month: SignChange  # since the previous scanned month
    score: ScoreChange | None  # since the previous scored month; None when there is none
    opened_on: date | None  # the initial snapshot's date; None when this is it (or it is unknown)
    since_opened_signs: SignChange | None
    since_opened_score: ScoreChange | None
    names: dict[str, tuple[str | None, str | None]]  # names of the signs, from the snapshots

    @property
    def anything_changed(self) -> bool:
        return bool(self.month.new or self.month.stopped
                    or (self.score is not None and (self.score.band_changed or (self.score.delta or 0) != 0)))


def _order(signs: frozenset[str] | set[str]) -> tuple[str, ...]:
    return tuple(sorted(signs))


def compare_signs(before: frozenset[str] | None, after: frozenset[str], since: date | None) -> SignChange:
    """New, stopped and continuing signs between two months (before None: nothing to compare)."""
    if before is None:
        return SignChange(None, _order(after), (), ())
    return SignChange(since, _order(after - before), _order(before - after), _order(after & before))


def previous_signs(facts: SnapshotFacts) -> tuple[date, frozenset[str]] | None:
    """The latest scanned month-end before the snapshot's month, with its signs."""
    earlier = [m for m in facts.signs_by_month if m < _month(facts.as_of)]
    return facts.signs_by_month[max(earlier)] if earlier else None


def previous_score(facts: SnapshotFacts) -> tuple[date, float] | None:
    """The latest scored month-end before the snapshot's month, with its probability."""
    earlier = [m for m in facts.score_by_month if m < _month(facts.as_of)]
    return facts.score_by_month[max(earlier)] if earlier else None


def why_now(current: SnapshotFacts, initial: SnapshotFacts | None = None, *,
            bands: Mapping[str, float] | None = None,
            stored: Mapping[date, tuple[float | None, str | None]] | None = None) -> WhyNow:
    """What changed at `current` since the previous month, and since `initial` (the case's
    first snapshot; None or the same date: not shown).

    `stored`: the case's snapshots, as_of -> (probability, band). An earlier month with a
    stored snapshot is compared by that snapshot's figures — what the reviewer was shown
    then — rather than by the score series; the band of any other earlier month is the one
    its probability falls in under `bands` (settings.models.bands)."""
    bands = bands or {}
    stored = stored or {}
    by_month = {_month(day): (day, probability, band) for day, (probability, band) in stored.items()
                if probability is not None and day < current.as_of}

    now_signs = current.current_signs
    previous = previous_signs(current)
    month = compare_signs(previous[1] if previous else None, now_signs, previous[0] if previous else None)
    score = None
    before = previous_score(current)
    if by_month:
        latest_stored = by_month[max(by_month)]
        if before is None or _month(latest_stored[0]) >= _month(before[0]):
            before = (latest_stored[0], latest_stored[1])
    if before is not None and current.probability is not None:
        entry = by_month.get(_month(before[0]))
        band_before = (entry[2] if entry else None) or band_of(before[1], bands)
        score = ScoreChange(before[0], before[1], current.probability, band_before,
                            current.band or band_of(current.probability, bands))
    opened_on = since_signs = since_score = None
    if initial is not None and initial.as_of < current.as_of:
        opened_on = initial.as_of
        since_signs = compare_signs(initial.current_signs, now_signs, initial.as_of)
        since_score = ScoreChange(initial.as_of, initial.probability, current.probability,
                                  initial.band or band_of(initial.probability, bands),
                                  current.band or band_of(current.probability, bands))
    names = {**initial.names} if initial is not None else {}
    names.update(current.names)
    return WhyNow(as_of=current.as_of, current_signs=_order(now_signs), month=month, score=score,
                  opened_on=opened_on, since_opened_signs=since_signs, since_opened_score=since_score, names=names)


def months_between(start: date, end: date) -> int:
    """Whole calendar months from start's month to end's month."""
    return (end.year - start.year) * 12 + end.month - start.month


__all__ = ["ScoreChange", "SignChange", "SnapshotFacts", "WhyNow", "band_of", "compare_signs", "months_between",
           "previous_score", "previous_signs", "snapshot_facts", "why_now"]
