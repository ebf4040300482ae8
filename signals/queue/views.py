"""What a reader of the queue is handed: cases, their snapshots and audit log, and the
worklist's query and page.

Plain frozen records with no database access, so the web app, the exports and the KPIs can
name them without pulling in the store; signals/queue/worklist.py builds them from rows.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from signals.queue.clock import _aware
from signals.queue.lifecycle import ROUTE_JA, Route, State


@dataclass(frozen=True)
class CaseInstitution:
    institution_id: str
    local_id: str | None  # None: another institution's customer number, not shown to the viewer


@dataclass(frozen=True)
class CaseSummary:
    id: int
    business_key: str
    business_name: str | None  # 商号 as of the latest night's date (None: not named)
    state: State
    version: int
    trigger: str | None
    critical_signs: list[str]
    probability: float | None
    band: str | None
    priority: float | None
    priority_rank: int | None
    phase: str | None
    phase_reason_ja: str | None
    phase_reason_en: str | None
    lead_institution_id: str | None
    first_sign_on: date | None
    flagged_on: date | None
    last_as_of: date | None
    updated_at: datetime
    snooze_until: date | None
    closed_on: date | None
    consent_on: date | None
    route: Route | None
    referred_on: date | None
    referral_phase: str | None
    referring_institution_id: str | None
    institutions: tuple[CaseInstitution, ...]
    # "institutions": the case of the banks and the association that know the business,
    # opened by the nightly flags; "council": a manual referral registered by council intake.
    owner: str
    prefecture_code: int | None  # the business's (JIS X 0401), as of the latest night
    council_id: str | None  # the prefecture's council the referral went to (council_NN)
    consent_withdrawn_on: date | None  # the owner withdrew consent on this day

    @property
    def route_ja(self) -> str | None:
        return ROUTE_JA[self.route] if self.route else None


@dataclass(frozen=True)
class Snapshot:
    id: int
    taken_at: datetime
    as_of: date
    kind: str  # initial | update
    critical_signs: list[str]
    probability: float | None
    band: str | None
    phase: str | None
    # The flags' JSON as the acting user may see it (signals/sharing.py): verbatim for an
    # administrator and for the only institution of a case; otherwise the viewer's own
    # records in full and other institutions' only as aggregated facts.
    evidence: str

    @property
    def data(self) -> Any:
        return json.loads(self.evidence)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    actor_role: str | None
    from_state: State | None
    to_state: State
    note: str | None
    reason_code: str | None = None  # the coded reason (lifecycle.REASON_CODES), e.g. a dismissal's


@dataclass(frozen=True)
class CaseDetail(CaseSummary):
    portfolio_share: float | None
    in_event: bool | None
    within_capacity: bool | None
    snooze_reason: str | None
    close_reason: str | None
    consent_note: str | None
    council_notice: str | None  # why the referral was routed by the lead institution's prefecture
    consent_method: str | None  # written | electronic (signals/queue/consent.py)
    consent_from: str | None  # the representative's name and title, as typed
    consent_document_ref: str | None
    consent_shared: tuple[str, ...]  # the categories the council may read
    consent_recorded_by: str | None  # the username of who recorded it
    consent_institution_id: str | None  # their institution: the one that may record a withdrawal
    snapshots: tuple[Snapshot, ...]
    history: tuple[AuditEntry, ...]
    allowed_transitions: tuple[State, ...]  # what the acting user may do next


SORTS = ("priority", "probability", "flagged_on", "first_sign_on", "updated_at", "referred_on")


@dataclass(frozen=True)
class CaseQuery:
    """Worklist filters, sort and paging. states None: every state the user can see."""
    states: tuple[State, ...] | None = None
    phase: str | None = None
    band: str | None = None
    institution_id: str | None = None
    search: str | None = None  # part of the business key or name, or of one of the user's local ids
    sort: str = "priority"
    descending: bool = True
    page: int = 1
    page_size: int = 50


class Paged:
    """A page of a longer list (the worklist, the waiting list): how many pages it has."""
    total: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


@dataclass(frozen=True)
class Page(Paged):
    items: list[CaseSummary]
    total: int
    page: int
    page_size: int


def _summary_fields(row: Any, insts: list[CaseInstitution]) -> dict[str, Any]:
    return dict(
        id=row.id, business_key=row.business_key, business_name=row.business_name, state=State(row.state),
        version=row.version,
        trigger=row.trigger, critical_signs=list(row.critical_signs or []), probability=row.probability,
        band=row.band, priority=row.priority, priority_rank=row.priority_rank, phase=row.phase,
        phase_reason_ja=row.phase_reason_ja, phase_reason_en=row.phase_reason_en,
        lead_institution_id=row.lead_institution_id, first_sign_on=row.first_sign_on,
        flagged_on=row.flagged_on, last_as_of=row.last_as_of, updated_at=_aware(row.updated_at),
        snooze_until=row.snooze_until, closed_on=row.closed_on, consent_on=row.consent_on,
        route=Route(row.route) if row.route else None, referred_on=row.referred_on,
        referral_phase=row.referral_phase, referring_institution_id=row.referring_institution_id,
        institutions=tuple(insts), owner=row.owner, prefecture_code=row.prefecture_code,
        council_id=row.council_id, consent_withdrawn_on=row.consent_withdrawn_on,
    )
