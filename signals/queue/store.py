"""The referral queue's transactional store: nightly flags in, scoped case work out.

Every read, list and transition takes the acting `User` and filters by its role and
institution inside the query (see `_scope`): there is no unscoped read path. A case outside
the user's scope is reported as `NotFound`, exactly like a case that does not exist.

The same code runs on SQLite (the default embedded file, `Settings.queue_url`) and on
PostgreSQL (`postgresql+psycopg://...`). On SQLite, write transactions start with
`BEGIN IMMEDIATE` so two writers queue up (busy timeout 30 s) instead of failing half-way.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from signals.phases import PHASES
from signals.queue.batches import chunks as _chunks
from signals.queue.lifecycle import (
    CLOSED_STATES,
    COUNCIL_STATES,
    INSTITUTION_ROLES,
    MANUAL_ROUTES,
    OPEN_STATES,
    REASON_CODES,
    ROUTE_JA,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Role,
    Route,
    State,
    allowed_targets,
    check_reason_code,
    rule_for,
)
from signals.queue.months import add_months
from signals.queue.schema import (
    OWNER_COUNCIL,
    OWNER_INSTITUTIONS,
    case_institutions,
    cases,
    evidence_snapshots,
    institutions,
    migrate,
    review_budgets,
    transitions,
    users,
    waiting_entries,
)
from signals.queue.watchlist import CANDIDATE_SCHEMA, BudgetLine, budgets_of, draw_the_line
from signals.sharing import scoped_evidence
from yocho.contract import institution_source, is_valid_corporate_number

if TYPE_CHECKING:
    from signals.queue.auth import ScryptParams

TOKYO = ZoneInfo("Asia/Tokyo")
SYSTEM = "system"  # the actor name of the nightly job in the audit log

# The columns `signals.flags.flags_as_of` returns, and what apply_flags reads from them.
FLAG_COLUMNS = (
    "business_key", "as_of", "institutions", "trigger", "critical_signs", "probability", "band",
    "portfolio_share", "in_event", "phase", "phase_reason_ja", "phase_reason_en", "priority",
    "priority_rank", "lead_institution_id", "monitored", "monthly_budget", "first_sign_on", "evidence",
)
TRIGGERS = frozenset({"critical_sign", "score", "both"})


# ---------------------------------------------------------------------------- value types

@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: Role
    institution_id: str | None
    display_name: str
    active: bool = True


@dataclass(frozen=True)
class Institution:
    id: str
    kind: str  # bank | cga | council
    name: str


@dataclass(frozen=True)
class ApplyResult:
    opened: int = 0
    updated: int = 0  # open cases that received an update snapshot
    suppressed_by_cooldown: int = 0
    unchanged: int = 0  # open cases that already had this night's snapshot
    woken: int = 0  # snoozed cases woken (snooze over, or a new critical sign)
    waiting: int = 0  # new entries kept below the line of their lead institution's budget
    # Per lead institution, by institution id: a report beside the counts (results compare
    # by their counts alone).
    budgets: tuple[BudgetLine, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class CaseInstitution:
    institution_id: str
    local_id: str | None  # None: another institution's customer number, not shown to the viewer


@dataclass(frozen=True)
class CaseSummary:
    id: int
    business_key: str
    state: State
    version: int
    trigger: str | None
    critical_signs: list[str]
    probability: float | None
    band: str | None
    priority: float | None
    priority_rank: int | None
    phase: str | None
    phase_reason_ja: str | None
    phase_reason_en: str | None
    lead_institution_id: str | None
    first_sign_on: date | None
    flagged_on: date | None
    last_as_of: date | None
    updated_at: datetime
    snooze_until: date | None
    closed_on: date | None
    consent_on: date | None
    route: Route | None
    referred_on: date | None
    referral_phase: str | None
    referring_institution_id: str | None
    institutions: tuple[CaseInstitution, ...]
    # "institutions": the case of the banks and the association that know the business,
    # opened by the nightly flags; "council": a manual referral registered by council intake.
    owner: str

    @property
    def route_ja(self) -> str | None:
        return ROUTE_JA[self.route] if self.route else None


@dataclass(frozen=True)
class Snapshot:
    id: int
    taken_at: datetime
    as_of: date
    kind: str  # initial | update
    critical_signs: list[str]
    probability: float | None
    band: str | None
    phase: str | None
    # The flags' JSON as the acting user may see it (signals/sharing.py): verbatim for an
    # administrator and for the only institution of a case; otherwise the viewer's own
    # records in full and other institutions' only as aggregated facts.
    evidence: str

    @property
    def data(self) -> Any:
        return json.loads(self.evidence)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    actor_role: str | None
    from_state: State | None
    to_state: State
    note: str | None
    reason_code: str | None = None  # the coded reason (lifecycle.REASON_CODES), e.g. a dismissal's


@dataclass(frozen=True)
class CaseDetail(CaseSummary):
    portfolio_share: float | None
    in_event: bool | None
    within_capacity: bool | None
    snooze_reason: str | None
    close_reason: str | None
    consent_note: str | None
    snapshots: tuple[Snapshot, ...]
    history: tuple[AuditEntry, ...]
    allowed_transitions: tuple[State, ...]  # what the acting user may do next


SORTS = ("priority", "probability", "flagged_on", "first_sign_on", "updated_at", "referred_on")


@dataclass(frozen=True)
class CaseQuery:
    """Worklist filters, sort and paging. states None: every state the user can see."""
    states: tuple[State, ...] | None = None
    phase: str | None = None
    band: str | None = None
    institution_id: str | None = None
    search: str | None = None  # part of the business key, or of one of the user's local ids
    sort: str = "priority"
    descending: bool = True
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True)
class Page:
    items: list[CaseSummary]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


# ---------------------------------------------------------------------------- helpers


def _aware(value: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def institution_kind(institution_id: str) -> str:
    if institution_id.startswith("bank_"):
        return "bank"
    if institution_id.startswith("cga_"):
        return "cga"
    if institution_id == "council" or institution_id.startswith("council"):
        return "council"
    raise InvalidInput(f"unknown institution id {institution_id!r}: expected bank_*, cga_* or council*")


def is_business_key(key: str) -> bool:
    """A business key as the warehouse writes them (features/pit.py): a valid 法人番号, or
    `<institution_id>:<local_id>` for a sole proprietor, without control characters."""
    if is_valid_corporate_number(key):
        return True
    institution, sep, local_id = key.partition(":")
    try:
        institution_source(institution)
    except ValueError:
        return False
    return bool(sep and local_id.strip()) and local_id.isprintable()


def _clean(text_value: str | None) -> str | None:
    text_value = (text_value or "").strip()
    return text_value or None


# ---------------------------------------------------------------------------- flags input

@dataclass
class _Flag:
    business_key: str
    institutions: set[tuple[str, str]]
    values: dict[str, Any]  # case columns
    critical_signs: list[str]
    evidence: str


def _flag_rows(frame: pl.DataFrame, as_of: date) -> dict[str, _Flag]:
    missing = [c for c in FLAG_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"flags frame lacks columns: {', '.join(missing)}")
    flags: dict[str, _Flag] = {}
    for row in frame.select(FLAG_COLUMNS).iter_rows(named=True):
        key = (row["business_key"] or "").strip()
        if not key:
            raise InvalidInput("flags frame has a row without business_key")
        if row["as_of"] is not None and row["as_of"] != as_of:
            raise InvalidInput(f"flags row {key} is as of {row['as_of']}, not {as_of}")
        if row["phase"] not in PHASES:
            raise InvalidInput(f"flags row {key}: unknown phase {row['phase']!r}")
        if row["trigger"] not in TRIGGERS:
            raise InvalidInput(f"flags row {key}: unknown trigger {row['trigger']!r}")
        evidence = row["evidence"]
        try:
            json.loads(evidence)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"flags row {key}: evidence is not JSON ({exc})") from None
        insts = {(i["institution_id"], str(i["local_id"])) for i in (row["institutions"] or [])
                 if i and i.get("institution_id") and i.get("local_id") is not None}
        signs = sorted(set(row["critical_signs"] or []))
        values = {
            "trigger": row["trigger"],
            "critical_signs": signs,
            "probability": _float(row["probability"]),
            "band": row["band"],
            "portfolio_share": _float(row["portfolio_share"]),
            "in_event": row["in_event"],
            "phase": row["phase"],
            "phase_reason_ja": row["phase_reason_ja"],
            "phase_reason_en": row["phase_reason_en"],
            "priority": _float(row["priority"]),
            "priority_rank": row["priority_rank"],
            "lead_institution_id": row["lead_institution_id"],
            "first_sign_on": row["first_sign_on"],
        }
        flag = _Flag(key, insts, values, signs, evidence)
        previous = flags.get(key)
        if previous is not None:
            # One row per business is the contract; if a source repeats a business, keep the
            # more urgent row and the union of institutions and signs.
            keep, other = (flag, previous) if (flag.values["priority"] or -math.inf) > (
                previous.values["priority"] or -math.inf) else (previous, flag)
            keep.institutions |= other.institutions
            keep.critical_signs = sorted(set(keep.critical_signs) | set(other.critical_signs))
            keep.values["critical_signs"] = keep.critical_signs
            firsts = [d for d in (keep.values["first_sign_on"], other.values["first_sign_on"]) if d]
            keep.values["first_sign_on"] = min(firsts) if firsts else None
            flag = keep
        flags[key] = flag
    return flags


def _candidates(rows: dict[str, _Flag], keys: list[str]) -> pl.DataFrame:
    """The new entries among the flags, as the frame signals/queue/watchlist.py ranks."""
    def lead_local(flag: _Flag) -> str | None:
        lead = flag.values["lead_institution_id"]
        return min((local for i, local in flag.institutions if i == lead), default=None)

    flags = [rows[k] for k in keys]
    columns: dict[str, list[Any]] = {
        name: [f.values[name] for f in flags]
        for name in CANDIDATE_SCHEMA if name not in ("business_key", "lead_local_id", "critical_signs")}
    return pl.DataFrame({"business_key": keys, "lead_local_id": [lead_local(f) for f in flags],
                         "critical_signs": [f.critical_signs for f in flags], **columns},
                        schema=CANDIDATE_SCHEMA)


# ---------------------------------------------------------------------------- the store

class QueueStore:
    """One store per process; thread-safe (each call takes its own connection)."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], datetime] | None = None,
        password_params: ScryptParams | None = None,  # None: auth.DEFAULT_SCRYPT
        echo: bool = False,
    ) -> None:
        from signals.queue.auth import DEFAULT_SCRYPT

        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        if self.backend == "sqlite" and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, echo=echo, pool_pre_ping=self.backend != "sqlite")
        if self.backend == "sqlite":
            _sqlite_transactions(self.engine)
        self._writer = self.engine.execution_options(yocho_write=True)
        # A read of several queries (a page and its total, a case and its history) sees one
        # snapshot: REPEATABLE READ on PostgreSQL; SQLite's deferred transaction does that already.
        self._reader = (self.engine.execution_options(isolation_level="REPEATABLE READ")
                        if self.backend == "postgresql" else self.engine)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.password_params: ScryptParams = password_params or DEFAULT_SCRYPT
        migrate(self._writer)

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> QueueStore:
        """The store at `settings.queue_url` (yocho.settings.Settings)."""
        return cls(settings.queue_url, **kwargs)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> QueueStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- time and transactions ---------------------------------------------------------

    def now(self) -> datetime:
        return _aware(self._clock())

    def today(self) -> date:
        """Today in Japan: the date recorded for consent, referral, closing and snoozing."""
        return self.now().astimezone(TOKYO).date()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._reader.begin() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._writer.begin() as conn:
            yield conn

    # -- users -------------------------------------------------------------------------

    def _actor(self, conn: Connection, user: User) -> User:
        """The acting user as the database knows it now: role and institution come from the
        users table, not from the caller's object, and a disabled user may do nothing."""
        row = conn.execute(select(users).where(users.c.id == user.id)).first()
        if row is None or row.username != user.username or not row.active:
            raise Forbidden("user is unknown or disabled")
        return _user(row)

    # -- institutions ------------------------------------------------------------------

    def ensure_institutions(self, items: Iterable[str | Institution | tuple[str, str]]) -> None:
        """Register institutions (id, or (id, name), or Institution); existing ones are kept.
        For the nightly job and the demo; institutions are not secret."""
        with self._write() as conn:
            self._ensure_institutions(conn, items)

    def _ensure_institutions(self, conn: Connection, items: Iterable[str | Institution | tuple[str, str]]) -> None:
        wanted: dict[str, Institution] = {}
        for item in items:
            if isinstance(item, Institution):
                inst = item
            elif isinstance(item, tuple):
                inst = Institution(item[0], institution_kind(item[0]), item[1])
            else:
                inst = Institution(item, institution_kind(item), item)
            wanted[inst.id] = inst
        if not wanted:
            return
        have: set[str] = set()
        for chunk in _chunks(sorted(wanted)):
            have.update(conn.execute(select(institutions.c.id).where(institutions.c.id.in_(chunk))).scalars())
        new = [{"id": i.id, "kind": i.kind, "name": i.name} for k, i in wanted.items() if k not in have]
        if new:
            conn.execute(insert(institutions), new)

    def list_institutions(self, user: User) -> list[Institution]:
        with self._read() as conn:
            self._actor(conn, user)
            return [Institution(r.id, r.kind, r.name)
                    for r in conn.execute(select(institutions).order_by(institutions.c.id))]

    # -- nightly flags -----------------------------------------------------------------

    def apply_flags(self, flags: pl.DataFrame, as_of: date, cooldown_months: int) -> ApplyResult:
        """Bring the night's flags (signals.flags.flags_as_of) into the queue, in one transaction.

        - A business with an open case gets an `update` snapshot (the `initial` one never
          changes), its new institutions and local ids, and the latest flag values.
        - A business without one is a new entry, unless a case of it was closed (dismissed,
          accepted, declined) within `cooldown_months` of as_of and none of its critical signs
          is missing from that case's initial snapshot (the cool-down). New entries are ranked
          within their lead institution (signals/budget.py: critical signs first, then
          priority -- halved after a recent dismissal --, probability, business key); the
          first ones get a new case with an `initial` snapshot, up to what is left of the
          institution's monthly review budget (`monthly_budget` in the frame, less the cases
          already opened against it in as_of's month). The rest are stored ranked in
          `waiting_entries` for as_of, replacing that as_of's earlier list.
        - A snoozed case wakes (→ under_review) when its snooze is over by as_of, or when a
          critical sign fires that none of its snapshots had.
        Re-applying the same as_of opens nothing more than the budget left and adds no
        snapshot twice.
        """
        rows = _flag_rows(flags, as_of)
        now = self.now()
        keys = sorted(rows)
        opened = updated = suppressed = unchanged = 0
        with self._write() as conn:
            if conn.dialect.name == "postgresql":  # one nightly load at a time
                conn.execute(text("SELECT pg_advisory_xact_lock(7301736)"))
            inst_ids = {i for f in rows.values() for i, _ in f.institutions}
            inst_ids |= {f.values["lead_institution_id"] for f in rows.values() if f.values["lead_institution_id"]}
            self._ensure_institutions(conn, inst_ids)

            open_cases: dict[str, Any] = {}
            for chunk in _chunks(keys):
                for r in conn.execute(select(
                        cases.c.id, cases.c.business_key, cases.c.state, cases.c.version,
                        cases.c.last_as_of, cases.c.first_sign_on)
                        .where(cases.c.owner == OWNER_INSTITUTIONS,  # never a council-owned referral
                               cases.c.state.in_(_values(OPEN_STATES)), cases.c.business_key.in_(chunk))):
                    open_cases[r.business_key] = r
            open_ids = sorted(r.id for r in open_cases.values())
            has_snapshot: set[int] = set()
            known_inst: set[tuple[int, str, str]] = set()
            for chunk in _chunks(open_ids):
                has_snapshot.update(conn.execute(select(evidence_snapshots.c.case_id).where(
                    evidence_snapshots.c.as_of == as_of, evidence_snapshots.c.case_id.in_(chunk))).scalars())
                known_inst.update(conn.execute(select(
                    case_institutions.c.case_id, case_institutions.c.institution_id, case_institutions.c.local_id)
                    .where(case_institutions.c.case_id.in_(chunk))).tuples())

            # Cooldown: the latest case of each remaining business closed within the window.
            candidates = [k for k in keys if k not in open_cases]
            closed_signs: dict[str, set[str]] = {}
            if cooldown_months > 0 and candidates:
                cutoff = add_months(as_of, -cooldown_months)
                latest: dict[str, tuple[date, int]] = {}
                for chunk in _chunks(candidates):
                    for r in conn.execute(select(cases.c.id, cases.c.business_key, cases.c.closed_on).where(
                            cases.c.owner == OWNER_INSTITUTIONS,
                            cases.c.state.in_(_values(CLOSED_STATES)), cases.c.closed_on > cutoff,
                            cases.c.business_key.in_(chunk))):
                        if r.business_key not in latest or (r.closed_on, r.id) > latest[r.business_key]:
                            latest[r.business_key] = (r.closed_on, r.id)
                by_case = {case_id: key for key, (_, case_id) in latest.items()}
                closed_signs = {key: set() for key in latest}
                for chunk in _chunks(sorted(by_case)):
                    for r in conn.execute(select(evidence_snapshots.c.case_id, evidence_snapshots.c.critical_signs)
                                          .where(evidence_snapshots.c.kind == "initial",
                                                 evidence_snapshots.c.case_id.in_(chunk))):
                        closed_signs[by_case[r.case_id]] = set(r.critical_signs or [])
            entries = []
            for key in candidates:
                if key in closed_signs and not set(rows[key].critical_signs) - closed_signs[key]:
                    suppressed += 1
                else:
                    entries.append(key)
            drawn = draw_the_line(conn, budgets_of(flags), _candidates(rows, entries), as_of, now)
            to_open = drawn.to_open

            snapshot_rows: list[dict[str, Any]] = []
            inst_rows: list[dict[str, Any]] = []
            audit_rows: list[dict[str, Any]] = []

            def snapshot(case_id: int, flag: _Flag, kind: str) -> None:
                snapshot_rows.append({
                    "case_id": case_id, "taken_at": now, "as_of": as_of, "kind": kind,
                    "critical_signs": flag.critical_signs, "probability": flag.values["probability"],
                    "band": flag.values["band"], "phase": flag.values["phase"], "evidence": flag.evidence,
                })

            if to_open:
                new_rows = [{
                    "business_key": key, "owner": OWNER_INSTITUTIONS, "state": State.NEW.value, "version": 1,
                    **rows[key].values, "within_capacity": True,
                    "budget_institution_id": rows[key].values["lead_institution_id"],
                    "flagged_on": as_of, "last_as_of": as_of, "created_at": now, "updated_at": now,
                } for key in to_open]
                inserted = conn.execute(
                    insert(cases).returning(cases.c.id, cases.c.business_key),  # keyed by business_key
                    new_rows).all()
                for case_id, key in inserted:
                    flag = rows[key]
                    snapshot(case_id, flag, "initial")
                    inst_rows += [{"case_id": case_id, "institution_id": i, "local_id": local, "added_on": as_of}
                                  for i, local in sorted(flag.institutions)]
                    audit_rows.append({"case_id": case_id, "at": now, "actor_user_id": None, "actor": SYSTEM,
                                       "actor_role": None, "from_state": None, "to_state": State.NEW.value,
                                       "note": f"flagged as of {as_of.isoformat()} ({flag.values['trigger']})"})
                opened = len(inserted)

            case_updates: list[dict[str, Any]] = []
            for key, case in open_cases.items():
                if case.id in has_snapshot:
                    unchanged += 1
                    continue
                flag = rows[key]
                snapshot(case.id, flag, "update")
                inst_rows += [{"case_id": case.id, "institution_id": i, "local_id": local, "added_on": as_of}
                              for i, local in sorted(flag.institutions) if (case.id, i, local) not in known_inst]
                if case.last_as_of is None or as_of > case.last_as_of:  # not for a late, older night
                    values = dict(flag.values)
                    firsts = [d for d in (case.first_sign_on, values["first_sign_on"]) if d]
                    values["first_sign_on"] = min(firsts) if firsts else None
                    case_updates.append({"_id": case.id, **values, "last_as_of": as_of, "updated_at": now})
                updated += 1

            # Snoozed cases with a critical sign none of their snapshots had.
            snoozed = {case.id: key for key, case in open_cases.items()
                       if case.state == State.SNOOZED.value and case.id not in has_snapshot
                       and rows[key].critical_signs}
            seen_signs: dict[int, set[str]] = {case_id: set() for case_id in snoozed}
            for chunk in _chunks(sorted(snoozed)):
                for r in conn.execute(select(evidence_snapshots.c.case_id, evidence_snapshots.c.critical_signs)
                                      .where(evidence_snapshots.c.case_id.in_(chunk))):
                    seen_signs[r.case_id] |= set(r.critical_signs or [])
            wake_on_sign = {case_id: sorted(set(rows[key].critical_signs) - seen_signs[case_id])
                            for case_id, key in snoozed.items()}
            wake_on_sign = {case_id: signs for case_id, signs in wake_on_sign.items() if signs}

            if snapshot_rows:
                conn.execute(insert(evidence_snapshots), snapshot_rows)
            if inst_rows:
                conn.execute(insert(case_institutions), inst_rows)
            if case_updates:
                conn.execute(update(cases).where(cases.c.id == bindparam("_id")), case_updates)
            if audit_rows:
                conn.execute(insert(transitions), audit_rows)
            conn.execute(delete(waiting_entries).where(waiting_entries.c.as_of == as_of))
            if drawn.waiting_rows:
                conn.execute(insert(waiting_entries), drawn.waiting_rows)
            conn.execute(delete(review_budgets).where(review_budgets.c.as_of == as_of))
            if drawn.budget_rows:
                conn.execute(insert(review_budgets), drawn.budget_rows)
            woken = self._wake(conn, sorted(wake_on_sign), now,
                               lambda case_id: "新たな重大予兆: " + ", ".join(wake_on_sign[case_id]))
            woken += self._wake_due(conn, as_of, now)
        return ApplyResult(opened, updated, suppressed, unchanged, woken, len(drawn.waiting_rows), drawn.lines)

    def wake_snoozed(self, today: date | None = None) -> int:
        """Wake every snoozed case whose snooze is over by `today` (default: today in Japan)."""
        with self._write() as conn:
            return self._wake_due(conn, today or self.today(), self.now())

    def _wake_due(self, conn: Connection, day: date, now: datetime) -> int:
        due = sorted(conn.execute(select(cases.c.id).where(
            cases.c.state == State.SNOOZED.value, cases.c.snooze_until <= day)).scalars())
        return self._wake(conn, due, now, lambda _: f"snooze over ({day.isoformat()})")

    def _wake(self, conn: Connection, case_ids: Sequence[int], now: datetime, note: Callable[[int], str]) -> int:
        rule_for(State.SNOOZED, State.UNDER_REVIEW, None)  # the nightly job may do this
        woken: list[int] = []
        for chunk in _chunks(case_ids):
            woken += conn.execute(
                update(cases).where(cases.c.id.in_(chunk), cases.c.state == State.SNOOZED.value)
                .values(state=State.UNDER_REVIEW.value, version=cases.c.version + 1, updated_at=now,
                        snooze_until=None, snooze_reason=None)
                .returning(cases.c.id)).scalars().all()
        if woken:
            conn.execute(insert(transitions), [{
                "case_id": case_id, "at": now, "actor_user_id": None, "actor": SYSTEM, "actor_role": None,
                "from_state": State.SNOOZED.value, "to_state": State.UNDER_REVIEW.value, "note": note(case_id),
            } for case_id in sorted(woken)])
        return len(woken)

    # -- scoped reads ------------------------------------------------------------------

    def list_cases(self, user: User, query: CaseQuery | None = None) -> Page:
        """The acting user's worklist page."""
        query = query or CaseQuery()
        if query.page < 1 or not 1 <= query.page_size <= 1000:
            raise InvalidInput("page must be ≥ 1 and page_size between 1 and 1000")
        with self._read() as conn:
            actor = self._actor(conn, user)
            conditions = self._conditions(actor, query)
            total = conn.execute(select(func.count()).select_from(cases).where(*conditions)).scalar_one()
            rows = conn.execute(self._ordered(select(cases).where(*conditions), query)
                                .limit(query.page_size).offset((query.page - 1) * query.page_size)).all()
            return Page(self._summaries(conn, actor, rows), total, query.page, query.page_size)

    def all_cases(self, user: User, query: CaseQuery | None = None) -> list[CaseSummary]:
        """Every case of the acting user's worklist that matches (no paging): exports, KPIs."""
        query = query or CaseQuery()
        with self._read() as conn:
            actor = self._actor(conn, user)
            rows = conn.execute(self._ordered(select(cases).where(*self._conditions(actor, query)), query)).all()
            return self._summaries(conn, actor, rows)

    def count_by_state(self, user: User) -> dict[State, int]:
        """Cases the acting user can see, per state (every state, zeros included)."""
        with self._read() as conn:
            actor = self._actor(conn, user)
            found = dict(conn.execute(select(cases.c.state, func.count()).where(_scope(actor))
                                      .group_by(cases.c.state)).tuples().all())
        return {state: found.get(state.value, 0) for state in State}

    def get_case(self, user: User, case_id: int) -> CaseDetail:
        """One case with its snapshots and audit log; NotFound outside the user's scope."""
        with self._read() as conn:
            actor = self._actor(conn, user)
            return self._detail(conn, actor, case_id)

    def _conditions(self, actor: User, query: CaseQuery) -> list[ColumnElement[bool]]:
        conditions = [_scope(actor)]
        if query.states:
            conditions.append(cases.c.state.in_([State(s).value for s in query.states]))
        if query.phase:
            conditions.append(cases.c.phase == query.phase)
        if query.band:
            conditions.append(cases.c.band == query.band)
        if query.institution_id and actor.role is Role.COUNCIL_INTAKE:
            # the council knows a referral's referring institution, not who else shares the case
            conditions.append(cases.c.referring_institution_id == query.institution_id)
        elif query.institution_id:
            conditions.append(exists().where(case_institutions.c.case_id == cases.c.id,
                                             case_institutions.c.institution_id == query.institution_id))
        if query.search and query.search.strip():
            term = query.search.strip()
            local = [case_institutions.c.case_id == cases.c.id,
                     case_institutions.c.local_id.icontains(term, autoescape=True)]
            if actor.role in INSTITUTION_ROLES:  # only its own local ids
                local.append(case_institutions.c.institution_id == actor.institution_id)
            elif actor.role is Role.COUNCIL_INTAKE:  # only the referring institution's
                local.append(case_institutions.c.institution_id == cases.c.referring_institution_id)
            conditions.append(or_(cases.c.business_key.icontains(term, autoescape=True), exists().where(*local)))
        return conditions

    @staticmethod
    def _ordered(statement: Any, query: CaseQuery) -> Any:
        if query.sort not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(SORTS)}")
        column = cases.c[query.sort]
        key = column.desc() if query.descending else column.asc()
        return statement.order_by(key.nulls_last(), cases.c.id.asc())

    def _institutions(self, conn: Connection, actor: User, rows: Sequence[Any]) -> dict[int, list[CaseInstitution]]:
        """Who shares each case, as the actor may see it (docs/queue.md, "Sharing"): a bank
        reviewer or an analyst sees which institutions share it, with only its own local ids;
        council intake sees the referring institution only (whose consent brought the case),
        with its ids; an administrator everything."""
        found: dict[int, list[CaseInstitution]] = {r.id: [] for r in rows}
        referrer = {r.id: r.referring_institution_id for r in rows}
        for chunk in _chunks(sorted(found)):
            for r in conn.execute(select(case_institutions).where(case_institutions.c.case_id.in_(chunk))
                                  .order_by(case_institutions.c.institution_id, case_institutions.c.local_id)):
                if actor.role is Role.ADMIN:
                    found[r.case_id].append(CaseInstitution(r.institution_id, r.local_id))
                elif actor.role is Role.COUNCIL_INTAKE:
                    if r.institution_id == referrer[r.case_id]:
                        found[r.case_id].append(CaseInstitution(r.institution_id, r.local_id))
                else:
                    own = r.institution_id == actor.institution_id
                    found[r.case_id].append(CaseInstitution(r.institution_id, r.local_id if own else None))
        return found

    def _summaries(self, conn: Connection, actor: User, rows: Sequence[Any]) -> list[CaseSummary]:
        insts = self._institutions(conn, actor, rows)
        return [CaseSummary(**_summary_fields(r, insts[r.id])) for r in rows]

    def _detail(self, conn: Connection, actor: User, case_id: int) -> CaseDetail:
        row = conn.execute(select(cases).where(cases.c.id == case_id, _scope(actor))).first()
        if row is None:
            raise NotFound(f"case {case_id} not found")
        insts = self._institutions(conn, actor, [row])
        sharers = set(conn.execute(select(case_institutions.c.institution_id)
                                   .where(case_institutions.c.case_id == row.id)).scalars())
        viewer = _evidence_viewer(actor, row)

        def shown(evidence: str) -> str:
            return evidence if actor.role is Role.ADMIN else scoped_evidence(evidence, viewer, sharers)

        snaps = tuple(Snapshot(r.id, _aware(r.taken_at), r.as_of, r.kind, list(r.critical_signs or []),
                               r.probability, r.band, r.phase, shown(r.evidence))
                      for r in conn.execute(select(evidence_snapshots).where(evidence_snapshots.c.case_id == case_id)
                                            .order_by(evidence_snapshots.c.as_of, evidence_snapshots.c.id)))
        history = tuple(AuditEntry(r.id, _aware(r.at), r.actor, r.actor_role,
                                   State(r.from_state) if r.from_state else None, State(r.to_state), r.note,
                                   r.reason_code)
                        for r in conn.execute(select(transitions).where(transitions.c.case_id == case_id)
                                              .order_by(transitions.c.id)))
        return CaseDetail(
            **_summary_fields(row, insts[row.id]),
            portfolio_share=row.portfolio_share, in_event=row.in_event, within_capacity=row.within_capacity,
            snooze_reason=row.snooze_reason, close_reason=row.close_reason, consent_note=row.consent_note,
            snapshots=snaps, history=history,
            allowed_transitions=tuple(allowed_targets(State(row.state), actor.role)),
        )

    # -- case work ---------------------------------------------------------------------

    def transition(
        self,
        user: User,
        case_id: int,
        to_state: State | str,
        *,
        expected_version: int,
        note: str | None = None,
        snooze_until: date | None = None,
        consent_on: date | None = None,
        reason_code: str | None = None,
    ) -> CaseDetail:
        """Move a case, as `user`, from the state it had at `expected_version` (the version the
        user was shown). The state change and its audit row are one transaction. Raises
        NotFound (outside scope), Conflict (changed meanwhile), IllegalTransition, Forbidden
        (role), InvalidInput (missing reason, reason code, snooze date or consent date).
        `reason_code`: a dismissal's coded reason (lifecycle.REASON_CODES), kept in the audit
        row's `reason_code`."""
        try:
            target = State(to_state)
        except ValueError:
            raise InvalidInput(f"unknown state {to_state!r}") from None
        note = _clean(note)
        today = self.today()
        now = self.now()
        with self._write() as conn:
            actor = self._actor(conn, user)
            row = conn.execute(select(cases.c.id, cases.c.state, cases.c.version)
                               .where(cases.c.id == case_id, _scope(actor))).first()
            if row is None:
                raise NotFound(f"case {case_id} not found")
            if row.version != expected_version:
                raise Conflict(f"case {case_id} was changed by someone else (version {row.version}, "
                               f"you saw {expected_version}); reload it")
            current = State(row.state)
            rule = rule_for(current, target, actor.role)
            if rule.note_required and not note:
                raise InvalidInput(f"a reason is required to move a case to {target.value}")
            code = check_reason_code(rule, target, reason_code, note)
            values: dict[str, Any] = {}
            if target is State.SNOOZED:
                if snooze_until is None or snooze_until <= today:
                    raise InvalidInput("snooze needs a date after today")
                values |= {"snooze_until": snooze_until, "snooze_reason": note}
            elif current is State.SNOOZED:
                values |= {"snooze_until": None, "snooze_reason": None}
            if target is State.CONSENT_OBTAINED:
                if consent_on is None or consent_on > today:
                    raise InvalidInput("the date the owner's consent was obtained is required (not in the future)")
                values |= {"consent_on": consent_on, "consent_note": note, "consent_recorded_by": actor.id}
            if target is State.REFERRED:
                values |= {
                    "route": (Route.BANK if actor.role is Role.BANK_REVIEWER else Route.CGA).value,
                    "referred_on": today, "referred_by": actor.id,
                    "referring_institution_id": actor.institution_id, "referral_phase": cases.c.phase,
                }
            if target in CLOSED_STATES:
                label = REASON_CODES.get(target, {}).get(code or "")
                values |= {"closed_on": today,
                           "close_reason": f"{label}：{note}" if label and note else (note or label)}
            if target in (State.ACCEPTED, State.DECLINED):
                values["decided_by"] = actor.id
            moved = conn.execute(
                update(cases).where(cases.c.id == case_id, cases.c.version == expected_version,
                                    cases.c.state == current.value)
                .values(state=target.value, version=cases.c.version + 1, updated_at=now, **values))
            if moved.rowcount != 1:
                raise Conflict(f"case {case_id} was changed by someone else; reload it")
            conn.execute(insert(transitions).values(
                case_id=case_id, at=now, actor_user_id=actor.id, actor=actor.username, actor_role=actor.role.value,
                from_state=current.value, to_state=target.value, note=note, reason_code=code))
            return self._detail(conn, actor, case_id)

    def register_manual_referral(
        self,
        user: User,
        business_key: str,
        route: Route | str,
        note: str | None,
        *,
        phase: str | None = None,
        consent_on: date | None = None,
    ) -> CaseDetail:
        """Council intake registers a referral that did not come through the queue (a 士業 or
        その他 route): a council-owned case created directly as `referred`, with consent
        recorded (by default today).

        The record is the council's own: the nightly flags never merge an institution's local
        ids or evidence into it (`apply_flags` only updates the institutions' case), and the
        institutions' own case of the business, if any, stays theirs, unreferred, until they
        record consent and refer it themselves. Conflict only when the council can already
        see an open referral of the business (its own manual one, or an institution's
        consented referral): a case the council may not see is never revealed, not even by
        a refusal."""
        key = _clean(business_key)
        if not key:
            raise InvalidInput("business key is required")
        route_value = _route(route)
        if route_value not in MANUAL_ROUTES:
            raise InvalidInput("a manual referral's route is 士業 (professional) or その他 (other)")
        if phase is not None and phase not in PHASES:
            raise InvalidInput(f"unknown phase {phase!r}")
        note = _clean(note)
        today, now = self.today(), self.now()
        if consent_on is not None and consent_on > today:
            raise InvalidInput("consent date is in the future")
        with self._write() as conn:
            actor = self._actor(conn, user)
            if actor.role is not Role.COUNCIL_INTAKE:
                raise Forbidden("only council intake registers referrals by hand")
            if not is_business_key(key):
                raise InvalidInput("business key must be a 13-digit 法人番号 with a valid check digit, or "
                                   "<institution>:<customer number> for a sole proprietor (e.g. bank_0116:000123)")
            visible_open = and_(cases.c.state.in_(_values(OPEN_STATES)), _scope(actor))
            taken = conn.execute(select(cases.c.id).where(cases.c.business_key == key, visible_open)).first()
            if taken is not None:
                raise Conflict(_ALREADY_REFERRED)
            try:
                with conn.begin_nested():
                    case_id = conn.execute(insert(cases).values(
                        business_key=key, owner=OWNER_COUNCIL, state=State.REFERRED.value, version=1, critical_signs=[],
                        phase=phase, referral_phase=phase, route=route_value.value, referred_on=today,
                        referred_by=actor.id, consent_on=consent_on or today, consent_note=note,
                        consent_recorded_by=actor.id, created_at=now, updated_at=now,
                    ).returning(cases.c.id)).scalar_one()
            except IntegrityError:  # only another open council-owned case collides (the index is per owner)
                raise Conflict(_ALREADY_REFERRED) from None
            conn.execute(insert(transitions).values(
                case_id=case_id, at=now, actor_user_id=actor.id, actor=actor.username, actor_role=actor.role.value,
                from_state=None, to_state=State.REFERRED.value,
                note=f"manual referral ({ROUTE_JA[route_value]})" + (f": {note}" if note else "")))
            return self._detail(conn, actor, case_id)


# ---------------------------------------------------------------------------- module helpers

# The one refusal of a manual referral: about a referral the council already sees, never
# about a case it may not see.
_ALREADY_REFERRED = ("この事業者は既に協議会への紹介として受付中です "
                     "(the council already has an open referral of this business)")

def _values(states: Iterable[State]) -> list[str]:
    return sorted(s.value for s in states)


def _route(route: Route | str) -> Route:
    if isinstance(route, Route):
        return route
    for candidate, label in ROUTE_JA.items():
        if route in (candidate.value, label):
            return candidate
    raise InvalidInput(f"unknown route {route!r}")


def _scope(actor: User) -> ColumnElement[bool]:
    """What the acting user may see, as a WHERE condition on cases."""
    if actor.role is Role.ADMIN:
        return true()
    if actor.role in INSTITUTION_ROLES:
        if not actor.institution_id:
            return false()
        return exists().where(case_institutions.c.case_id == cases.c.id,
                              case_institutions.c.institution_id == actor.institution_id)
    if actor.role is Role.COUNCIL_INTAKE:
        return and_(cases.c.state.in_(_values(COUNCIL_STATES)), cases.c.consent_on.is_not(None))
    return false()


def _evidence_viewer(actor: User, row: Any) -> str | None:
    """The institution whose records `actor` sees in full in this case's evidence: its own; for
    council intake, the referring institution's (its consent covers its own records)."""
    if actor.role in INSTITUTION_ROLES:
        return actor.institution_id
    if actor.role is Role.COUNCIL_INTAKE:
        return row.referring_institution_id
    return None


def _user(row: Any) -> User:
    return User(row.id, row.username, Role(row.role), row.institution_id, row.display_name, bool(row.active))


def _summary_fields(row: Any, insts: list[CaseInstitution]) -> dict[str, Any]:
    return dict(
        id=row.id, business_key=row.business_key, state=State(row.state), version=row.version,
        trigger=row.trigger, critical_signs=list(row.critical_signs or []), probability=row.probability,
        band=row.band, priority=row.priority, priority_rank=row.priority_rank, phase=row.phase,
        phase_reason_ja=row.phase_reason_ja, phase_reason_en=row.phase_reason_en,
        lead_institution_id=row.lead_institution_id, first_sign_on=row.first_sign_on,
        flagged_on=row.flagged_on, last_as_of=row.last_as_of, updated_at=_aware(row.updated_at),
        snooze_until=row.snooze_until, closed_on=row.closed_on, consent_on=row.consent_on,
        route=Route(row.route) if row.route else None, referred_on=row.referred_on,
        referral_phase=row.referral_phase, referring_institution_id=row.referring_institution_id,
        institutions=tuple(insts), owner=row.owner,
    )


def _sqlite_transactions(engine: Engine) -> None:
    """SQLite: foreign keys on, WAL, a busy timeout, and real BEGINs (IMMEDIATE for writes),
    so a read-then-write transaction cannot fail half-way on a lock upgrade."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver must not issue its own BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("yocho_write") else "BEGIN")


__all__ = [
    "ApplyResult", "AuditEntry", "CaseDetail", "CaseInstitution", "CaseQuery", "CaseSummary",
    "FLAG_COLUMNS", "Institution", "Page", "QueueStore", "SORTS", "Snapshot", "User", "add_months",
]
