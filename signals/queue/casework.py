"""A user moving a case from one state to another: the checks of the move and its writes.

The rules of which move a role may make are lifecycle's (pure, no database); this module
applies them to a case row on the connection it is handed: optimistic locking on the
version the user was shown, the columns a target state records (snooze, consent, referral,
closing), and the audit row, all in the caller's one transaction.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, update

from signals.queue import councils
from signals.queue.actors import User
from signals.queue.consent import ConsentRecord, check_referable
from signals.queue.lifecycle import (
    CLOSED_STATES,
    REASON_CODES,
    Conflict,
    InvalidInput,
    Role,
    Route,
    State,
    check_reason_code,
    rule_for,
)
from signals.queue.schema import cases, transitions
from signals.queue.scope import case_to_change


def clean_text(text_value: str | None) -> str | None:
    text_value = (text_value or "").strip()
    return text_value or None


def target_state(to_state: State | str) -> State:
    try:
        return State(to_state)
    except ValueError:
        raise InvalidInput(f"unknown state {to_state!r}") from None


def move(
    conn: Connection,
    actor: User,
    case_id: int,
    target: State,
    *,
    expected_version: int,
    note: str | None,
    snooze_until: date | None,
    consent: ConsentRecord | None,
    reason_code: str | None,
    today: date,
    now: datetime,
) -> None:
    """Move the case as `actor` (see QueueStore.transition); `note` already cleaned."""
    row = case_to_change(conn, actor, case_id, expected_version)
    current = State(row.state)
    rule = rule_for(current, target, actor.role)
    if rule.note_required and not note:
        raise InvalidInput(f"a reason is required to move a case to {target.value}")
    code = check_reason_code(rule, target, reason_code, note)
    values: dict[str, Any] = {}
    if target is State.SNOOZED:
        if snooze_until is None or snooze_until <= today:
            raise InvalidInput("snooze needs a date after today")
        values |= {"snooze_until": snooze_until, "snooze_reason": note}
    elif current is State.SNOOZED:
        values |= {"snooze_until": None, "snooze_reason": None}
    if target is State.CONSENT_OBTAINED:
        if consent is None:
            raise InvalidInput("本人同意の記録（取得方法・取得日・同意者・文書番号・共有する情報）が必要です "
                               "(the owner's consent must be recorded)")
        if consent.obtained_on > today:
            raise InvalidInput("同意の取得日が未来の日付です (the consent date is in the future)")
        values |= {**consent.columns(actor), "consent_note": note}
    if target is State.REFERRED:
        check_referable(row)
        council, notice = councils.route(conn, row, actor.institution_id)
        values |= {
            "route": (Route.BANK if actor.role is Role.BANK_REVIEWER else Route.CGA).value,
            "referred_on": today, "referred_by": actor.id,
            "referring_institution_id": actor.institution_id, "referral_phase": cases.c.phase,
            "council_id": council, "council_notice": notice,
        }
    if target in CLOSED_STATES:
        label = REASON_CODES.get(target, {}).get(code or "")
        values |= {"closed_on": today,
                   "close_reason": f"{label}：{note}" if label and note else (note or label)}
    if target in (State.ACCEPTED, State.DECLINED):
        values["decided_by"] = actor.id
    moved = conn.execute(
        update(cases).where(cases.c.id == case_id, cases.c.version == expected_version,
                            cases.c.state == current.value)
        .values(state=target.value, version=cases.c.version + 1, updated_at=now, **values))
    if moved.rowcount != 1:
        raise Conflict(f"case {case_id} was changed by someone else; reload it")
    conn.execute(insert(transitions).values(
        case_id=case_id, at=now, actor_user_id=actor.id, actor=actor.username, actor_role=actor.role.value,
        from_state=current.value, to_state=target.value, note=note, reason_code=code))
