"""Fixtures of the referral queue tests: every store test runs on SQLite and on PostgreSQL.

PostgreSQL: one throwaway server per test session, from the distribution's binaries
(/usr/lib/postgresql/*/bin, newest first, or initdb on PATH; YOCHO_PG_BINDIR picks one). initdb refuses to run as root, so as root the
server runs as the `postgres` OS user (runuser) in a temporary directory it owns; it listens
only on a unix socket in that directory, with fsync off. Each test gets a fresh schema of its own
in one session database (CREATE SCHEMA / DROP SCHEMA ... CASCADE; the URL's search_path points
at it), so the store starts from an empty database every time. Without the binaries the PostgreSQL
half is skipped, except when the CI environment variable is set: then it fails.
"""
from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from glob import glob
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from signals.flags import SCHEMA
from signals.queue import QueueStore, ScryptParams, authenticate, seed_demo_users

AS_OF = date(2026, 10, 31)
# Cheap hashing so each test can seed users; test_auth checks the real default separately.
FAST_SCRYPT = ScryptParams(n=2 ** 8, r=8, p=1)

BANK_A, BANK_B, CGA, CGA_OTHER = "bank_0116", "bank_0005", "cga_13", "cga_27"
# A business without a prefecture in its evidence goes to its lead institution's council:
# bank A and the association are registered in 東京都 (13), bank B and the other in 大阪府 (27).
COUNCIL, COUNCIL_OTHER = "council_13", "council_27"
COUNCIL_USER, COUNCIL_OTHER_USER = f"intake.{COUNCIL}", f"intake.{COUNCIL_OTHER}"
EVERY_CATEGORY = ("financials", "repayment", "accounts", "signs")

# the frame signals.flags.flags_as_of produces, which apply_flags consumes
FLAGS_SCHEMA = SCHEMA


# ---------------------------------------------------------------------------- PostgreSQL server

@dataclass(frozen=True)
class PgServer:
    socket_dir: Path
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={self.port}"


def _pg_bindir() -> Path | None:
    override = os.environ.get("YOCHO_PG_BINDIR")  # a specific server version, and nothing else
    if override:
        return Path(override) if (Path(override) / "initdb").exists() else None
    candidates: list[Path] = []

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", path)) or (0,)

    candidates += [Path(p) for p in sorted(glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests cannot run: {reason}. CI installs the server packages; "
                    "fix the image rather than skipping.", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = _pg_bindir()
    if bindir is None:
        _unavailable("no initdb/pg_ctl under /usr/lib/postgresql/*/bin or on PATH (apt-get install postgresql)")
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="yocho-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres OS user
        runuser = shutil.which("runuser")
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            _unavailable("running as root and there is no 'postgres' OS user to run the server as")
        if runuser is None:
            shutil.rmtree(root)
            _unavailable("running as root and runuser is missing")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_postgres = [str(runuser), "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    port = _free_port()
    options = (f"-c listen_addresses='' -p {port} -k {root} -c fsync=off -c synchronous_commit=off "
               "-c full_page_writes=off -c max_connections=60")

    def run(*args: str) -> None:
        result = subprocess.run([*as_postgres, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}\n{server_log}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")
    except Exception:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield PgServer(root, port)
    finally:
        stopped = subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True, timeout=120)
        pidfile = data / "postmaster.pid"
        if stopped.returncode != 0 and pidfile.exists():  # the server this fixture started, by its pid
            try:
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGQUIT)
            except (ValueError, ProcessLookupError):
                pass
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_database(pg_server: PgServer) -> Iterator[str]:
    """One database for the session; each test works in a schema of its own in it (creating
    a schema takes milliseconds, a database a few tenths of a second)."""
    engine = create_engine(pg_server.url("postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text('CREATE DATABASE "queue_tests"'))
    engine.dispose()
    yield pg_server.url("queue_tests")


# ---------------------------------------------------------------------------- store per test

@contextmanager
def fresh_queue_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty queue database: a new SQLite file, or a new PostgreSQL schema (the URL
    sets search_path to it, so the store sees an empty database), dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'queue.sqlite'}"
        return
    database_url: str = request.getfixturevalue("pg_database")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{database_url}&options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty queue database on each backend (`fresh_queue_url`)."""
    with fresh_queue_url(request, request.param, tmp_path) as url:
        yield url


class Clock:
    """A settable clock: the store's notion of now (UTC)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set_day(self, day: date) -> None:
        """10:00 in Japan on that day."""
        self.now = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))  # 2026-11-24 10:00 JST


@pytest.fixture
def store(queue_url: str, clock: Clock) -> Iterator[QueueStore]:
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as queue:
        yield queue


@pytest.fixture
def people(store: QueueStore) -> SimpleNamespace:
    """The demo users over two banks and two guarantee associations, logged in."""
    demo = seed_demo_users(store, [(BANK_A, "北陸第一銀行", 13), (BANK_B, "みずなみ銀行", 27),
                                   (CGA, "東京信用保証協会"), (CGA_OTHER, "大阪信用保証協会")])

    def login(username: str) -> Any:
        password = next(d.password for d in demo if d.username == username)
        user = authenticate(store, username, password)
        assert user is not None
        return user

    return SimpleNamespace(
        admin=login("admin"), bank_a=login(f"reviewer.{BANK_A}"), bank_b=login(f"reviewer.{BANK_B}"),
        cga=login(f"analyst.{CGA}"), cga_other=login(f"analyst.{CGA_OTHER}"),
        # the councils of 東京都 (bank A's and the association's prefecture) and 大阪府 (bank B's)
        council=login(COUNCIL_USER), council_other=login(COUNCIL_OTHER_USER),
        demo=demo,
    )


# ---------------------------------------------------------------------------- flags frames

def _evidence(key: str, signs: list[str], probability: float) -> str:
    months = [f"2024-{m:02d}" for m in range(11, 13)] + [f"2025-{m:02d}" for m in range(1, 13)] + [
        f"2026-{m:02d}" for m in range(1, 11)]
    return json.dumps({
        "business_key": key,
        "signs": [{"id": s, "value": 1, "fired": True} for s in signs],
        "score": {"probability": probability, "band": "high", "model_version": "test"},
        "top_factors": [{"indicator": "rep_dpd_30", "ja": "30日以上延滞", "value": 45, "fired": True,
                         "contribution": 0.8}],
        "series": {"balance_jpy": {m: 1_000_000 - i * 10_000 for i, m in enumerate(months)}},
    }, ensure_ascii=False)


def flag_row(business_key: str, *, institutions: list[tuple[str, str]] | None = None,
             critical_signs: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
    insts = institutions if institutions is not None else [(BANK_A, f"L-{business_key[-4:]}")]
    signs = critical_signs or []
    probability = overrides.get("probability", 0.2)
    row: dict[str, Any] = {
        "business_key": business_key,
        "as_of": AS_OF,
        "institutions": [{"institution_id": i, "local_id": local} for i, local in insts],
        "trigger": "both" if signs else "score",
        "critical_signs": signs,
        "probability": probability,
        "band": "high",
        "portfolio_share": 0.02,
        "in_event": False,
        "phase": "management_improvement",
        "phase_reason_ja": "返済に遅れが出始めている",
        "phase_reason_en": "repayment strain",
        "priority": 0.5,
        "priority_rank": 1,
        "lead_institution_id": insts[0][0] if insts else None,
        # a budget no single test reaches unless it means to (tests/signals/queue/test_queue_budget.py)
        "monitored": 100_000,
        "monthly_budget": 1_500,
        "first_sign_on": date(2026, 6, 30),
        "evidence": _evidence(business_key, signs, probability),
    }
    row.update(overrides)
    if "as_of" in overrides and "evidence" not in overrides:
        row["evidence"] = _evidence(business_key, signs, probability)
    return row


def flags_frame(*rows: dict[str, Any]) -> pl.DataFrame:
    """A frame of exactly the shape signals.flags.flags_as_of returns."""
    return pl.DataFrame(list(rows), schema=FLAGS_SCHEMA)


class FlagFactory:
    """make_flags(row, row, ...) builds a flags frame; a row is a business key or a
    make_flags.row(key, **overrides) dict."""
    as_of = AS_OF
    bank_a, bank_b, cga, cga_other = BANK_A, BANK_B, CGA, CGA_OTHER

    @staticmethod
    def row(business_key: str, **overrides: Any) -> dict[str, Any]:
        return flag_row(business_key, **overrides)

    def __call__(self, *rows: str | dict[str, Any]) -> pl.DataFrame:
        return flags_frame(*(flag_row(r) if isinstance(r, str) else r for r in rows))


@pytest.fixture
def make_flags() -> FlagFactory:
    return FlagFactory()


# ---------------------------------------------------------------------------- case work

class Work:
    """Drive cases through the lifecycle in tests: reviewers' moves by a reviewer (bank A
    unless told), the council's by council intake; each with the reason, date or consent
    it needs."""

    def __init__(self, store: QueueStore, people: SimpleNamespace) -> None:
        self.store, self.people = store, people

    def open(self, frame: pl.DataFrame, as_of: date = AS_OF, cooldown_months: int = 6) -> dict[str, int]:
        """Apply flags; return business_key -> id of its open case."""
        from signals.queue import OPEN_STATES, CaseQuery

        self.store.apply_flags(frame, as_of, cooldown_months)
        return {c.business_key: c.id for c in self.store.all_cases(
            self.people.admin, CaseQuery(states=tuple(OPEN_STATES)))}

    def council_of(self, case_id: int) -> Any:
        """The intake user of the council the case was referred to."""
        council = self.store.get_case(self.people.admin, case_id).council_id
        return self.people.council_other if council == COUNCIL_OTHER else self.people.council

    def move(self, case_id: int, *targets: Any, reviewer: Any = None, note: str = "理由を記入",
             reason_code: str = "temporary") -> Any:
        from signals.queue import State

        case = None
        for target in targets:
            target = State(target)
            user = self.council_of(case_id) if target in (State.ACCEPTED, State.DECLINED) else (
                reviewer or self.people.bank_a)
            version = self.store.get_case(user, case_id).version
            kwargs: dict[str, Any] = {}
            if target is State.SNOOZED:
                kwargs["snooze_until"] = self.store.today() + timedelta(days=30)
            if target is State.CONSENT_OBTAINED:
                kwargs["consent"] = consent_record(self.store.today())
            if target is State.DISMISSED:  # a dismissal is coded (lifecycle.REASON_CODES)
                kwargs["reason_code"] = reason_code
            case = self.store.transition(user, case_id, target, expected_version=version, note=note, **kwargs)
        return case


def consent_record(day: date, shared: tuple[str, ...] = EVERY_CATEGORY, **overrides: Any) -> Any:
    """A complete consent record (signals/queue/consent.py): in writing, from the representative."""
    from signals.queue.consent import ConsentRecord

    fields: dict[str, Any] = {"method": "written", "obtained_on": day, "obtained_from": "代表取締役 山田太郎",
                              "document_ref": "同意書-2026-001", "shared": shared} | overrides
    return ConsentRecord.of(**fields)


@pytest.fixture
def work(store: QueueStore, people: SimpleNamespace) -> Work:
    return Work(store, people)


def assert_append_only(store: QueueStore, table, *statements) -> None:
    """Each of `statements` (UPDATE/DELETE on `table`), and TRUNCATE on PostgreSQL, is refused
    by the database's append-only guard and leaves the table's rows as they were."""
    from sqlalchemy import select, text
    from sqlalchemy.exc import DBAPIError

    with store.engine.connect() as conn:
        before = conn.execute(select(table)).all()
    if store.backend == "postgresql":
        statements = (*statements, text(f"TRUNCATE {table.name}"))
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(statement)
    with store.engine.connect() as conn:
        assert conn.execute(select(table)).all() == before
