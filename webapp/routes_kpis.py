"""The KPI page (`/kpis`): referrals by route and fiscal quarter, reviewers' decisions and the
early share (早期着手率: cases opened before any deterioration event), over an optional date
range, counted within the user's scope (signals/queue/kpis.py)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from signals.queue.kpis import DECISIONS, decision_kpis, early_share, referral_kpis
from signals.queue.store import QueueStore, User
from webapp.context import current_user, institution_names, queue_store, render
from webapp.formatting import parse_date

router = APIRouter()


@router.get("/kpis", response_class=HTMLResponse)
def kpis(request: Request, user: User = Depends(current_user), queue: QueueStore = Depends(queue_store)) -> Response:
    since = parse_date(request.query_params.get("since"))
    until = parse_date(request.query_params.get("until"))
    figures = referral_kpis(queue, user, since=since, until=until)
    routes = list(figures.by_route)
    quarters = list(figures.by_quarter)
    pivot = [(q, [figures.by_route_quarter.get((q, r), 0) for r in routes]) for q in quarters]
    return render(request, "kpis.html", nav="kpis", k=figures, routes=routes, pivot=pivot,
                  decisions=decision_kpis(queue, user, since=since, until=until), DECISIONS=DECISIONS,
                  early=early_share(queue, user, since=since, until=until), names=institution_names(queue, user),
                  since=since.isoformat() if since else "", until=until.isoformat() if until else "")
