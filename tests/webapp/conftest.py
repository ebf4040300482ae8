"""Fixtures of the web app tests: a temporary SQLite queue seeded only through the store's own
functions (demo users, two nights of flags, a few transitions), and a logged-in TestClient.

The seeded queue (as of 2026-10-31, "today" 2026-11-24 in Japan):

  case  business       institutions            state              note
  A1    6000010000001  bank A                  new                score 31%, 90+ days past due
  A2    5000010000002  bank A + CGA            under_review       shared with the association
  A3    4000010000003  bank A                  consent_obtained   ready to refer (no prefecture: bank A's)
  A4    3000010000004  bank A                  referred           consent 2026-11-10 (石川県's council sees it)
  A5    2000010000005  bank A                  new                low priority
  B1    4000020000001  bank B                  new                bank B only
  B2    3000020000002  bank B                  referred           bank B's referral
  C1    2000030000001  CGA only                new                subrogation requested
  M1    8000090000001  (manual, 士業)           referred           registered by 石川県's council intake

Every business is in 石川県 (the master's prefecture_code, carried by the evidence) but C1, in 東京都,
and A3, without one. Consent is recorded in writing, sharing every category.

`Seeded.case_ids` maps these labels to case ids; `NAMES` gives each business's trade name (商号),
which its evidence carries.
"""
from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from signals.flags import SCHEMA
from signals.queue import QueueStore, ScryptParams, State, User, authenticate, seed_demo_users
from webapp import create_app
from yocho.settings import QueueSettings, Settings

# Starlette's notice that its TestClient will move from httpx to httpx2: not about this code.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
from fastapi.testclient import TestClient  # noqa: E402

AS_OF = date(2026, 10, 31)
PREVIOUS = date(2026, 9, 30)
BANK_A, BANK_B, CGA = "bank_0116", "bank_0005", "cga_13"
# Each with its home prefecture (JIS X 0401): bank A in 石川県, bank B in 岐阜県; the association's
# follows from its id (東京都). The demo users then include the councils of all three.
INSTITUTIONS = [(BANK_A, "北陸第一銀行", 17), (BANK_B, "みずなみ銀行", 21), (CGA, "東京信用保証協会")]
# Cheap hashing: every test seeds its own users.
FAST_SCRYPT = ScryptParams(n=2 ** 8, r=8, p=1)
SECRET = "test-secret-key-for-the-webapp-tests-0123456789"

USERS = {
    "bank_a": f"reviewer.{BANK_A}",
    "bank_b": f"reviewer.{BANK_B}",
    "cga": f"analyst.{CGA}",
    "council": "intake.council_17",  # 石川県's council: the seeded referrals land there
    "council_13": "intake.council_13",  # 東京都's council
    "admin": "admin",
}


def password(username: str) -> str:
    return f"demo-{username}"


class Clock:
    """The store's notion of now: settable, so tests control consent and referral dates."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set_day(self, day: date) -> None:
        self.now = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)  # 10:00 JST


# the frame signals.flags.flags_as_of produces, which apply_flags consumes
FLAGS_SCHEMA = SCHEMA

# indicator id -> (name_ja, name_en, family, severity)
SIGNS = {
    "rep_dpd_90": ("延滞3ヶ月以上", "90+ days past due", "repayment", "critical"),
    "rep_dpd_30": ("延滞1ヶ月以上", "30+ days past due", "repayment", "high"),
    "acc_balance_decline": ("預金残高の減少傾向", "Balances trending down", "accounts", "medium"),
    "acc_failed_debits": ("口座振替不能", "Failed direct debits", "accounts", "high"),
    "fin_operating_loss": ("営業赤字", "Operating loss", "financials", "medium"),
    "cga_subrogation_requested": ("代位弁済請求", "Subrogation requested", "guarantee", "critical"),
    "rep_restructured": ("条件変更（リスケ）", "Loan restructured", "repayment", "high"),
}


def month_starts(end: date, count: int) -> list[date]:
    index = end.year * 12 + end.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - count + 1, index + 1)]


def month_end(day: date) -> date:
    nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def sign_evidence(sign: str, key: str, months: list[date], institution: str,
                  rng: random.Random) -> tuple[float, dict[str, Any]]:
    """A sign's value and figures of the shape its family's SQL stores (features/sql/*.sql)."""
    last, loan = months[-1], f"L-{key[-4:]}-01"
    ym = [m.strftime("%Y-%m") for m in months]
    if sign in ("rep_dpd_90", "rep_dpd_30"):
        days = 95 if sign == "rep_dpd_90" else 45
        return days, {"max_days_past_due": days, "loans": [
            {"bank": institution, "loan_id": loan, "month": last.isoformat(), "days_past_due": days}]}
    if sign == "acc_balance_decline":
        change = round(rng.uniform(-40, -10), 1)
        earlier = round(rng.uniform(8e6, 20e6))
        return change, {"recent_months": ym[-3:], "recent_average_balance_jpy": round(earlier * (1 + change / 100)),
                        "earlier_months": ym[-6:-3], "earlier_average_balance_jpy": earlier, "change_pct": change}
    if sign == "acc_failed_debits":
        return 3, {"failed_debits": 3, "by_month": [f"{ym[-3]}: 2", f"{ym[-1]}: 1"]}
    if sign == "fin_operating_loss":
        return -12_400_000, {"period_end": "2026-03-31", "operating_profit_jpy": -12_400_000, "sales_jpy": 310_000_000}
    if sign == "cga_subrogation_requested":
        return 12_000_000, {"amount_jpy": 12_000_000, "requests": 1, "latest_requested_on": "2026-08-20"}
    if sign == "rep_restructured":
        return 1, {"loans": [f"{institution}:{loan}"], "in_force_at_latest_month": 1,
                   "first_restructured_month_in_window": "2026-03-01", "newly_restructured_month": None}
    raise KeyError(sign)


def evidence_json(key: str, as_of: date, probability: float, band: str, signs: list[str], *,
                  first_sign: date, seed: int, name: str | None = None, first_event: str | None = None,
                  institution: str = BANK_A, prefecture: int | None = None) -> str:
    """An evidence document of the shape signals/sql/evidence.sql writes."""
    rng = random.Random(seed)
    months = month_starts(as_of, 24)
    start = first_sign.year * 12 + first_sign.month - 1
    loan, deposit, series_loan, series_dpd, series_dep, series_score, history = (
        rng.uniform(30e6, 120e6), rng.uniform(8e6, 25e6), [], [], [], [], [])
    for i, month in enumerate(months):
        since = month.year * 12 + month.month - 1 - start  # months since the first sign
        loan *= 1.004 if since < 0 else 1.012
        deposit *= rng.uniform(0.97, 1.02) if since < 0 else rng.uniform(0.86, 0.95)
        dpd = 0 if since < 2 else min(30 * (since - 1), 150) if "rep_dpd_30" in signs or "rep_dpd_90" in signs else 0
        score = 0.02 + (0.0 if since < 0 else min(probability - 0.02, (since + 1) * (probability - 0.02) / 5))
        series_loan.append({"month": month.isoformat(), "value": round(loan)})
        series_dpd.append({"month": month.isoformat(), "value": dpd})
        series_dep.append({"month": month.isoformat(), "value": round(deposit)})
        if i >= 6:  # scores exist for the last 18 months only
            series_score.append({"month": month_end(month).isoformat(), "value": round(score, 4)})
        fired = sorted(signs[: max(0, min(len(signs), since + 1))]) if since >= 0 else []
        history.append({"month": month_end(month).isoformat(), "signs": fired})
    sign_rows = []
    for sign in signs:
        ja, en, family, severity = SIGNS[sign]
        value, figures = sign_evidence(sign, key, months, institution, rng)
        sign_rows.append({"indicator_id": sign, "name_ja": ja, "name_en": en, "family": family,
                          "severity": severity, "value": value, "evidence": figures})
    factors = [{"kind": "sign", "indicator": s, "name_ja": SIGNS[s][0], "name_en": SIGNS[s][1],
                "contribution": round(1.2 / (n + 1), 3), "value": 1.0, "fired": True}
               for n, s in enumerate(signs)] + [
        {"kind": "figure", "indicator": "fin_cash_decline", "name_ja": "現預金の減少", "name_en": "Cash falling",
         "contribution": 0.08, "value": -22.5, "fired": False},
        {"kind": "figure", "indicator": "fin_equity_ratio", "name_ja": "自己資本比率", "name_en": "Equity ratio",
         "contribution": 0.05, "value": 4.2, "fired": None}]
    return json.dumps({
        "business_key": key, "business_name": name, "prefecture_code": prefecture, "as_of": as_of.isoformat(),
        "model_version": "scorecard-2026-10",
        "probability": probability, "band": band, "portfolio_share": 0.012,
        "signs": sign_rows, "top_factors": factors,
        "series": {"loan_balance_jpy": series_loan, "max_days_past_due": series_dpd,
                   "deposit_balance_jpy": series_dep, "inflow_jpy": [], "failed_debits": [],
                   "score": series_score},
        "sign_history": history,
        "deterioration": {"first_event_on": first_event, "first_event_type": "dpd90" if first_event else None},
    }, ensure_ascii=False)


@dataclass(frozen=True)
class Business:
    label: str
    key: str
    institutions: list[tuple[str, str]]
    probability: float
    band: str
    signs: list[str]
    phase: str
    first_sign: date
    priority: float


BUSINESSES = [
    Business("A1", "6000010000001", [(BANK_A, "A-0001")], 0.31, "very_high", ["rep_dpd_90", "rep_dpd_30",
             "acc_balance_decline"], "revitalisation", date(2026, 4, 30), 0.92),
    Business("A2", "5000010000002", [(BANK_A, "A-0002"), (CGA, "G-0002")], 0.18, "high",
             ["rep_dpd_30", "fin_operating_loss"], "management_improvement", date(2026, 6, 30), 0.71),
    Business("A3", "4000010000003", [(BANK_A, "A-0003")], 0.14, "high", ["acc_balance_decline"],
             "profitability", date(2026, 7, 31), 0.55),
    Business("A4", "3000010000004", [(BANK_A, "A-0004")], 0.22, "high", ["rep_restructured", "rep_dpd_30"],
             "management_improvement", date(2026, 3, 31), 0.64),
    Business("A5", "2000010000005", [(BANK_A, "A-0005")], 0.11, "high", ["fin_operating_loss"],
             "profitability", date(2026, 9, 30), 0.30),
    Business("B1", "4000020000001", [(BANK_B, "B-0001")], 0.27, "very_high", ["acc_failed_debits", "rep_dpd_30"],
             "revitalisation", date(2026, 5, 31), 0.88),
    Business("B2", "3000020000002", [(BANK_B, "B-0002")], 0.16, "high", ["rep_dpd_30"],
             "management_improvement", date(2026, 2, 28), 0.60),
    Business("C1", "2000030000001", [(CGA, "G-0101")], 0.41, "very_high", ["cga_subrogation_requested"],
             "rechallenge", date(2026, 8, 31), 0.95),
]
# The trade names (商号) the business master gives on the nights' dates.
NAMES = {"A1": "株式会社北陸精機", "A2": "加賀食品株式会社", "A3": "有限会社能登運輸", "A4": "金沢建設株式会社",
         "A5": "株式会社白山テキスタイル", "B1": "みずなみ物産株式会社", "B2": "株式会社東濃窯業",
         "C1": "株式会社多摩精工"}
# The prefecture the business master gives (JIS X 0401): 石川県 but for C1 (東京都); A3 has none,
# so its referral goes by its lead institution's (bank A: 石川県) with a notice.
PREFECTURE_CODES = {"A1": 17, "A2": 17, "A4": 17, "A5": 17, "B1": 17, "B2": 17, "C1": 13}
# The first deterioration event each business had had by the nights' dates (A1: 90+ days past
# due; C1: subrogation): their cases were opened after one, the others' before any.
FIRST_EVENTS = {"A1": "2026-08-20", "C1": "2026-07-01"}
PHASE_REASONS = {
    "profitability": ("売上は減少しているが返済は正常", "Sales falling but repayment intact"),
    "management_improvement": ("返済に遅れが出始めている", "Repayment strain has begun"),
    "revitalisation": ("3か月以上の延滞があり抜本的な再生支援が必要", "90+ days past due: revitalisation support"),
    "rechallenge": ("代位弁済請求あり、事業継続が困難", "Subrogation requested: no viable path"),
}


def flags_frame(as_of: date, businesses: list[Business]) -> pl.DataFrame:
    rows = []
    ranked = sorted(businesses, key=lambda b: -b.priority)
    for rank, b in enumerate(ranked, start=1):
        critical = [s for s in b.signs if SIGNS[s][3] == "critical"]
        shift = 0.0 if as_of == AS_OF else -0.03
        probability = max(0.01, b.probability + shift)
        rows.append({
            "business_key": b.key, "as_of": as_of,
            "institutions": [{"institution_id": i, "local_id": local} for i, local in b.institutions],
            "trigger": "both" if critical and probability >= 0.1 else "critical_sign" if critical else "score",
            "critical_signs": critical, "probability": probability, "band": b.band, "portfolio_share": 0.012,
            "in_event": bool(critical), "phase": b.phase,
            "phase_reason_ja": PHASE_REASONS[b.phase][0], "phase_reason_en": PHASE_REASONS[b.phase][1],
            "priority": b.priority, "priority_rank": rank, "lead_institution_id": b.institutions[0][0],
            # a monthly review budget every seeded business fits in (tests of the line set their own)
            "monitored": 4_000, "monthly_budget": 60, "first_sign_on": b.first_sign,
            "evidence": evidence_json(b.key, as_of, probability, b.band, b.signs, first_sign=b.first_sign,
                                      seed=int(b.key[-4:]) + as_of.month, name=NAMES.get(b.label),
                                      first_event=FIRST_EVENTS.get(b.label), institution=b.institutions[0][0],
                                      prefecture=PREFECTURE_CODES.get(b.label)),
        })
    return pl.DataFrame(rows, schema=FLAGS_SCHEMA)


def consent_record(consent_on: date, shared: tuple[str, ...] = ("financials", "repayment", "accounts", "signs"),
                   ) -> Any:
    """The consent a reviewer records: in writing, from the representative, every category shared."""
    from signals.queue.consent import ConsentRecord

    return ConsentRecord.of(method="written", obtained_on=consent_on, obtained_from="代表取締役 山田太郎",
                            document_ref="同意書-2026-001", shared=shared)


@dataclass
class Seeded:
    store: QueueStore
    clock: Clock
    settings: Settings
    case_ids: dict[str, int]
    users: dict[str, User]  # bank_a, bank_b, cga, council, admin


def seed_queue(url: str, data_dir: Path) -> Seeded:
    """A queue with demo users, two nights of flags and cases in several states, built with the
    store's own functions only."""
    clock = Clock(datetime(2026, 10, 5, 1, 0, tzinfo=UTC))
    store = QueueStore(url, clock=clock, password_params=FAST_SCRYPT)
    seed_demo_users(store, INSTITUTIONS)
    users = {name: authenticate(store, username, password(username)) for name, username in USERS.items()}
    assert all(users.values())
    # Night one (September): every business but A5; night two (October): all, a second snapshot.
    store.apply_flags(flags_frame(PREVIOUS, [b for b in BUSINESSES if b.label != "A5"]), PREVIOUS, 6)
    clock.set_day(date(2026, 11, 5))
    store.apply_flags(flags_frame(AS_OF, BUSINESSES), AS_OF, 6)
    ids: dict[str, int] = {}
    for name in ("bank_a", "bank_b", "cga"):
        for case in store.all_cases(users[name]):
            label = next(b.label for b in BUSINESSES if b.key == case.business_key)
            ids[label] = case.id

    def move(label: str, who: str, *targets: State, **kwargs: Any) -> None:
        for target in targets:
            case = store.get_case(users[who], ids[label])
            extra = {"consent": consent_record(**kwargs)} if target is State.CONSENT_OBTAINED else {}
            store.transition(users[who], case.id, target, expected_version=case.version,
                             note=f"{target.value} (seed)", **extra)

    clock.set_day(date(2026, 11, 10))
    move("A2", "bank_a", State.UNDER_REVIEW)
    move("A3", "bank_a", State.UNDER_REVIEW, State.CONSENT_OBTAINED, consent_on=date(2026, 11, 9))
    move("A4", "bank_a", State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, consent_on=date(2026, 11, 10))
    move("B2", "bank_b", State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, consent_on=date(2026, 11, 8))
    manual = store.register_manual_referral(users["council"], "8000090000001", "professional", "税理士からの相談",
                                            phase="management_improvement", consent_on=date(2026, 11, 10))
    ids["M1"] = manual.id
    clock.set_day(date(2026, 11, 24))
    settings = Settings(data_dir=data_dir, queue=QueueSettings(url=url, secret_key=SECRET))
    return Seeded(store, clock, settings, ids, users)


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    queue = seed_queue(f"sqlite:///{tmp_path / 'queue.sqlite'}", tmp_path / "data")
    try:
        yield queue
    finally:
        queue.store.close()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


class Browser:
    """A TestClient that knows how to log in and submit forms with the page's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def login(self, username: str, pw: str | None = None, lang: str | None = None) -> Any:
        page = self.client.get("/login" + (f"?lang={lang}" if lang else ""))
        return self.client.post("/login", data={"username": username, "password": pw or password(username),
                                                "csrf_token": csrf_of(page.text)}, follow_redirects=False)

    def csrf(self, path: str = "/cases") -> str:
        return csrf_of(self.client.get(path).text)

    def post(self, path: str, data: dict[str, Any], *, token_from: str | None = None) -> Any:
        token = self.csrf(token_from or path.rsplit("/", 1)[0])
        return self.client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


@pytest.fixture
def app(seeded: Seeded) -> Any:
    return create_app(seeded.settings, store=seeded.store)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


def as_user(app: Any, who: str) -> Browser:
    """A fresh client (its own cookies) logged in as one of USERS."""
    b = Browser(TestClient(app))
    response = b.login(USERS[who])
    assert response.status_code == 303, response.text
    return b


__all__ = ["AS_OF", "BANK_A", "BANK_B", "CGA", "Browser", "Seeded", "as_user", "csrf_of", "seed_queue"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app: Any, name: str) -> Iterator[str]:
    """`app` served by uvicorn on a free port of 127.0.0.1 in a thread: yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
