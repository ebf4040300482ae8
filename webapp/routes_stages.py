"""The council's support after an accepted referral on the case page: the form council intake
records the next stage with (`/cases/{id}/stages`), and what the timeline shows each user
(`stage_context`: the council's notes for the council only — the store never reads them for
anyone else, signals/queue/stages.py)."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from signals.queue.lifecycle import InvalidInput, Role, State
from signals.queue.stage_terms import FINAL_STAGES, STAGE_MEASURES, Stage
from signals.queue.store import CaseDetail, QueueStore, User
from webapp.context import current_user, queue_store, translator
from webapp.formatting import parse_date
from webapp.security import flash

log = logging.getLogger(__name__)

router = APIRouter()


def stage_context(queue: QueueStore, user: User, case: CaseDetail) -> dict[str, Any]:
    """The timeline and, for the case's council intake on an accepted referral whose support
    has not ended, the form's choices."""
    log_entries = queue.stage_timeline(user, case.id)
    ended = bool(log_entries) and log_entries[-1].stage in FINAL_STAGES
    can_record = user.role is Role.COUNCIL_INTAKE and case.state is State.ACCEPTED and not ended
    return {"stage_log": log_entries, "stage_notes": user.role is Role.COUNCIL_INTAKE,
            "can_record_stage": can_record, "stage_choices": list(Stage),
            "stage_measures": {s.value: [m.value for m in ms] for s, ms in STAGE_MEASURES.items()},
            "stage_min": (log_entries[-1].on if log_entries else case.closed_on)}


@router.post("/cases/{case_id}/stages")
def record_stage(request: Request, case_id: int, user: User = Depends(current_user),
                 queue: QueueStore = Depends(queue_store), stage: str = Form(...), stage_on: str = Form(""),
                 measures: list[str] = Form([]),  # noqa: B008 - FastAPI's way to declare a form field
                 note: str = Form("")) -> Response:
    """Council intake records the next stage; the store refuses anyone else (Forbidden, or
    NotFound outside its council's scope)."""
    t = translator(request)
    try:
        queue.record_stage(user, case_id, stage[:40], on=parse_date(stage_on),
                           measures=[m[:40] for m in measures[:10]], note=note[:2000])
    except InvalidInput as exc:
        flash(request, "error", f"{t('invalid_input')} ({exc})")
    else:
        log.info("%s recorded stage %s on case %s", user.username, stage[:40], case_id)
        flash(request, "ok", t("stage_recorded", stage=t.stage(stage)))
    return RedirectResponse(f"/cases/{case_id}#support", status_code=303)
