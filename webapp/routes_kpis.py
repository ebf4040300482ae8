"""The KPI page (`/kpis`): referrals by route and fiscal quarter, reviewers' decisions, the
early share (早期着手率: cases opened before any deterioration event), over an optional date
range, counted within the user's scope (signals/queue/kpis.py); the council's report of what
followed (signals/queue/stage_kpis.py) and the did-it-work comparison against the warehouse
(signals/followup.py)."""
from __future__ import annotations

import logging
from pathlib import Path

import duckdb
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from signals.followup import MIN_GROUP, Horizon, followup
from signals.queue.kpis import DECISIONS, decision_kpis, early_share, referral_kpis
from signals.queue.lifecycle import Role
from signals.queue.stage_kpis import DURATIONS, NATIONAL, NO_PHASE, PHASES, ROUTES
from signals.queue.store import QueueStore, User
from webapp.context import WebContext, current_user, institution_names, render, web_context
from webapp.formatting import parse_date

log = logging.getLogger(__name__)

router = APIRouter()


def followup_figures(web: WebContext, user: User) -> list[Horizon] | None:
    """The comparison, or None when the warehouse cannot be read (none yet, or a writer
    holding it): the page says so instead."""
    path = Path(web.settings.warehouse_path)
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        log.warning("warehouse not readable for the follow-up: %s", exc)
        return None
    try:
        return followup(con, web.store.followup_cohort(user))
    except duckdb.Error as exc:
        log.warning("follow-up query failed: %s", exc)
        return None
    finally:
        con.close()


def council_report(queue: QueueStore, user: User) -> dict[str, object]:
    """The council's tables: quarter rows by route and by phase, for the user's scope."""
    report = queue.stage_kpis(user)
    consultations = report.consultations.get(NATIONAL, {})
    completions = report.completions.get(NATIONAL, {})
    return {
        "report": report,
        "consult_rows": [(q, [consultations.get((q, r), 0) for r in ROUTES])
                         for q in report.quarters(report.consultations)],
        "complete_rows": [(q, [completions.get((q, p), 0) for p in (*PHASES, NO_PHASE)])
                          for q in report.quarters(report.completions)],
        "report_routes": ROUTES, "report_phases": (*PHASES, NO_PHASE), "DURATIONS": DURATIONS,
        "NATIONAL": NATIONAL, "show_breakdown": user.role is Role.ADMIN and bool(report.councils),
    }


@router.get("/kpis", response_class=HTMLResponse)
def kpis(request: Request, user: User = Depends(current_user), web: WebContext = Depends(web_context)) -> Response:
    queue = web.store
    since = parse_date(request.query_params.get("since"))
    until = parse_date(request.query_params.get("until"))
    figures = referral_kpis(queue, user, since=since, until=until)
    routes = list(figures.by_route)
    quarters = list(figures.by_quarter)
    pivot = [(q, [figures.by_route_quarter.get((q, r), 0) for r in routes]) for q in quarters]
    return render(request, "kpis.html", nav="kpis", k=figures, routes=routes, pivot=pivot,
                  decisions=decision_kpis(queue, user, since=since, until=until), DECISIONS=DECISIONS,
                  early=early_share(queue, user, since=since, until=until), names=institution_names(queue, user),
                  since=since.isoformat() if since else "", until=until.isoformat() if until else "",
                  followup=followup_figures(web, user), followup_min=MIN_GROUP, **council_report(queue, user))
