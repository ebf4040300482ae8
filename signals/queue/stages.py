"""The council's stage log of an accepted referral: what support followed, and when.

Recorded only by council intake of the case's own council (`record`), on a referral it
accepted and can see (the council's scope: its own council, consent on record, not
withdrawn); append-only (the database refuses UPDATE and DELETE on `support_stages`), so a
correction is a new entry. Each entry: the stage (stage_terms.Stage), its date, the measures
taken (stage_terms.STAGE_MEASURES) and the council's free-text note.

Two reads, so that what an institution reads cannot carry the note:
- `council_log`: the case's council (with its notes);
- `institution_timeline`: the referring institution and the banks and the association that
  share the case, and administrators — stage, date and measures only; the query never
  selects `note`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, insert, select

from signals.queue.actors import User
from signals.queue.lifecycle import Forbidden, InvalidInput, NotFound, Role, State
from signals.queue.schema import cases, support_stages
from signals.queue.scope import _scope
from signals.queue.stage_terms import FINAL_STAGES, MAX_NOTE, STAGE_LABELS, STAGE_MEASURES, Measure, Stage


@dataclass(frozen=True)
class StageEntry:
    stage: Stage
    on: date
    measures: tuple[Measure, ...]
    note: str | None  # always None in an institution's timeline
    at: datetime | None = None

    @property
    def label_ja(self) -> str:
        return STAGE_LABELS[self.stage][0]


def _stage(value: Stage | str) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        raise InvalidInput(f"段階 {value!r} はありません (unknown stage)") from None


def check_measures(stage: Stage, measures: Iterable[str] | None) -> tuple[Measure, ...]:
    chosen = {m.strip() for m in measures or () if m and m.strip()}
    allowed = STAGE_MEASURES.get(stage, ())
    wrong = sorted(m for m in chosen if m not in {a.value for a in allowed})
    if wrong:
        raise InvalidInput(f"「{STAGE_LABELS[stage][0]}」で記録できない施策です: {', '.join(wrong)} "
                           "(a measure that does not belong to this stage)")
    return tuple(m for m in allowed if m.value in chosen)


def record(conn: Connection, actor: User, case_id: int, stage: Stage | str, *, on: date | None,
           measures: Iterable[str] | None, note: str | None, today: date, now: datetime) -> None:
    """Append one stage to the case's log, as council intake of the case's council."""
    if actor.role is not Role.COUNCIL_INTAKE:
        raise Forbidden("支援の段階は紹介先の協議会の受付担当だけが記録できます "
                        "(only the case's council intake records its support stages)")
    row = conn.execute(select(cases.c.id, cases.c.state, cases.c.council_id, cases.c.closed_on)
                       .where(cases.c.id == case_id, _scope(actor))).first()
    if row is None:
        raise NotFound(f"case {case_id} not found")
    if row.state != State.ACCEPTED.value:
        raise InvalidInput("受付済みの紹介にだけ支援の段階を記録できます (record stages on an accepted referral only)")
    target = _stage(stage)
    if on is None:
        raise InvalidInput("日付を入力してください (the stage's date is required)")
    if on > today:
        raise InvalidInput("未来の日付は記録できません (the date may not be in the future)")
    if row.closed_on is not None and on < row.closed_on:
        raise InvalidInput(f"受付日（{row.closed_on.isoformat()}）より前の日付は記録できません "
                           "(not before the referral was accepted)")
    chosen = check_measures(target, measures)
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"メモは{MAX_NOTE}文字以内です (the note is at most {MAX_NOTE} characters)")
    last = conn.execute(select(support_stages.c.stage, support_stages.c.stage_on)
                        .where(support_stages.c.case_id == case_id)
                        .order_by(support_stages.c.id.desc()).limit(1)).first()
    if last is not None:
        if Stage(last.stage) in FINAL_STAGES:
            raise InvalidInput(f"この案件の支援は「{STAGE_LABELS[Stage(last.stage)][0]}」で終了しています "
                               "(the support has ended: nothing more is recorded)")
        if on < last.stage_on:
            raise InvalidInput(f"前の段階（{last.stage_on.isoformat()}）より前の日付は記録できません "
                               "(a stage may not be dated before the previous one)")
    conn.execute(insert(support_stages).values(
        case_id=case_id, council_id=row.council_id, stage=target.value, stage_on=on,
        measures=[m.value for m in chosen], note=note, recorded_by=actor.id, at=now))


def council_log(conn: Connection, actor: User, case_id: int) -> list[StageEntry]:
    """The case's stage log with the council's notes: council intake of the case's council."""
    if actor.role is not Role.COUNCIL_INTAKE:
        raise Forbidden("the council's notes are read by the council only")
    visible = select(cases.c.id).where(cases.c.id == case_id, _scope(actor))
    rows = conn.execute(select(support_stages.c.stage, support_stages.c.stage_on, support_stages.c.measures,
                               support_stages.c.note, support_stages.c.at)
                        .where(support_stages.c.case_id.in_(visible)).order_by(support_stages.c.id))
    return [StageEntry(Stage(r.stage), r.stage_on, tuple(Measure(m) for m in r.measures or ()), r.note, r.at)
            for r in rows]


def institution_timeline(conn: Connection, actor: User, case_id: int) -> list[StageEntry]:
    """The case's stages and dates as the institutions sharing it (and administrators) see
    them: the note is not selected, so it cannot reach them by any page or export."""
    visible = select(cases.c.id).where(cases.c.id == case_id, _scope(actor))
    rows = conn.execute(select(support_stages.c.stage, support_stages.c.stage_on, support_stages.c.measures)
                        .where(support_stages.c.case_id.in_(visible)).order_by(support_stages.c.id))
    return [StageEntry(Stage(r.stage), r.stage_on, tuple(Measure(m) for m in r.measures or ()), None)
            for r in rows]


def timeline(conn: Connection, actor: User, case_id: int) -> list[StageEntry]:
    """The stage timeline the acting user may read (notes for the case's council only)."""
    if actor.role is Role.COUNCIL_INTAKE:
        return council_log(conn, actor, case_id)
    return institution_timeline(conn, actor, case_id)

