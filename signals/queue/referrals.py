"""Council intake's manual referrals: a referral that did not come through the queue (a 士業
or その他 route), registered as a council-owned case that starts out `referred`.

Apart from the nightly flags and from case moves because it is the one way a case comes into
being from a person's input: the business key and route are checked here before any
transaction (`manual_referral`), and `register` writes the case on the caller's connection.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, and_, insert, select
from sqlalchemy.exc import IntegrityError

from signals.phases import PHASES
from signals.queue.actors import User
from signals.queue.casework import clean_text
from signals.queue.lifecycle import MANUAL_ROUTES, OPEN_STATES, ROUTE_JA, Conflict, Forbidden, InvalidInput, Role, Route, State
from signals.queue.schema import OWNER_COUNCIL, cases, transitions
from signals.queue.scope import _scope, _values
from yocho.contract import institution_source, is_valid_corporate_number

# The one refusal of a manual referral: about a referral the council already sees, never
# about a case it may not see.
_ALREADY_REFERRED = ("この事業者は既に協議会への紹介として受付中です "
                     "(the council already has an open referral of this business)")


def is_business_key(key: str) -> bool:
    """A business key as the warehouse writes them (features/pit.py): a valid 法人番号, or
    `<institution_id>:<local_id>` for a sole proprietor, without control characters."""
    if is_valid_corporate_number(key):
        return True
    institution, sep, local_id = key.partition(":")
    try:
        institution_source(institution)
    except ValueError:
        return False
    return bool(sep and local_id.strip()) and local_id.isprintable()


def _route(route: Route | str) -> Route:
    if isinstance(route, Route):
        return route
    for candidate, label in ROUTE_JA.items():
        if route in (candidate.value, label):
            return candidate
    raise InvalidInput(f"unknown route {route!r}")


@dataclass(frozen=True)
class ManualReferral:
    """A manual referral as council intake asked for it, checked as far as it can be
    without the database."""
    business_key: str
    route: Route
    phase: str | None
    note: str | None


def manual_referral(business_key: str, route: Route | str, note: str | None, phase: str | None) -> ManualReferral:
    key = clean_text(business_key)
    if not key:
        raise InvalidInput("business key is required")
    route_value = _route(route)
    if route_value not in MANUAL_ROUTES:
        raise InvalidInput("a manual referral's route is 士業 (professional) or その他 (other)")
    if phase is not None and phase not in PHASES:
        raise InvalidInput(f"unknown phase {phase!r}")
    return ManualReferral(key, route_value, phase, clean_text(note))


def check_consent_on(consent_on: date | None, today: date) -> None:
    if consent_on is not None and consent_on > today:
        raise InvalidInput("consent date is in the future")


def register(conn: Connection, actor: User, request: ManualReferral, *, consent_on: date | None, today: date,
             now: datetime) -> int:
    """Write the council-owned case and its audit row; returns the case id (see
    QueueStore.register_manual_referral)."""
    if actor.role is not Role.COUNCIL_INTAKE:
        raise Forbidden("only council intake registers referrals by hand")
    key, note, phase = request.business_key, request.note, request.phase
    if not is_business_key(key):
        raise InvalidInput("business key must be a 13-digit 法人番号 with a valid check digit, or "
                           "<institution>:<customer number> for a sole proprietor (e.g. bank_0116:000123)")
    visible_open = and_(cases.c.state.in_(_values(OPEN_STATES)), _scope(actor))
    taken = conn.execute(select(cases.c.id).where(cases.c.business_key == key, visible_open)).first()
    if taken is not None:
        raise Conflict(_ALREADY_REFERRED)
    try:
        with conn.begin_nested():
            case_id = conn.execute(insert(cases).values(
                business_key=key, owner=OWNER_COUNCIL, state=State.REFERRED.value, version=1, critical_signs=[],
                phase=phase, referral_phase=phase, route=request.route.value, referred_on=today,
                referred_by=actor.id, consent_on=consent_on or today, consent_note=note,
                consent_recorded_by=actor.id, council_id=actor.institution_id, created_at=now, updated_at=now,
            ).returning(cases.c.id)).scalar_one()
    except IntegrityError:  # only another open council-owned case collides (the index is per owner)
        raise Conflict(_ALREADY_REFERRED) from None
    conn.execute(insert(transitions).values(
        case_id=case_id, at=now, actor_user_id=actor.id, actor=actor.username, actor_role=actor.role.value,
        from_state=None, to_state=State.REFERRED.value,
        note=f"manual referral ({ROUTE_JA[request.route]})" + (f": {note}" if note else "")))
    return case_id
