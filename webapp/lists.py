"""The case lists (the worklist, the council list and their exports): filters, sorting and
paging from the query string (`ListParams`), and what a list page's template gets
(`list_context`)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from signals.phases import PHASES
from signals.queue.lifecycle import COUNCIL_STATES, State
from signals.queue.store import SORTS, CaseQuery, QueueStore, User

PAGE_SIZES = (25, 50, 100)  # offered in the filter bar; any size up to MAX_PAGE_SIZE is accepted
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
# Sortable columns of each list (a subset of the store's SORTS).
WORKLIST_SORTS = ("priority", "probability", "first_sign_on", "flagged_on", "updated_at")
COUNCIL_SORTS = ("referred_on", "priority", "probability", "first_sign_on", "updated_at")
# The order states are offered in filters.
STATE_ORDER = (State.NEW, State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, State.ACCEPTED,
               State.DECLINED, State.SNOOZED, State.DISMISSED)
COUNCIL_STATE_ORDER = tuple(s for s in STATE_ORDER if s in COUNCIL_STATES)  # the council list's states


@dataclass(frozen=True)
class ListParams:
    """Worklist and council-list filters from the query string; bad values fall back to
    defaults rather than failing."""
    state: str = ""  # "" the list's default states, "all", or a state value
    phase: str = ""
    band: str = ""
    institution: str = ""
    q: str = ""
    sort: str = "priority"
    order: str = "desc"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def parse(cls, request: Request, sorts: tuple[str, ...], default_sort: str,
              states: tuple[State, ...] = STATE_ORDER) -> ListParams:
        qp = request.query_params
        state = qp.get("state", "")
        if state not in ("", "all", *(s.value for s in states)):
            state = ""
        phase = qp.get("phase", "")
        phase = phase if phase in PHASES or phase == "" else ""
        sort = qp.get("sort", default_sort)
        sort = sort if sort in sorts and sort in SORTS else default_sort
        order = "asc" if qp.get("order") == "asc" else "desc"
        try:
            page = max(1, min(int(qp.get("page", "1")), 100_000))
        except ValueError:
            page = 1
        try:
            page_size = int(qp.get("page_size", DEFAULT_PAGE_SIZE))
        except ValueError:
            page_size = DEFAULT_PAGE_SIZE
        page_size = page_size if 1 <= page_size <= MAX_PAGE_SIZE else DEFAULT_PAGE_SIZE
        return cls(state=state, phase=phase, band=qp.get("band", "")[:32], institution=qp.get("institution", "")[:64],
                   q=qp.get("q", "").strip()[:128], sort=sort, order=order, page=page, page_size=page_size)

    def query(self, default_states: tuple[State, ...] | None, all_states: tuple[State, ...] | None = None,
              ) -> CaseQuery:
        """The store query: state "" means default_states, "all" means all_states (None: every
        state the user can see)."""
        if self.state == "all":
            states = all_states
        elif self.state:
            states = (State(self.state),)
        else:
            states = default_states
        return CaseQuery(states=states, phase=self.phase or None, band=self.band or None,
                         institution_id=self.institution or None, search=self.q or None, sort=self.sort,
                         descending=self.order == "desc", page=self.page, page_size=self.page_size)

    def as_dict(self) -> dict[str, str]:
        """Non-default values, for links that keep the current filters."""
        values = {"state": self.state, "phase": self.phase, "band": self.band, "institution": self.institution,
                  "q": self.q, "sort": self.sort, "order": self.order, "page": str(self.page),
                  "page_size": str(self.page_size)}
        return {k: v for k, v in values.items()
                if v and not (k == "page" and v == "1") and not (k == "page_size" and v == str(DEFAULT_PAGE_SIZE))}

    def url(self, path: str, **changes: Any) -> str:
        values = self.as_dict() | {k: str(v) for k, v in changes.items() if v is not None}
        values = {k: v for k, v in values.items() if v != ""}
        return path + ("?" + urlencode(values) if values else "")

    def sort_url(self, path: str, column: str) -> str:
        order = "asc" if self.sort == column and self.order == "desc" else "desc"
        return self.url(path, sort=column, order=order, page=1)

    def filters_only(self) -> dict[str, str]:
        return {k: v for k, v in self.as_dict().items() if k not in ("page", "page_size")}


def list_context(queue: QueueStore, user: User, params: ListParams, default_states: tuple[State, ...],
                 all_states: tuple[State, ...] | None, states: tuple[State, ...]) -> dict[str, Any]:
    """A list page's template values: one page of cases in the user's scope (the last page
    when asked for one past the end), the institutions to filter by and the filter options."""
    page = queue.list_cases(user, params.query(default_states, all_states))
    if not page.items and page.total and params.page > page.pages:  # past the end: the last page
        params = replace(params, page=page.pages)
        page = queue.list_cases(user, params.query(default_states, all_states))
    institutions = [i for i in queue.list_institutions(user) if i.kind in ("bank", "cga")]
    first = (page.page - 1) * page.page_size + 1 if page.total else 0
    return {"page": page, "params": params, "first": first, "last": first + len(page.items) - 1 if page.total else 0,
            "institutions": institutions, "names": {i.id: i.name for i in institutions},
            "state_options": states, "bands": ("very_high", "high", "watch", "low"),
            "page_sizes": sorted({*PAGE_SIZES, params.page_size}),
            "filters_query": urlencode(params.filters_only())}
