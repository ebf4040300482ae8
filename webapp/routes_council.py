"""Council intake's pages: the list of referred cases (`/council`) and the registration of a
referral that came in outside the system (`/council/referrals`, a manual referral)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from signals.queue.lifecycle import MANUAL_ROUTES, Conflict, InvalidInput, Role, Route, State
from signals.queue.store import QueueStore, User
from webapp.context import current_user, queue_store, render, translator
from webapp.formatting import parse_date
from webapp.lists import COUNCIL_SORTS, COUNCIL_STATE_ORDER, ListParams, list_context
from webapp.security import flash

router = APIRouter()


@router.get("/council", response_class=HTMLResponse)
def council(request: Request, user: User = Depends(current_user),
            queue: QueueStore = Depends(queue_store)) -> Response:
    states = COUNCIL_STATE_ORDER
    params = ListParams.parse(request, COUNCIL_SORTS, "referred_on", states)
    context = list_context(queue, user, params, (State.REFERRED,), states, states)
    t, counts = translator(request), queue.count_by_state(user)
    tabs = [("", t.state(State.REFERRED), counts[State.REFERRED])]
    tabs += [(s.value, t.state_short(s), counts[s]) for s in states if s is not State.REFERRED]
    tabs.append(("all", t("all"), sum(counts[s] for s in states)))
    # what a council is told of a withdrawn referral: its number and two dates (consent.py)
    withdrawn = queue.withdrawn_referrals(user) if user.role in (Role.COUNCIL_INTAKE, Role.ADMIN) else []
    return render(request, "council.html", nav="council", sorts=COUNCIL_SORTS, tabs=tabs,
                  manual_routes=[r for r in Route if r in MANUAL_ROUTES], today=queue.today().isoformat(),
                  withdrawn=withdrawn, **context)


@router.post("/council/referrals")
def manual_referral(request: Request, user: User = Depends(current_user),
                    queue: QueueStore = Depends(queue_store), business_key: str = Form(""),
                    route: str = Form(""), phase: str = Form(""), consent_on: str = Form(""),
                    note: str = Form("")) -> Response:
    t = translator(request)
    try:
        case = queue.register_manual_referral(user, business_key[:128], route, note[:2000] or None,
                                              phase=phase or None, consent_on=parse_date(consent_on))
    except (InvalidInput, Conflict) as exc:
        flash(request, "error", f"{t('invalid_input')} ({exc})")
        return RedirectResponse("/council", status_code=303)
    flash(request, "ok", t("manual_registered", id=case.id))
    return RedirectResponse(f"/cases/{case.id}", status_code=303)
