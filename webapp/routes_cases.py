"""The reviewer's pages of cases: the worklist (`/cases`), one case with its evidence, why
now, similar cases and the moves it allows (`/cases/{id}`), and a move of its state
(`/cases/{id}/transition`). The store scopes every case to the user; the watch list page is
webapp/watchlist.py."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from signals.queue.consent import CATEGORIES, METHODS, WITHDRAWABLE, ConsentRecord
from signals.queue.lifecycle import (
    INSTITUTION_ROLES,
    OPEN_STATES,
    REASON_CODES,
    TRANSITIONS,
    Conflict,
    IllegalTransition,
    InvalidInput,
    NotFound,
    Role,
    State,
)
from signals.queue.outcomes import MIN_SIMILAR, similar_outcomes
from signals.queue.store import CaseDetail, QueueStore, Snapshot, User
from webapp import watchlist as watchlist_views
from webapp.case_insight import similar_view, why_now_view
from webapp.context import (
    WebContext,
    current_user,
    institution_names,
    lang_of,
    queue_store,
    render,
    translator,
    web_context,
)
from webapp.evidence import evidence_view
from webapp.formatting import Formatter, parse_date
from webapp.i18n import Translator
from webapp.lists import STATE_ORDER, WORKLIST_SORTS, ListParams, list_context
from webapp.routes_documents import case_documents
from webapp.routes_stages import stage_context
from webapp.security import flash, safe_next
from yocho.prefectures import PREFECTURES

log = logging.getLogger(__name__)

router = APIRouter()

# Forward moves are primary buttons; closing moves are marked as such.
PRIMARY = frozenset({State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, State.ACCEPTED})
DANGER = frozenset({State.DISMISSED, State.DECLINED})


@dataclass(frozen=True)
class ActionForm:
    target: State
    label: str
    style: str  # primary | danger | secondary
    note_required: bool
    snooze_required: bool
    consent_required: bool
    reason_codes: tuple[tuple[str, str], ...] = ()  # (code, label) a dismissal chooses from


def action_forms(case: CaseDetail, t: Translator) -> list[ActionForm]:
    forms = []
    for target in case.allowed_transitions:
        rule = TRANSITIONS[(case.state, target)]
        style = "primary" if target in PRIMARY else "danger" if target in DANGER else "secondary"
        codes = tuple((code, t.reason(code)) for code in REASON_CODES.get(target, {}))
        forms.append(ActionForm(target, t(f"do_{target.value}"), style, rule.note_required,
                                rule.snooze_until_required, rule.consent_on_required, codes))
    order = {"primary": 0, "secondary": 1, "danger": 2}
    return sorted(forms, key=lambda f: order[f.style])


@router.get("/cases", response_class=HTMLResponse)
def worklist(request: Request, user: User = Depends(current_user),
             queue: QueueStore = Depends(queue_store)) -> Response:
    params = ListParams.parse(request, WORKLIST_SORTS, "priority")
    context = list_context(queue, user, params, tuple(sorted(OPEN_STATES)), None, STATE_ORDER)
    t, counts = translator(request), queue.count_by_state(user)
    tabs = [("", t("open_short"), sum(counts[s] for s in OPEN_STATES))]
    tabs += [(s.value, t.state_short(s), counts[s]) for s in STATE_ORDER]
    tabs.append(("all", t("all"), sum(counts.values())))
    return render(request, "worklist.html", nav="worklist", sorts=WORKLIST_SORTS, tabs=tabs,
                  budget=watchlist_views.budget_panel(queue, user), **context)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: str, user: User = Depends(current_user),
              web: WebContext = Depends(web_context)) -> Response:
    if not case_id.isdigit() or len(case_id) > 12:
        raise NotFound(f"case {case_id} not found")
    queue = web.store
    case = queue.get_case(user, int(case_id))
    t, fmt = Translator(lang_of(request)), Formatter(lang_of(request))
    chosen = None
    wanted = request.query_params.get("snapshot", "")
    if wanted.isdigit():
        chosen = next((s for s in case.snapshots if s.id == int(wanted)), None)
    if chosen is None and case.snapshots:
        chosen = case.snapshots[-1]
    today = queue.today()
    names = institution_names(queue, user)
    return render(
        request, "case.html", nav="council" if user.role is Role.COUNCIL_INTAKE else "worklist",
        case=case, evidence=evidence_view(chosen, t, fmt, case.flagged_on, names) if chosen else None,
        actions=action_forms(case, t), names=names, today=today.isoformat(),
        consent_methods=list(METHODS), consent_categories=list(CATEGORIES),
        can_withdraw=can_withdraw(user, case), consent_missing=consent_missing(case),
        prefecture=PREFECTURES.get(case.prefecture_code or 0),
        critical_names=[t.indicator(s) for s in case.critical_signs],
        critical_ids=set(chosen.critical_signs) if chosen else set(),
        phase_reason=case.phase_reason_en if t.lang == "en" else case.phase_reason_ja,
        docs=case_documents(queue, user, case),
        **decision_aids(web, user, case, chosen, t), **stage_context(queue, user, case),
    )


def can_withdraw(user: User, case: CaseDetail) -> bool:
    """Whether to offer the withdrawal of consent: to the institution that recorded it (the
    referring one), while the consent is on record; the store decides (consent.withdraw)."""
    holder = case.referring_institution_id or case.consent_institution_id
    return (user.role in INSTITUTION_ROLES and case.state in WITHDRAWABLE and case.consent_on is not None
            and case.consent_withdrawn_on is None and holder == user.institution_id)


def consent_missing(case: CaseDetail) -> bool:
    """A case in consent_obtained whose record is not complete: the referral is refused, so the
    page says why instead of offering it."""
    return case.state is State.CONSENT_OBTAINED and not (
        case.consent_method and case.consent_from and case.consent_document_ref and case.consent_shared)


def decision_aids(web: WebContext, user: User, case: CaseDetail, chosen: Snapshot | None,
                  t: Translator) -> dict[str, Any]:
    """Why now and how similar cases ended (webapp/case_insight.py), from the snapshots the
    store scoped for this user and outcomes counted within the user's scope."""
    why = why_now_view(case.snapshots, chosen, t, web.settings.models.bands) if chosen else None
    similar = similar_view(similar_outcomes(web.store, user, case.id), t, t.reason) if case.phase else None
    scope = {Role.COUNCIL_INTAKE: "similar_scope_council", Role.ADMIN: "similar_scope_admin"}.get(
        user.role, "similar_scope_institution")
    return {"why": why, "similar": similar, "similar_min": MIN_SIMILAR, "similar_scope": scope}


@router.post("/cases/{case_id}/transition")
def transition(request: Request, case_id: int, user: User = Depends(current_user),
               queue: QueueStore = Depends(queue_store),
               to_state: str = Form(...), version: int = Form(...), note: str = Form(""),
               snooze_until: str = Form(""), consent_on: str = Form(""), reason_code: str = Form(""),
               consent_method: str = Form(""), consent_from: str = Form(""), consent_document_ref: str = Form(""),
               consent_shared: list[str] = Form([]),  # noqa: B008 - FastAPI's way to declare a form field
               next: str = Form("")) -> Response:  # noqa: A002 - the form field's name
    t = translator(request)
    back = safe_next(next, f"/cases/{case_id}")
    try:
        # the consent step records the consent in full (signals/queue/consent.py checks it)
        consent = ConsentRecord.of(
            method=consent_method[:16], obtained_on=parse_date(consent_on), obtained_from=consent_from[:500],
            document_ref=consent_document_ref[:500], shared=[c[:40] for c in consent_shared[:10]],
        ) if to_state == State.CONSENT_OBTAINED.value else None
        case = queue.transition(user, case_id, to_state, expected_version=version, note=note[:2000],
                                snooze_until=parse_date(snooze_until), consent=consent,
                                reason_code=reason_code[:40] or None)
    except Conflict:
        flash(request, "error", t("conflict"))
    except IllegalTransition:
        flash(request, "error", t("illegal_transition"))
    except InvalidInput as exc:
        flash(request, "error", f"{t('invalid_input')} ({exc})")
    else:
        log.info("%s moved case %s to %s", user.username, case_id, case.state.value)
        flash(request, "ok", t("transition_done", state=t.state(case.state)))
    return RedirectResponse(back, status_code=303)


@router.post("/cases/{case_id}/withdraw-consent")
def withdraw_consent(request: Request, case_id: int, user: User = Depends(current_user),
                     queue: QueueStore = Depends(queue_store), version: int = Form(...),
                     note: str = Form("")) -> Response:
    """The owner withdrew consent: the referring institution records it; the council no longer
    sees the case (the store refuses anyone else: Forbidden, or NotFound outside scope)."""
    t = translator(request)
    try:
        queue.withdraw_consent(user, case_id, expected_version=version, note=note[:2000])
    except Conflict:
        flash(request, "error", t("conflict"))
    except InvalidInput as exc:
        flash(request, "error", f"{t('invalid_input')} ({exc})")
    else:
        log.info("%s recorded the withdrawal of consent on case %s", user.username, case_id)
        flash(request, "ok", t("withdraw_done"))
    return RedirectResponse(f"/cases/{case_id}", status_code=303)
