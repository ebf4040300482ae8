"""The referral queue's transactional store: nightly flags in, scoped case work out.

`QueueStore` is the one object callers hold (flows, the web app, the CLI, tests): it owns the
database (engine.open_database), the clock and the password cost, opens every transaction,
and hands the connection and the acting user to the module that does the work:

    actors     users and institutions          nightly    flags in, snoozes woken
    worklist   scoped reads of cases           casework   a user's move of a case
    referrals  council intake's manual ones    scope      what a user may see

Every read, list and transition takes the acting `User` and filters by its role and
institution inside the query (see `scope._scope`): there is no unscoped read path. A case
outside the user's scope is reported as `NotFound`, exactly like a case that does not exist.

The same code runs on SQLite (the default embedded file, `Settings.queue_url`) and on
PostgreSQL (`postgresql+psycopg://...`). On SQLite, write transactions start with
`BEGIN IMMEDIATE` so two writers queue up (busy timeout 30 s) instead of failing half-way.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine

from signals.queue import casework, consent, followup_cohort, nightly, referrals, stage_kpis, stages, worklist
from signals.queue.actors import Institution, User, acting_user, ensure_institutions, list_institutions
from signals.queue.actors import _user as _user
from signals.queue.actors import institution_kind as institution_kind
from signals.queue.clock import TOKYO, _aware
from signals.queue.consent import ConsentRecord
from signals.queue.engine import open_database
from signals.queue.lifecycle import Route, State
from signals.queue.months import add_months as add_months
from signals.queue.nightly import FLAG_COLUMNS as FLAG_COLUMNS
from signals.queue.nightly import SYSTEM as SYSTEM
from signals.queue.nightly import TRIGGERS as TRIGGERS
from signals.queue.nightly import ApplyResult as ApplyResult
from signals.queue.passwords import DEFAULT_SCRYPT, ScryptParams
from signals.queue.referrals import is_business_key as is_business_key
from signals.queue.scope import _scope as _scope
from signals.queue.views import SORTS as SORTS
from signals.queue.views import AuditEntry as AuditEntry
from signals.queue.views import CaseDetail as CaseDetail
from signals.queue.views import CaseInstitution as CaseInstitution
from signals.queue.views import CaseQuery as CaseQuery
from signals.queue.views import CaseSummary as CaseSummary
from signals.queue.views import Page as Page
from signals.queue.views import Snapshot as Snapshot


class QueueStore:
    """One store per process; thread-safe (each call takes its own connection)."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], datetime] | None = None,
        password_params: ScryptParams | None = None,  # None: passwords.DEFAULT_SCRYPT
        echo: bool = False,
    ) -> None:
        database = open_database(url, echo=echo)
        self.backend = database.backend
        self.engine: Engine = database.engine
        self._writer = database.writer
        self._reader = database.reader
        self._clock = clock or (lambda: datetime.now(UTC))
        self.password_params: ScryptParams = password_params or DEFAULT_SCRYPT

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

    # -- users and institutions ----------------------------------------------------------

    def _actor(self, conn: Connection, user: User) -> User:
        """The acting user as the database knows it now (actors.acting_user)."""
        return acting_user(conn, user)

    def ensure_institutions(self, items: Iterable[str | Institution | tuple[str, str]]) -> None:
        """Register institutions (id, or (id, name), or Institution); existing ones are kept.
        For the nightly job and the demo; institutions are not secret."""
        with self._write() as conn:
            ensure_institutions(conn, items)

    def _ensure_institutions(self, conn: Connection, items: Iterable[str | Institution | tuple[str, str]]) -> None:
        ensure_institutions(conn, items)

    def list_institutions(self, user: User) -> list[Institution]:
        with self._read() as conn:
            self._actor(conn, user)
            return list_institutions(conn)

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
        rows = nightly.flag_rows(flags, as_of)
        now = self.now()
        with self._write() as conn:
            applied = nightly.apply(conn, rows, flags, as_of, cooldown_months, now)
            # Through the store's own methods: the crash-recovery test stops a night here,
            # after every row is written and before the COMMIT.
            woken = self._wake(conn, sorted(applied.wake_on_sign), now, applied.sign_note)
            woken += self._wake_due(conn, as_of, now)
        return applied.result(woken)

    def wake_snoozed(self, today: date | None = None) -> int:
        """Wake every snoozed case whose snooze is over by `today` (default: today in Japan)."""
        with self._write() as conn:
            return self._wake_due(conn, today or self.today(), self.now())

    def _wake_due(self, conn: Connection, day: date, now: datetime) -> int:
        return nightly.wake_due(conn, day, now)

    def _wake(self, conn: Connection, case_ids: Sequence[int], now: datetime, note: Callable[[int], str]) -> int:
        return nightly.wake(conn, case_ids, now, note)

    # -- scoped reads ------------------------------------------------------------------

    def list_cases(self, user: User, query: CaseQuery | None = None) -> Page:
        """The acting user's worklist page."""
        query = query or CaseQuery()
        worklist.check_paging(query)
        with self._read() as conn:
            return worklist.list_page(conn, self._actor(conn, user), query)

    def all_cases(self, user: User, query: CaseQuery | None = None) -> list[CaseSummary]:
        """Every case of the acting user's worklist that matches (no paging): exports, KPIs."""
        query = query or CaseQuery()
        with self._read() as conn:
            return worklist.all_cases(conn, self._actor(conn, user), query)

    def count_by_state(self, user: User) -> dict[State, int]:
        """Cases the acting user can see, per state (every state, zeros included)."""
        with self._read() as conn:
            return worklist.count_by_state(conn, self._actor(conn, user))

    def get_case(self, user: User, case_id: int) -> CaseDetail:
        """One case with its snapshots and audit log; NotFound outside the user's scope."""
        with self._read() as conn:
            return worklist.detail(conn, self._actor(conn, user), case_id)

    def _summaries(self, conn: Connection, actor: User, rows: Sequence[Any]) -> list[CaseSummary]:
        return worklist.summaries(conn, actor, rows)

    def _detail(self, conn: Connection, actor: User, case_id: int) -> CaseDetail:
        return worklist.detail(conn, actor, case_id)

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
        consent: ConsentRecord | None = None,
        reason_code: str | None = None,
    ) -> CaseDetail:
        """Move a case, as `user`, from the state it had at `expected_version` (the version the
        user was shown). The state change and its audit row are one transaction. Raises
        NotFound (outside scope), Conflict (changed meanwhile), IllegalTransition, Forbidden
        (role), InvalidInput (missing reason, reason code, snooze date or consent record).
        `reason_code`: a dismissal's coded reason (lifecycle.REASON_CODES), kept in the audit
        row's `reason_code`. `consent`: the move to consent_obtained records it
        (consent.ConsentRecord); a referral without it on the case is refused, and goes to the
        council of the business's prefecture (councils.route)."""
        target = casework.target_state(to_state)
        note = casework.clean_text(note)
        today = self.today()
        now = self.now()
        with self._write() as conn:
            actor = self._actor(conn, user)
            casework.move(conn, actor, case_id, target, expected_version=expected_version, note=note,
                          snooze_until=snooze_until, consent=consent, reason_code=reason_code,
                          today=today, now=now)
            return worklist.detail(conn, actor, case_id)

    def withdraw_consent(self, user: User, case_id: int, *, expected_version: int,
                         note: str | None = None) -> CaseDetail:
        """The owner withdrew consent: recorded by the institution that recorded it (the
        referring one); the council no longer sees the case from this commit on
        (consent.withdraw). Audited in `transitions` with reason code `consent_withdrawn`."""
        today, now = self.today(), self.now()
        with self._write() as conn:
            actor = self._actor(conn, user)
            consent.withdraw(conn, actor, case_id, expected_version=expected_version,
                             note=casework.clean_text(note), today=today, now=now)
            return worklist.detail(conn, actor, case_id)

    def withdrawn_referrals(self, user: User, limit: int = 100) -> list[consent.WithdrawnReferral]:
        """The referrals withdrawn from the user's council (its number and dates only)."""
        with self._read() as conn:
            return consent.withdrawn_referrals(conn, self._actor(conn, user), limit)

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
        request = referrals.manual_referral(business_key, route, note, phase)
        today, now = self.today(), self.now()
        referrals.check_consent_on(consent_on, today)
        with self._write() as conn:
            actor = self._actor(conn, user)
            case_id = referrals.register(conn, actor, request, consent_on=consent_on, today=today, now=now)
            return worklist.detail(conn, actor, case_id)

    # -- the council's support after an accepted referral ----------------------------------

    def record_stage(self, user: User, case_id: int, stage: str, *, on: date | None,
                     measures: Iterable[str] | None = None, note: str | None = None) -> list[stages.StageEntry]:
        """Council intake of the case's council appends a support stage (stages.record);
        returns the case's log as the council reads it."""
        today, now = self.today(), self.now()
        with self._write() as conn:
            actor = self._actor(conn, user)
            stages.record(conn, actor, case_id, stage, on=on, measures=measures, note=note, today=today, now=now)
            return stages.council_log(conn, actor, case_id)

    def stage_timeline(self, user: User, case_id: int) -> list[stages.StageEntry]:
        """The case's support stages as the user may read them (the council's notes for the
        council only); empty outside the user's scope."""
        with self._read() as conn:
            return stages.timeline(conn, self._actor(conn, user), case_id)

    def stage_kpis(self, user: User) -> stage_kpis.StageKpis:
        """The council's report of consultations, completions and durations (stage_kpis)."""
        with self._read() as conn:
            return stage_kpis.stage_kpis(conn, self._actor(conn, user))

    def followup_cohort(self, user: User) -> pl.DataFrame:
        """The referred businesses with a plan agreed and the comparison group, one row each,
        for the did-it-work comparison (followup_cohort.cohort, signals/followup.py)."""
        with self._read() as conn:
            return followup_cohort.cohort(conn, self._actor(conn, user))


# The names callers import from here. Most now live in the module beside the code that uses
# them; the imports above marked `X as X` keep them (and kpis' and outcomes' `_scope`,
# `_aware`, `TOKYO`) importable from the store.
__all__ = [
    "ApplyResult", "AuditEntry", "CaseDetail", "CaseInstitution", "CaseQuery", "CaseSummary",
    "FLAG_COLUMNS", "Institution", "Page", "QueueStore", "SORTS", "Snapshot", "User", "add_months",
]
