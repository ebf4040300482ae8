"""Document requests between a case's lead institution and the other lenders of the business
(signals/queue/documents.py): the page of documents asked of the user's institution
(`/documents`, 依頼された資料, linked from the header with its count), and the forms of the case
page: the lead requests (`/cases/{id}/documents`) or waives (`/documents/{rid}/waive`), the asked
institution records what it sent (`/documents/{rid}/received`). Every rule is the store's:
a refusal is flashed in the user's language and the page reloads."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from signals.queue import documents
from signals.queue.documents import DocumentRequest
from signals.queue.lifecycle import INSTITUTION_ROLES, Conflict, Forbidden, InvalidInput, QueueError
from signals.queue.store import CaseDetail, QueueStore, User
from webapp.context import current_user, queue_store, render, translator
from webapp.formatting import parse_date
from webapp.i18n import Translator
from webapp.security import flash, safe_next

log = logging.getLogger(__name__)

router = APIRouter()

PAGE = "/documents"


def documents_badge(queue: QueueStore, user: User) -> tuple[int, int] | None:
    """(open, overdue) requests of the user's institution for the header; None for other roles
    or when it cannot be read (the page still renders without it)."""
    if user.role not in INSTITUTION_ROLES:
        return None
    try:
        return documents.open_count(queue, user)
    except QueueError:
        return None


@dataclass(frozen=True)
class CaseDocuments:
    """What the case page shows of its requests."""
    requests: list[DocumentRequest]
    is_lead: bool  # the user's institution leads the case: it may request and waive
    others: list[str]  # the case's other institutions the lead may ask
    outstanding: int
    overdue: int
    received: list[DocumentRequest]  # for the evidence: what came in since the flag


def case_documents(queue: QueueStore, user: User, case: CaseDetail) -> CaseDocuments:
    found = documents.case_requests(queue, user, case.id)
    is_lead = user.role in INSTITUTION_ROLES and case.lead_institution_id == user.institution_id
    others = sorted({i.institution_id for i in case.institutions} - {user.institution_id or ""}) if is_lead else []
    still = [r for r in found if r.open]
    return CaseDocuments(found, is_lead, others, len(still), sum(1 for r in still if r.overdue),
                         sorted((r for r in found if r.status == "received"),
                                key=lambda r: (r.received_on or date.min, r.id)))


def _refused(request: Request, t: Translator, exc: QueueError) -> None:
    if isinstance(exc, Conflict):
        flash(request, "error", t("document_conflict"))
    elif isinstance(exc, Forbidden | InvalidInput):
        flash(request, "error", t("document_forbidden", reason=str(exc)))
    else:
        raise exc


@router.get(PAGE, response_class=HTMLResponse)
def requested_page(request: Request, user: User = Depends(current_user),
                   queue: QueueStore = Depends(queue_store)) -> Response:
    found = documents.requested_of_me(queue, user)
    return render(request, "documents.html", nav="documents", requests=found,
                  overdue=sum(1 for r in found if r.overdue), today=queue.today().isoformat())


@router.post("/cases/{case_id}/documents")
def request_documents(request: Request, case_id: int, user: User = Depends(current_user),
                      queue: QueueStore = Depends(queue_store), institution_id: str = Form(""),
                      document: list[str] = Form([]),  # noqa: B008 - FastAPI's way to declare a form field
                      due_on: str = Form(""), note: str = Form("")) -> Response:
    t = translator(request)
    due = parse_date(due_on)
    try:
        if due is None:
            raise InvalidInput("期限を入力してください (the due date is required)")
        ids = documents.request_documents(queue, user, case_id, institution_id[:64], [d[:32] for d in document[:10]],
                                          due, note[:500])
    except QueueError as exc:
        _refused(request, t, exc)
    else:
        log.info("%s requested %d documents of %s on case %s", user.username, len(ids), institution_id, case_id)
        flash(request, "ok", t("document_requested", n=len(ids), to=institution_id))
    return RedirectResponse(f"/cases/{case_id}#documents", status_code=303)


@router.post(PAGE + "/{request_id}/received")
def mark_received(request: Request, request_id: int, user: User = Depends(current_user),
                  queue: QueueStore = Depends(queue_store), received_on: str = Form(""),
                  reference: str = Form(""), next: str = Form("")) -> Response:  # noqa: A002 - the form field
    t = translator(request)
    day = parse_date(received_on)
    try:
        if day is None:
            raise InvalidInput("送付日を入力してください (the date is required)")
        documents.mark_received(queue, user, request_id, day, reference[:500])
    except QueueError as exc:
        _refused(request, t, exc)
    else:
        log.info("%s recorded document request %s as received", user.username, request_id)
        flash(request, "ok", t("document_received"))
    return RedirectResponse(safe_next(next, PAGE), status_code=303)


@router.post(PAGE + "/{request_id}/waive")
def waive(request: Request, request_id: int, user: User = Depends(current_user),
          queue: QueueStore = Depends(queue_store), reason: str = Form(""),
          next: str = Form("")) -> Response:  # noqa: A002 - the form field
    t = translator(request)
    try:
        documents.waive(queue, user, request_id, reason[:500])
    except QueueError as exc:
        _refused(request, t, exc)
    else:
        log.info("%s waived document request %s", user.username, request_id)
        flash(request, "ok", t("document_waived"))
    return RedirectResponse(safe_next(next, PAGE), status_code=303)
