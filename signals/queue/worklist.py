"""The scoped reads of cases: a worklist page, every matching case, counts per state, and one
case with its snapshots and audit log.

Each function takes an open connection and the acting user as the database knows it
(actors.acting_user), and filters with scope._scope inside the query; a case outside the
user's scope is reported as `NotFound`, exactly like a case that does not exist. The store
opens the transaction and hands both in, so a read of several queries sees one snapshot.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, exists, func, or_, select

from signals.queue.actors import User
from signals.queue.batches import chunks
from signals.queue.clock import _aware
from signals.queue.consent import shared_critical_signs, shared_evidence
from signals.queue.lifecycle import INSTITUTION_ROLES, InvalidInput, NotFound, Role, State, allowed_targets
from signals.queue.schema import OWNER_COUNCIL, case_institutions, cases, evidence_snapshots, transitions, users
from signals.queue.scope import _scope
from signals.queue.views import (
    SORTS,
    AuditEntry,
    CaseDetail,
    CaseInstitution,
    CaseQuery,
    CaseSummary,
    Page,
    Snapshot,
    _summary_fields,
)
from signals.sharing import scoped_evidence


def check_paging(query: CaseQuery) -> None:
    if query.page < 1 or not 1 <= query.page_size <= 1000:
        raise InvalidInput("page must be ≥ 1 and page_size between 1 and 1000")


def list_page(conn: Connection, actor: User, query: CaseQuery) -> Page:
    conditions = _conditions(actor, query)
    total = conn.execute(select(func.count()).select_from(cases).where(*conditions)).scalar_one()
    rows = conn.execute(_ordered(select(cases).where(*conditions), query)
                        .limit(query.page_size).offset((query.page - 1) * query.page_size)).all()
    return Page(summaries(conn, actor, rows), total, query.page, query.page_size)


def all_cases(conn: Connection, actor: User, query: CaseQuery) -> list[CaseSummary]:
    rows = conn.execute(_ordered(select(cases).where(*_conditions(actor, query)), query)).all()
    return summaries(conn, actor, rows)


def count_by_state(conn: Connection, actor: User) -> dict[State, int]:
    found = dict(conn.execute(select(cases.c.state, func.count()).where(_scope(actor))
                              .group_by(cases.c.state)).tuples().all())
    return {state: found.get(state.value, 0) for state in State}


def _conditions(actor: User, query: CaseQuery) -> list[ColumnElement[bool]]:
    conditions = [_scope(actor)]
    if query.states:
        conditions.append(cases.c.state.in_([State(s).value for s in query.states]))
    if query.phase:
        conditions.append(cases.c.phase == query.phase)
    if query.band:
        conditions.append(cases.c.band == query.band)
    if query.institution_id and actor.role is Role.COUNCIL_INTAKE:
        # the council knows a referral's referring institution, not who else shares the case
        conditions.append(cases.c.referring_institution_id == query.institution_id)
    elif query.institution_id:
        conditions.append(exists().where(case_institutions.c.case_id == cases.c.id,
                                         case_institutions.c.institution_id == query.institution_id))
    if query.search and query.search.strip():
        term = query.search.strip()
        local = [case_institutions.c.case_id == cases.c.id,
                 case_institutions.c.local_id.icontains(term, autoescape=True)]
        if actor.role in INSTITUTION_ROLES:  # only its own local ids
            local.append(case_institutions.c.institution_id == actor.institution_id)
        elif actor.role is Role.COUNCIL_INTAKE:  # only the referring institution's
            local.append(case_institutions.c.institution_id == cases.c.referring_institution_id)
        conditions.append(or_(cases.c.business_key.icontains(term, autoescape=True),
                              cases.c.business_name.icontains(term, autoescape=True), exists().where(*local)))
    return conditions


def _ordered(statement: Any, query: CaseQuery) -> Any:
    if query.sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}")
    column = cases.c[query.sort]
    key = column.desc() if query.descending else column.asc()
    return statement.order_by(key.nulls_last(), cases.c.id.asc())


def _institutions(conn: Connection, actor: User, rows: Sequence[Any]) -> dict[int, list[CaseInstitution]]:
    """Who shares each case, as the actor may see it (docs/queue.md, "Sharing"): a bank
    reviewer or an analyst sees which institutions share it, with only its own local ids;
    council intake sees the referring institution only (whose consent brought the case),
    with its ids; an administrator everything."""
    found: dict[int, list[CaseInstitution]] = {r.id: [] for r in rows}
    referrer = {r.id: r.referring_institution_id for r in rows}
    for chunk in chunks(sorted(found)):
        for r in conn.execute(select(case_institutions).where(case_institutions.c.case_id.in_(chunk))
                              .order_by(case_institutions.c.institution_id, case_institutions.c.local_id)):
            if actor.role is Role.ADMIN:
                found[r.case_id].append(CaseInstitution(r.institution_id, r.local_id))
            elif actor.role is Role.COUNCIL_INTAKE:
                if r.institution_id == referrer[r.case_id]:
                    found[r.case_id].append(CaseInstitution(r.institution_id, r.local_id))
            else:
                own = r.institution_id == actor.institution_id
                found[r.case_id].append(CaseInstitution(r.institution_id, r.local_id if own else None))
    return found


def _fields(actor: User, row: Any, insts: list[CaseInstitution]) -> dict[str, Any]:
    """A case's fields as the actor may read them: council intake reads the critical signs and
    the phase's reason only as far as the consent's shared categories allow (consent.py)."""
    fields = _summary_fields(row, insts)
    if actor.role is Role.COUNCIL_INTAKE and row.owner != OWNER_COUNCIL:
        shared = row.consent_shared or ()
        fields["critical_signs"] = shared_critical_signs(fields["critical_signs"], shared)
        if "signs" not in shared:
            fields["phase_reason_ja"] = fields["phase_reason_en"] = None
    return fields


def summaries(conn: Connection, actor: User, rows: Sequence[Any]) -> list[CaseSummary]:
    insts = _institutions(conn, actor, rows)
    return [CaseSummary(**_fields(actor, r, insts[r.id])) for r in rows]


def detail(conn: Connection, actor: User, case_id: int) -> CaseDetail:
    row = conn.execute(select(cases).where(cases.c.id == case_id, _scope(actor))).first()
    if row is None:
        raise NotFound(f"case {case_id} not found")
    insts = _institutions(conn, actor, [row])
    sharers = set(conn.execute(select(case_institutions.c.institution_id)
                               .where(case_institutions.c.case_id == row.id)).scalars())
    viewer = _evidence_viewer(actor, row)
    council = actor.role is Role.COUNCIL_INTAKE
    shared = tuple(row.consent_shared or ())

    def shown(evidence: str) -> str:
        if actor.role is Role.ADMIN:
            return evidence
        scoped = scoped_evidence(evidence, viewer, sharers)
        # the council reads only the categories the owner's consent shares with it
        return shared_evidence(scoped, shared) if council else scoped

    def signs(critical: Any) -> list[str]:
        return shared_critical_signs(critical or [], shared) if council else list(critical or [])

    snaps = tuple(Snapshot(r.id, _aware(r.taken_at), r.as_of, r.kind, signs(r.critical_signs),
                           r.probability, r.band, r.phase, shown(r.evidence))
                  for r in conn.execute(select(evidence_snapshots).where(evidence_snapshots.c.case_id == case_id)
                                        .order_by(evidence_snapshots.c.as_of, evidence_snapshots.c.id)))
    history = tuple(AuditEntry(r.id, _aware(r.at), r.actor, r.actor_role,
                               State(r.from_state) if r.from_state else None, State(r.to_state), r.note,
                               r.reason_code)
                    for r in conn.execute(select(transitions).where(transitions.c.case_id == case_id)
                                          .order_by(transitions.c.id)))
    recorder = conn.execute(select(users.c.username, users.c.institution_id)
                            .where(users.c.id == row.consent_recorded_by)).first() if row.consent_recorded_by else None
    return CaseDetail(
        **_fields(actor, row, insts[row.id]),
        portfolio_share=row.portfolio_share, in_event=row.in_event, within_capacity=row.within_capacity,
        snooze_reason=row.snooze_reason, close_reason=row.close_reason, consent_note=row.consent_note,
        council_notice=row.council_notice, consent_method=row.consent_method, consent_from=row.consent_from,
        consent_document_ref=row.consent_document_ref, consent_shared=shared,
        consent_recorded_by=recorder.username if recorder else None,
        consent_institution_id=recorder.institution_id if recorder else None,
        snapshots=snaps, history=history,
        allowed_transitions=tuple(allowed_targets(State(row.state), actor.role)),
    )


def _evidence_viewer(actor: User, row: Any) -> str | None:
    """The institution whose records `actor` sees in full in this case's evidence: its own; for
    council intake, the referring institution's (its consent covers its own records)."""
    if actor.role in INSTITUTION_ROLES:
        return actor.institution_id
    if actor.role is Role.COUNCIL_INTAKE:
        return row.referring_institution_id
    return None
