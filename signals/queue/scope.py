"""What an acting user may see of the cases, as a WHERE condition.

This is the queue's confidentiality boundary: every read, list and transition adds `_scope`
to its query, and the KPIs and similar-case outcomes filter with the same condition, so there
is one definition of "visible" and no unscoped read path.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, Row, and_, exists, false, select, true

from signals.queue.actors import User
from signals.queue.lifecycle import COUNCIL_STATES, INSTITUTION_ROLES, Conflict, NotFound, Role, State
from signals.queue.schema import case_institutions, cases


def _values(states: Iterable[State]) -> list[str]:
    return sorted(s.value for s in states)


def _scope(actor: User) -> ColumnElement[bool]:
    """What the acting user may see, as a WHERE condition on cases."""
    if actor.role is Role.ADMIN:
        return true()
    if actor.role in INSTITUTION_ROLES:
        if not actor.institution_id:
            return false()
        return exists().where(case_institutions.c.case_id == cases.c.id,
                              case_institutions.c.institution_id == actor.institution_id)
    if actor.role is Role.COUNCIL_INTAKE:
        # its own council's referrals only (one council per prefecture), with the owner's
        # consent on record and not withdrawn: a withdrawal hides the case at once
        if not actor.institution_id:
            return false()
        return and_(cases.c.council_id == actor.institution_id, cases.c.state.in_(_values(COUNCIL_STATES)),
                    cases.c.consent_on.is_not(None), cases.c.consent_withdrawn_on.is_(None))
    return false()


def case_to_change(conn: Connection, actor: User, case_id: int, expected_version: int) -> Row:
    """The case `actor` is about to change, as they saw it: NotFound outside their scope (never
    "forbidden", which would tell that it exists), Conflict when someone changed it since."""
    row = conn.execute(select(cases).where(cases.c.id == case_id, _scope(actor))).first()
    if row is None:
        raise NotFound(f"case {case_id} not found")
    if row.version != expected_version:
        raise Conflict(f"case {case_id} was changed by someone else (version {row.version}, "
                       f"you saw {expected_version}); reload it")
    return row
