"""The review web app: FastAPI routes over the referral queue, rendered with Jinja2.

`create_app(settings)` builds the app (one QueueStore at `settings.queue_url`); `serve`
runs it with uvicorn. Every page acts as the logged-in user: the store scopes every read
and write by that user's role and institution, so the app never filters on its own — a
case outside the user's scope is `NotFound` there and 404 here, like a case that does not
exist. Routes and their rules: docs/webapp.md.
"""
from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from signals.phases import PHASES
from signals.queue import exports as queue_exports
from signals.queue.auth import (
    MIN_PASSWORD_LENGTH,
    authenticate,
    change_role,
    create_user,
    disable_user,
    list_account_events,
    list_users,
    open_session,
    record_account_event,
    revoke_session,
)
from signals.queue.auth import session_user as load_session_user
from signals.queue.kpis import DECISIONS, decision_kpis, referral_kpis
from signals.queue.lifecycle import (
    COUNCIL_STATES,
    MANUAL_ROUTES,
    OPEN_STATES,
    REASON_CODES,
    TRANSITIONS,
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    QueueError,
    Role,
    Route,
    State,
)
from signals.queue.outcomes import MIN_SIMILAR, similar_outcomes
from signals.queue.store import SORTS, CaseDetail, CaseQuery, QueueStore, Snapshot, User
from signals.sharing import OTHERS, REPORTED
from webapp import watchlist as watchlist_views
from webapp.case_insight import similar_view, why_now_view
from webapp.charts import evidence_charts
from webapp.i18n import DEFAULT_LANG, LANG_COOKIE, LANGS, Translator, normalize_lang
from webapp.security import (
    ABSOLUTE_SECONDS,
    LOOPBACK,
    CsrfError,
    InsecureSecret,
    SecurityHeadersMiddleware,
    SessionMiddleware,
    csrf_protect,
    csrf_token,
    flash,
    pop_flashes,
    rotate_csrf,
    safe_next,
    session_secret,
)
from webapp.throttle import LoginThrottle

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
TOKYO = ZoneInfo("Asia/Tokyo")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
PAGE_SIZES = (25, 50, 100)  # offered in the filter bar; any size up to MAX_PAGE_SIZE is accepted
MAX_PAGE_SIZE = 200
# Password checks running at once (each scrypt takes a core for ~0.15 s and 16 MiB); more
# logins wait for a slot without holding a worker thread or a database connection.
LOGIN_CONCURRENCY = 2
AUDIT_PAGE_SIZE = 100  # rows of the account audit log per page
DEFAULT_PAGE_SIZE = 50
# Sortable columns of each list (a subset of the store's SORTS).
WORKLIST_SORTS = ("priority", "probability", "first_sign_on", "flagged_on", "updated_at")
COUNCIL_SORTS = ("referred_on", "priority", "probability", "first_sign_on", "updated_at")
# The order states are offered in filters.
STATE_ORDER = (State.NEW, State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, State.ACCEPTED,
               State.DECLINED, State.SNOOZED, State.DISMISSED)
# Forward moves are primary buttons; closing moves are marked as such.
PRIMARY = frozenset({State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, State.ACCEPTED})
DANGER = frozenset({State.DISMISSED, State.DECLINED})
UNITS = {  # catalog units, as a value's suffix
    "%": ("%", "%"), "days": ("日", " days"), "months": ("か月", " months"), "years": ("期", " years"),
    "JPY": ("円", " JPY"), "ratio": ("倍", "×"), "debits": ("件", " debits"), "loans": ("件", " loans"),
    "lenders": ("行", " lenders"), "banks": ("行", " banks"), "institutions": ("機関", " institutions"),
    "guarantees": ("件", " guarantees"), "reports": ("件", " reports"), "percentage points": ("pt", " pt"),
}


class LoginRequired(Exception):
    """No valid session: the handler redirects to the login page."""


# ---------------------------------------------------------------------------- formatting

class Formatter:
    """Number and date formats of one request's language (templates: `f.pct(x)`)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def pct(self, value: float | None, digits: int = 1) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return f"{value * 100:.{digits}f}%"

    def num(self, value: Any, digits: int = 3) -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return "✓" if value else "—"
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float):
            if math.isnan(value):
                return "—"
            if value.is_integer() and abs(value) < 1e15:
                return f"{int(value):,}"
            if abs(value) >= 1000:
                return f"{value:,.0f}"
            return f"{value:.{digits}g}"
        return str(value)

    def date(self, value: date | str | None) -> str:
        if value is None or value == "":
            return "—"
        return value.isoformat() if isinstance(value, date) else str(value)[:10]

    def datetime(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")

    def day(self, value: datetime | None) -> str:
        """The date of a timestamp in Japan."""
        return "—" if value is None else value.astimezone(TOKYO).date().isoformat()

    def yesno(self, value: bool | None) -> str:
        if value is None:
            return "—"
        return ("はい" if value else "いいえ") if self.lang == "ja" else ("yes" if value else "no")

    def unit_value(self, value: Any, unit: str | None) -> str:
        text = self.num(value)
        if text == "—" or not unit:
            return text
        ja, en = UNITS.get(unit, ("", ""))
        return text + (en if self.lang == "en" else ja)


# ---------------------------------------------------------------------------- list parameters

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


# ---------------------------------------------------------------------------- evidence view

@dataclass
class SignView:
    id: str
    name: str
    family: str
    severity: str
    severity_key: str
    value: str
    details: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class FactorView:
    name: str
    value: str
    fired: bool | None
    contribution: float | None
    kind: str  # sign (a fired warning sign) | figure | missing: models/explain.py KINDS


@dataclass
class EvidenceView:
    snapshot: Snapshot
    probability: float | None
    band: str | None
    model_version: str | None
    portfolio_share: float | None
    signs: list[SignView]
    factors: list[FactorView]
    charts: list[tuple[str, Any]]

    @property
    def max_contribution(self) -> float:
        return max((f.contribution for f in self.factors if f.contribution), default=0.0)


def _as_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _catalog_unit(indicator_id: str) -> str | None:
    try:
        from features.catalog import indicators
    except ImportError:
        return None
    from features.catalog import measures

    found = indicators().get(indicator_id) or measures().get(indicator_id)
    return found.unit if found else None


def _detail_text(value: Any, fmt: Formatter) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)[:200]
    return fmt.num(value) if isinstance(value, (int, float)) else str(value)[:200]


def evidence_view(snapshot: Snapshot, t: Translator, fmt: Formatter, opened_on: date | None = None) -> EvidenceView:
    """What a case page shows of one snapshot. Reads the shape of signals/sql/evidence.sql
    and tolerates missing parts (a malformed document shows as empty evidence). opened_on:
    the case's flag date, marked on the charts."""
    try:
        data = snapshot.data
    except (TypeError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    score = data.get("score") if isinstance(data.get("score"), dict) else {}
    signs: list[SignView] = []
    for raw in data.get("signs") or []:
        if not isinstance(raw, dict):
            continue
        indicator = str(raw.get("indicator_id") or raw.get("id") or raw.get("indicator") or "?")
        details = raw.get("evidence")
        pairs = [(t("other_institutions"), t("reported_by_others")) if k == OTHERS and v == REPORTED
                 else (str(k), _detail_text(v, fmt))
                 for k, v in details.items()] if isinstance(details, dict) else []
        severity = str(raw.get("severity") or "")
        signs.append(SignView(
            id=indicator,
            name=t.indicator(indicator, raw.get("name_ja"), raw.get("name_en")),
            family=t.family(raw.get("family")),
            severity=t.severity(severity),
            severity_key=severity,
            value=fmt.unit_value(raw.get("value"), _catalog_unit(indicator)),
            details=pairs[:8],
        ))
    factors: list[FactorView] = []
    for raw in data.get("top_factors") or []:
        if not isinstance(raw, dict):
            continue
        indicator = str(raw.get("indicator") or raw.get("indicator_id") or "?")
        fired = raw.get("fired")
        kind = raw.get("kind")
        if kind not in ("sign", "figure", "missing"):  # snapshots from before factors had kinds
            kind = "sign" if fired is True else ("missing" if raw.get("value") is None else "figure")
        factors.append(FactorView(
            kind=kind,
            name=t.indicator(indicator, raw.get("name_ja") or raw.get("ja"), raw.get("name_en") or raw.get("en")),
            value=fmt.unit_value(raw.get("value"), _catalog_unit(indicator)),
            fired=fired if isinstance(fired, bool) else None,
            contribution=_as_float(raw.get("contribution")),
        ))
    charts = evidence_charts(data, lang=t.lang, translate=t, indicator_name=t.indicator, end=snapshot.as_of,
                             opened_on=opened_on)
    return EvidenceView(
        snapshot=snapshot,
        probability=_as_float(data.get("probability", score.get("probability", snapshot.probability))),
        band=data.get("band") or score.get("band") or snapshot.band,
        model_version=data.get("model_version") or score.get("model_version"),
        portfolio_share=_as_float(data.get("portfolio_share")),
        signs=signs,
        factors=factors,
        charts=charts,
    )


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


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


# ---------------------------------------------------------------------------- the app

def lang_of(request: Request) -> str:
    return (normalize_lang(request.query_params.get("lang"))
            or normalize_lang(request.cookies.get(LANG_COOKIE)) or DEFAULT_LANG)


def create_app(settings: Any, *, store: QueueStore | None = None, insecure_demo_secret: bool = False) -> FastAPI:
    """The web app over the queue at `settings.queue_url`, its sessions signed with
    `settings.queue.secret_key` (`security.session_secret`: refused when missing, short or the
    old built-in default, unless `insecure_demo_secret` gives a throwaway demo a random key).
    `store`: an open store to use instead (tests); the app closes only a store it opened itself."""
    secret = session_secret(settings.queue.secret_key, insecure_demo_secret=insecure_demo_secret)
    if secret != settings.queue.secret_key:
        log.warning("the web app signs sessions with a random key of this process (--insecure-demo-secret): "
                    "for a local demo only; sessions end when it stops")
    own_store = store is None
    queue = store if store is not None else QueueStore.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if own_store:
                queue.close()

    app = FastAPI(title="Yocho review", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(csrf_protect)])
    app.state.store = queue
    app.state.settings = settings
    app.add_middleware(SessionMiddleware, secret_key=secret)
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(State=State, Role=Role, PHASES=PHASES, LANGS=LANGS)

    # -- helpers -----------------------------------------------------------------------

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        lang = lang_of(request)
        other = {k: v for k, v in request.query_params.items() if k != "lang"}
        lang_urls = {code: request.url.path + "?" + urlencode(other | {"lang": code}) for code in LANGS}
        user = getattr(request.state, "user", None)
        response = templates.TemplateResponse(request, name, {
            "t": Translator(lang), "f": Formatter(lang), "lang": lang, "user": user, "csrf": csrf_token(request),
            "flashes": pop_flashes(request), "lang_urls": lang_urls, "path": request.url.path, **context,
        }, status_code=status_code)
        chosen = normalize_lang(request.query_params.get("lang"))
        if chosen:
            response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 24 * 3600, httponly=True, samesite="lax",
                                secure=request.url.scheme == "https")
        return response

    def error_page(request: Request, status_code: int, title_key: str, text: str) -> HTMLResponse:
        t = Translator(lang_of(request))
        return render(request, "error.html", status_code=status_code, title=t(title_key), message=text)

    def session_user(request: Request) -> User | None:
        """The user of the request's server-side session (`sid`): None, and the cookie
        cleared, once that session is revoked (logout, a disabled user) or expired."""
        uid, username, sid = request.session.get("uid"), request.session.get("un"), request.session.get("sid")
        if not isinstance(uid, int):
            return None
        user = load_session_user(queue, sid) if isinstance(sid, str) else None
        if user is None or user.id != uid or user.username != username:
            request.session.clear()
            return None
        return user

    def current_user(request: Request) -> User:
        user = session_user(request)
        if user is None:
            raise LoginRequired()
        request.state.user = user
        return user

    def home_for(user: User) -> str:
        if user.role is Role.ADMIN:
            return "/admin/users"
        return "/council" if user.role is Role.COUNCIL_INTAKE else "/cases"

    def institution_names(user: User) -> dict[str, str]:
        return {i.id: i.name for i in queue.list_institutions(user)}

    # -- errors ------------------------------------------------------------------------

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET" or target == "/":
            return RedirectResponse("/login", status_code=303)
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(CsrfError)
    async def _csrf(request: Request, _exc: CsrfError) -> Response:
        return error_page(request, 403, "forbidden_title", Translator(lang_of(request))("csrf_failed"))

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, _exc: NotFound) -> Response:
        return error_page(request, 404, "not_found_title", Translator(lang_of(request))("not_found_text"))

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, _exc: Forbidden) -> Response:
        return error_page(request, 403, "forbidden_title", Translator(lang_of(request))("forbidden_text"))

    @app.exception_handler(QueueError)
    async def _queue_error(request: Request, exc: QueueError) -> Response:
        t = Translator(lang_of(request))
        return error_page(request, 400, "bad_request_title", f"{t('invalid_input')} ({exc})")

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, _exc: RequestValidationError) -> Response:
        return error_page(request, 400, "bad_request_title", Translator(lang_of(request))("invalid_input"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        t = Translator(lang_of(request))
        if exc.status_code == 404:
            return error_page(request, 404, "not_found_title", t("page_not_found_text"))
        return error_page(request, exc.status_code, "error_title", str(exc.detail))

    # -- login -------------------------------------------------------------------------

    login_throttle = LoginThrottle()
    app.state.login_throttle = login_throttle
    login_slots = anyio.CapacityLimiter(LOGIN_CONCURRENCY)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        user = session_user(request)
        return RedirectResponse(home_for(user) if user else "/login", status_code=303)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        user = session_user(request)
        if user is not None:
            return RedirectResponse(safe_next(request.query_params.get("next"), home_for(user)), status_code=303)
        t = Translator(lang_of(request))
        notice = t("logged_out") if request.query_params.get("bye") else (
            t("login_required") if request.query_params.get("next") else None)
        return render(request, "login.html", next=safe_next(request.query_params.get("next"), ""),
                      error=None, notice=notice, username="")

    def check_password(username: str, password: str, address: str | None) -> tuple[User | None, str | None]:
        """In a login thread: the user and a new server-side session, or (None, None). The
        store records the attempt in the account audit log."""
        user = authenticate(queue, username, password, address=address)
        if user is None:
            return None, None
        return user, open_session(queue, user, ABSOLUTE_SECONDS)

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request, username: str = Form(""), password: str = Form(""),
                    next: str = Form("")) -> Response:  # noqa: A002 - the form field's name
        # Async on purpose: a refused attempt is answered from the event loop (no thread, no
        # database, no hash), and the password check runs in at most LOGIN_CONCURRENCY
        # threads of its own, so a login flood never takes the threads other pages need.
        t = Translator(lang_of(request))
        username, password = username[:128], password[:1024]
        address = request.client.host if request.client else None
        verdict = login_throttle.attempt(username, address)
        if not verdict.allowed:
            if verdict.first_refusal:  # one audit row per lock, not one per refused attempt
                log.warning("login throttled for %r from %s for %d s", username, address, verdict.retry_after)
                await anyio.to_thread.run_sync(lambda: record_account_event(
                    queue, "login_throttled", actor_name=username or "anonymous", subject=username or None,
                    address=address, detail=f"refused for {verdict.retry_after} s"))
            response = render(request, "login.html", status_code=429, next=safe_next(next, ""),
                              error=t("login_throttled", seconds=verdict.retry_after), notice=None,
                              username=username)
            response.headers["Retry-After"] = str(verdict.retry_after)
            return response
        user, sid = (await anyio.to_thread.run_sync(check_password, username, password, address,
                                                    limiter=login_slots)
                     if username and password else (None, None))
        if user is None:
            log.info("failed login for %r from %s", username, address)
            return render(request, "login.html", status_code=401, next=safe_next(next, ""),
                          error=t("login_failed"), notice=None, username=username)
        login_throttle.succeeded(username, address)
        request.session.clear()  # nothing from before login survives it
        request.session.update({"uid": user.id, "un": user.username, "sid": sid, "login_at": int(time.time())})
        rotate_csrf(request)
        log.info("login %s (%s)", user.username, user.role.value)
        return RedirectResponse(safe_next(next, home_for(user)), status_code=303)

    @app.post("/logout")
    def logout(request: Request) -> Response:
        sid = request.session.get("sid")
        user = session_user(request)
        if isinstance(sid, str) and revoke_session(queue, sid):  # a copy of the cookie is worthless from now on
            if user is not None:
                record_account_event(queue, "logout", actor=user, subject=user.username,
                                     address=request.client.host if request.client else None)
        request.session.clear()
        return RedirectResponse("/login?bye=1", status_code=303)

    # -- worklist ----------------------------------------------------------------------

    def list_context(user: User, params: ListParams, default_states: tuple[State, ...],
                     all_states: tuple[State, ...] | None, states: tuple[State, ...]) -> dict[str, Any]:
        page = queue.list_cases(user, params.query(default_states, all_states))
        if not page.items and page.total and params.page > page.pages:  # past the end: the last page
            params = replace(params, page=page.pages)
            page = queue.list_cases(user, params.query(default_states, all_states))
        institutions = [i for i in queue.list_institutions(user) if i.kind in ("bank", "cga")]
        first = (page.page - 1) * page.page_size + 1 if page.total else 0
        return {"page": page, "params": params, "first": first, "last": first + len(page.items) - 1 if page.total else 0,
                "institutions": institutions, "names": {i.id: i.name for i in institutions},
                "state_options": states, "bands": ("very_high", "high", "watch", "low"), "page_sizes": sorted({*PAGE_SIZES, params.page_size}),
                "filters_query": urlencode(params.filters_only())}

    @app.get("/cases", response_class=HTMLResponse)
    def worklist(request: Request, user: User = Depends(current_user)) -> Response:
        params = ListParams.parse(request, WORKLIST_SORTS, "priority")
        context = list_context(user, params, tuple(sorted(OPEN_STATES)), None, STATE_ORDER)
        t, counts = Translator(lang_of(request)), queue.count_by_state(user)
        tabs = [("", t("open_short"), sum(counts[s] for s in OPEN_STATES))]
        tabs += [(s.value, t.state_short(s), counts[s]) for s in STATE_ORDER]
        tabs.append(("all", t("all"), sum(counts.values())))
        return render(request, "worklist.html", nav="worklist", sorts=WORKLIST_SORTS, tabs=tabs,
                      budget=watchlist_views.budget_panel(queue, user), **context)

    watchlist_views.register(app, queue, render, current_user)

    # -- one case ----------------------------------------------------------------------

    @app.get("/cases/{case_id}", response_class=HTMLResponse)
    def case_page(request: Request, case_id: str, user: User = Depends(current_user)) -> Response:
        if not case_id.isdigit() or len(case_id) > 12:
            raise NotFound(f"case {case_id} not found")
        case = queue.get_case(user, int(case_id))
        t, fmt = Translator(lang_of(request)), Formatter(lang_of(request))
        chosen = None
        wanted = request.query_params.get("snapshot", "")
        if wanted.isdigit():
            chosen = next((s for s in case.snapshots if s.id == int(wanted)), None)
        if chosen is None and case.snapshots:
            chosen = case.snapshots[-1]
        today = queue.today()
        return render(
            request, "case.html", nav="council" if user.role is Role.COUNCIL_INTAKE else "worklist",
            case=case, evidence=evidence_view(chosen, t, fmt, case.flagged_on) if chosen else None,
            actions=action_forms(case, t), names=institution_names(user), today=today.isoformat(),
            critical_names=[t.indicator(s) for s in case.critical_signs],
            phase_reason=case.phase_reason_en if t.lang == "en" else case.phase_reason_ja,
            **decision_aids(user, case, chosen, t),
        )

    def decision_aids(user: User, case: CaseDetail, chosen: Snapshot | None, t: Translator) -> dict[str, Any]:
        """Why now and how similar cases ended (webapp/case_insight.py), from the snapshots the
        store scoped for this user and outcomes counted within the user's scope."""
        why = why_now_view(case.snapshots, chosen, t, settings.models.bands) if chosen else None
        similar = similar_view(similar_outcomes(queue, user, case.id), t, t.reason) if case.phase else None
        scope = {Role.COUNCIL_INTAKE: "similar_scope_council", Role.ADMIN: "similar_scope_admin"}.get(
            user.role, "similar_scope_institution")
        return {"why": why, "similar": similar, "similar_min": MIN_SIMILAR, "similar_scope": scope}

    @app.post("/cases/{case_id}/transition")
    def transition(request: Request, case_id: int, user: User = Depends(current_user),
                   to_state: str = Form(...), version: int = Form(...), note: str = Form(""),
                   snooze_until: str = Form(""), consent_on: str = Form(""), reason_code: str = Form(""),
                   next: str = Form("")) -> Response:  # noqa: A002 - the form field's name
        t = Translator(lang_of(request))
        back = safe_next(next, f"/cases/{case_id}")
        try:
            case = queue.transition(user, case_id, to_state, expected_version=version, note=note[:2000],
                                    snooze_until=_parse_date(snooze_until), consent_on=_parse_date(consent_on),
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

    # -- council intake ----------------------------------------------------------------

    @app.get("/council", response_class=HTMLResponse)
    def council(request: Request, user: User = Depends(current_user)) -> Response:
        states = tuple(s for s in STATE_ORDER if s in COUNCIL_STATES)
        params = ListParams.parse(request, COUNCIL_SORTS, "referred_on", states)
        context = list_context(user, params, (State.REFERRED,), states, states)
        t, counts = Translator(lang_of(request)), queue.count_by_state(user)
        tabs = [("", t.state(State.REFERRED), counts[State.REFERRED])]
        tabs += [(s.value, t.state_short(s), counts[s]) for s in states if s is not State.REFERRED]
        tabs.append(("all", t("all"), sum(counts[s] for s in states)))
        return render(request, "council.html", nav="council", sorts=COUNCIL_SORTS, tabs=tabs,
                      manual_routes=[r for r in Route if r in MANUAL_ROUTES], today=queue.today().isoformat(),
                      **context)

    @app.post("/council/referrals")
    def manual_referral(request: Request, user: User = Depends(current_user), business_key: str = Form(""),
                        route: str = Form(""), phase: str = Form(""), consent_on: str = Form(""),
                        note: str = Form("")) -> Response:
        t = Translator(lang_of(request))
        try:
            case = queue.register_manual_referral(user, business_key[:128], route, note[:2000] or None,
                                                  phase=phase or None, consent_on=_parse_date(consent_on))
        except (InvalidInput, Conflict) as exc:
            flash(request, "error", f"{t('invalid_input')} ({exc})")
            return RedirectResponse("/council", status_code=303)
        flash(request, "ok", t("manual_registered", id=case.id))
        return RedirectResponse(f"/cases/{case.id}", status_code=303)

    # -- KPIs --------------------------------------------------------------------------

    @app.get("/kpis", response_class=HTMLResponse)
    def kpis(request: Request, user: User = Depends(current_user)) -> Response:
        since = _parse_date(request.query_params.get("since"))
        until = _parse_date(request.query_params.get("until"))
        figures = referral_kpis(queue, user, since=since, until=until)
        routes = list(figures.by_route)
        quarters = list(figures.by_quarter)
        pivot = [(q, [figures.by_route_quarter.get((q, r), 0) for r in routes]) for q in quarters]
        return render(request, "kpis.html", nav="kpis", k=figures, routes=routes, pivot=pivot,
                      decisions=decision_kpis(queue, user, since=since, until=until), DECISIONS=DECISIONS,
                      since=since.isoformat() if since else "", until=until.isoformat() if until else "")

    # -- exports -----------------------------------------------------------------------

    @app.get("/exports", response_class=HTMLResponse)
    def exports_page(request: Request, user: User = Depends(current_user)) -> Response:
        return render(request, "exports.html", nav="exports")

    def download(body: bytes, media_type: str, stem: str, ext: str) -> Response:
        filename = f"yocho_{stem}_{queue.today().isoformat()}.{ext}"
        return Response(body, media_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    def export_query(request: Request, council_list: bool) -> CaseQuery:
        if council_list:
            states = tuple(s for s in STATE_ORDER if s in COUNCIL_STATES)
            params = ListParams.parse(request, COUNCIL_SORTS, "referred_on", states)
            return params.query((State.REFERRED,), states)
        params = ListParams.parse(request, WORKLIST_SORTS, "priority")
        return params.query(tuple(sorted(OPEN_STATES)), None)

    exporters: dict[tuple[str, str], Callable[..., bytes]] = {
        ("worklist", "xlsx"): queue_exports.worklist_xlsx, ("worklist", "csv"): queue_exports.worklist_csv,
        ("council", "xlsx"): queue_exports.council_list_xlsx, ("council", "csv"): queue_exports.council_list_csv,
    }

    def make_export(stem: str, ext: str) -> Callable[..., Response]:
        def endpoint(request: Request, user: User = Depends(current_user)) -> Response:
            query = export_query(request, stem == "council")
            body = exporters[(stem, ext)](queue, user, query)
            log.info("%s exported %s.%s", user.username, stem, ext)
            return download(body, XLSX_TYPE if ext == "xlsx" else CSV_TYPE, stem, ext)
        endpoint.__name__ = f"export_{stem}_{ext}"
        return endpoint

    for stem, ext in exporters:
        app.add_api_route(f"/exports/{stem}.{ext}", make_export(stem, ext), methods=["GET"])

    # -- user administration (admin only) ---------------------------------------------

    def admin_user(request: Request) -> User:
        """The logged-in administrator; anyone else gets the 404 of a page that is not there."""
        user = current_user(request)
        if user.role is not Role.ADMIN:
            raise StarletteHTTPException(404)
        return user

    def users_page(request: Request, admin: User, *, status_code: int = 200, error: str | None = None,
                   form: dict[str, str] | None = None) -> HTMLResponse:
        accounts = list_users(queue, admin)
        active_admins = sum(1 for u in accounts if u.active and u.role is Role.ADMIN)
        return render(request, "admin_users.html", status_code=status_code, nav="admin", accounts=accounts,
                      active_admins=active_admins, institutions=queue.list_institutions(admin),
                      names=institution_names(admin), roles=list(Role), min_password=MIN_PASSWORD_LENGTH,
                      error=error, form=form or {})

    @app.get("/admin/users", response_class=HTMLResponse)
    def admin_users(request: Request, admin: User = Depends(admin_user)) -> Response:
        return users_page(request, admin)

    @app.post("/admin/users", response_class=HTMLResponse)
    def admin_create_user(request: Request, admin: User = Depends(admin_user), username: str = Form(""),
                          display_name: str = Form(""), role: str = Form(""), institution_id: str = Form(""),
                          password: str = Form(""), password_confirm: str = Form("")) -> Response:
        t = Translator(lang_of(request))
        username, display_name = username.strip()[:128], display_name.strip()[:128]
        form = {"username": username, "display_name": display_name, "role": role[:32],
                "institution_id": institution_id[:64]}
        error = None
        if role not in {r.value for r in Role}:
            error = t("invalid_input")
        elif len(password) < MIN_PASSWORD_LENGTH:
            error = t("password_too_short", n=MIN_PASSWORD_LENGTH)
        elif password != password_confirm:
            error = t("password_mismatch")
        else:
            try:
                created = create_user(queue, admin, username=username, password=password[:1024], role=role,
                                      institution_id=institution_id or None, display_name=display_name or None)
            except Conflict:
                error = t("username_taken", username=username)
            except InvalidInput as exc:
                error = f"{t('invalid_input')} ({exc})"
            else:
                log.info("%s created user %s (%s)", admin.username, created.username, created.role.value)
                flash(request, "ok", t("user_created", username=created.username))
                return RedirectResponse("/admin/users", status_code=303)
        return users_page(request, admin, status_code=400, error=error, form=form)

    @app.post("/admin/users/{username}/role", response_class=HTMLResponse)
    def admin_change_role(request: Request, username: str, admin: User = Depends(admin_user), role: str = Form(""),
                          institution_id: str = Form("")) -> Response:
        t = Translator(lang_of(request))
        if role not in {r.value for r in Role}:
            return users_page(request, admin, status_code=400, error=t("invalid_input"))
        try:
            changed = change_role(queue, admin, username[:128], role, institution_id[:64] or None)
        except Forbidden as exc:
            return users_page(request, admin, status_code=400, error=f"{t('role_change_refused')} ({exc})")
        except InvalidInput as exc:
            return users_page(request, admin, status_code=400, error=f"{t('invalid_input')} ({exc})")
        log.info("%s gave user %s the role %s", admin.username, changed.username, changed.role.value)
        flash(request, "ok", t("role_changed", username=changed.username, role=t.role(changed.role)))
        return RedirectResponse("/admin/users", status_code=303)

    @app.get("/admin/audit", response_class=HTMLResponse)
    def admin_audit(request: Request, admin: User = Depends(admin_user)) -> Response:
        before = request.query_params.get("before", "")
        events = list_account_events(queue, admin, limit=AUDIT_PAGE_SIZE + 1,
                                     before_id=int(before) if before.isdigit() and len(before) < 12 else None)
        more = len(events) > AUDIT_PAGE_SIZE
        events = events[:AUDIT_PAGE_SIZE]
        return render(request, "admin_audit.html", nav="audit", events=events,
                      older=f"/admin/audit?before={events[-1].id}" if more else None)

    @app.post("/admin/users/{username}/disable", response_class=HTMLResponse)
    def admin_disable_user(request: Request, username: str, admin: User = Depends(admin_user)) -> Response:
        t = Translator(lang_of(request))
        try:
            disabled = disable_user(queue, admin, username[:128])
        except Forbidden as exc:
            return users_page(request, admin, status_code=400, error=f"{t('disable_refused')} ({exc})")
        except InvalidInput as exc:
            return users_page(request, admin, status_code=400, error=f"{t('invalid_input')} ({exc})")
        log.info("%s disabled user %s", admin.username, disabled.username)
        flash(request, "ok", t("user_disabled", username=disabled.username))
        return RedirectResponse("/admin/users", status_code=303)

    return app


def serve(settings: Any, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info",
          insecure_demo_secret: bool = False) -> None:
    """Run the web app with uvicorn until interrupted (the `yocho serve` command)."""
    import uvicorn

    if insecure_demo_secret and host not in LOOPBACK:
        raise InsecureSecret(f"--insecure-demo-secret serves this machine only (127.0.0.1), not {host}: "
                             "set YOCHO_QUEUE__SECRET_KEY to serve others")
    app = create_app(settings, insecure_demo_secret=insecure_demo_secret)
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=True, server_header=False)
