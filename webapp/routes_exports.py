"""Downloads: the exports page (`/exports`) and the worklist and council list as Excel or CSV
(`/exports/{worklist,council}.{xlsx,csv}`), filtered like the list pages and scoped by the
store like everything else."""
from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from signals.queue import exports as queue_exports
from signals.queue.lifecycle import OPEN_STATES, State
from signals.queue.store import CaseQuery, QueueStore, User
from webapp.context import current_user, queue_store, render
from webapp.lists import COUNCIL_SORTS, COUNCIL_STATE_ORDER, WORKLIST_SORTS, ListParams

log = logging.getLogger(__name__)

router = APIRouter()

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
EXPORTERS: dict[tuple[str, str], Callable[..., bytes]] = {
    ("worklist", "xlsx"): queue_exports.worklist_xlsx, ("worklist", "csv"): queue_exports.worklist_csv,
    ("council", "xlsx"): queue_exports.council_list_xlsx, ("council", "csv"): queue_exports.council_list_csv,
}


@router.get("/exports", response_class=HTMLResponse)
def exports_page(request: Request, user: User = Depends(current_user)) -> Response:
    return render(request, "exports.html", nav="exports")


def download(body: bytes, media_type: str, stem: str, ext: str, queue: QueueStore) -> Response:
    filename = f"yocho_{stem}_{queue.today().isoformat()}.{ext}"
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def export_query(request: Request, council_list: bool) -> CaseQuery:
    """The query of the list page the export was asked from, with its filters and sorting."""
    if council_list:
        states = COUNCIL_STATE_ORDER
        params = ListParams.parse(request, COUNCIL_SORTS, "referred_on", states)
        return params.query((State.REFERRED,), states)
    params = ListParams.parse(request, WORKLIST_SORTS, "priority")
    return params.query(tuple(sorted(OPEN_STATES)), None)


def make_export(stem: str, ext: str) -> Callable[..., Response]:
    def endpoint(request: Request, user: User = Depends(current_user),
                 queue: QueueStore = Depends(queue_store)) -> Response:
        query = export_query(request, stem == "council")
        body = EXPORTERS[(stem, ext)](queue, user, query)
        log.info("%s exported %s.%s", user.username, stem, ext)
        return download(body, XLSX_TYPE if ext == "xlsx" else CSV_TYPE, stem, ext, queue)
    endpoint.__name__ = f"export_{stem}_{ext}"
    return endpoint


# One route per list and format, fixed paths: an unknown name is the 404 of a missing page.
for _stem, _ext in EXPORTERS:
    router.add_api_route(f"/exports/{_stem}.{_ext}", make_export(_stem, _ext), methods=["GET"])
