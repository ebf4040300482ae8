"""The watch list in the web app: this month's review budget on the worklist, and the page of
entries waiting below the line for the reviewer's institution (docs/webapp.md, "Monthly review
budget"). Scoping is the store's (signals/queue/watchlist.py): council intake and
administrators get no list, an administrator sees the counts only. `router` holds the
`/waiting` page."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from signals.queue import QueueStore, User
from signals.queue.watchlist import BudgetStatus, budget_status, waiting_page
from webapp.context import current_user, queue_store, render

router = APIRouter()

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class WaitingParams:
    """Paging of the waiting list from the query string; bad values fall back to defaults."""
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def parse(cls, request: Request) -> WaitingParams:
        qp = request.query_params
        try:
            page = max(1, min(int(qp.get("page", "1")), 100_000))
        except ValueError:
            page = 1
        try:
            size = int(qp.get("page_size", DEFAULT_PAGE_SIZE))
        except ValueError:
            size = DEFAULT_PAGE_SIZE
        return cls(page, size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE)

    def url(self, path: str, **changes: Any) -> str:
        values = {"page": str(changes.get("page", self.page)), "page_size": str(self.page_size)}
        values = {k: v for k, v in values.items()
                  if not (k == "page" and v == "1") and not (k == "page_size" and v == str(DEFAULT_PAGE_SIZE))}
        return path + ("?" + urlencode(values) if values else "")


def budget_panel(queue: QueueStore, user: User) -> BudgetStatus | None:
    """The worklist's budget line for the acting user (None: nothing to show)."""
    return budget_status(queue, user)


@router.get("/waiting", response_class=HTMLResponse)
def waiting(request: Request, user: User = Depends(current_user),
            queue: QueueStore = Depends(queue_store)) -> Response:
    params = WaitingParams.parse(request)
    page = waiting_page(queue, user, page=params.page, page_size=params.page_size)  # Forbidden: 403
    if not page.items and page.total and params.page > page.pages:  # past the end: the last page
        params = WaitingParams(page.pages, params.page_size)
        page = waiting_page(queue, user, page=params.page, page_size=params.page_size)
    first = (page.page - 1) * page.page_size + 1 if page.total else 0
    return render(request, "waiting.html", nav="worklist", page=page, params=params, first=first,
                  last=first + len(page.items) - 1 if page.total else 0, budget=budget_status(queue, user))
