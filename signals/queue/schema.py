"""Tables of the referral queue (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Versioning: `schema_version` holds one row per applied schema version. `migrate(engine)`
creates a fresh database from the current metadata (plus the append-only triggers) and stamps
it `SCHEMA_VERSION`; an older database gets the upgrade steps in `MIGRATIONS` it lacks. A
database newer than the code is refused rather than used. To change the schema: change the
tables, bump `SCHEMA_VERSION` and add the upgrade step for existing databases.

Append-only tables: `evidence_snapshots`, `transitions` (the case audit log) and
`account_events` (the account audit log), `consent_withdrawals` and `support_stages` (the council's stage log). No code path updates or deletes their rows, and
the database refuses it too: triggers on both backends abort any UPDATE or DELETE (and, on
PostgreSQL, TRUNCATE).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    insert,
    inspect,
    select,
    text,
)

from signals.queue.lifecycle import CONSENT_CATEGORIES, OPEN_STATES, Role, Route, State
from signals.queue.stage_terms import Stage

metadata = MetaData()

OWNER_INSTITUTIONS, OWNER_COUNCIL = "institutions", "council"
OWNERS = (OWNER_INSTITUTIONS, OWNER_COUNCIL)


def _in(values: object) -> str:
    return ", ".join(f"'{v}'" for v in sorted(str(x) for x in values))  # type: ignore[attr-defined]


schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    Column("description", Text, nullable=False),
)

institutions = Table(
    "institutions", metadata,
    Column("id", String(64), primary_key=True),  # bank_0116, cga_13, council
    Column("kind", String(16), nullable=False),
    Column("name", Text, nullable=False),
    # JIS X 0401 code (1-47) of the institution's home prefecture: a bank's is registered with
    # it (the demo's registry, `yocho users create --prefecture`), an association's and a
    # council's follow from the id. Routes a referral of a business without a prefecture.
    Column("prefecture_code", Integer, nullable=True),
    CheckConstraint("kind IN ('bank', 'cga', 'council')", name="ck_institutions_kind"),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("institution_id", String(64), ForeignKey("institutions.id"), nullable=True),
    Column("display_name", Text, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    # The password is one somebody else chose (an administrator creating the account or
    # resetting it, the operator with `yocho users`): the web app lets the user do nothing but
    # choose their own until they have. Cleared by the user's own change only.
    Column("must_change_password", Boolean, nullable=False, default=False, server_default=false()),
    # Where the daily digest of the user's new work goes (signals/queue/digest.py); NULL: no
    # e-mail. Set by an administrator or the operator, never by the user alone.
    Column("email", String(254), nullable=True),
    CheckConstraint(f"role IN ({_in(Role)})", name="ck_users_role"),
)

cases = Table(
    "cases", metadata,
    Column("id", Integer, primary_key=True),
    Column("business_key", String(128), nullable=False),  # 法人番号 or inst:local_id
    # The trade name (商号) as the business master gave it on the latest night's date (the
    # evidence document's `business_name`, signals/sql/evidence.sql), for reviewers to
    # recognise the business; NULL where no master names it (and for manual referrals).
    Column("business_name", Text, nullable=True),
    # Whose case it is: "institutions" (opened by the nightly flags for the banks and the
    # association that know the business) or "council" (a manual referral by council intake).
    # The nightly flags only ever touch the institutions' case: no institution's ids or
    # evidence reach a council-owned case without that institution's own consent and referral.
    Column("owner", String(16), nullable=False, default="institutions", server_default="institutions"),
    Column("state", String(32), nullable=False),
    # Optimistic concurrency: every state change is UPDATE ... WHERE version = :read_version.
    Column("version", Integer, nullable=False, default=1),
    # Latest flag values (updated by each night's flags, never by reviewers).
    Column("trigger", String(16), nullable=True),  # critical_sign | score | both; NULL for manual
    Column("critical_signs", JSON, nullable=False, default=list),
    Column("probability", Float, nullable=True),
    Column("band", String(32), nullable=True),
    Column("portfolio_share", Float, nullable=True),
    Column("in_event", Boolean, nullable=True),
    Column("phase", String(32), nullable=True),  # recommended support phase (signals.phases)
    Column("phase_reason_ja", Text, nullable=True),
    Column("phase_reason_en", Text, nullable=True),
    Column("priority", Float, nullable=True),
    Column("priority_rank", Integer, nullable=True),
    Column("lead_institution_id", String(64), ForeignKey("institutions.id"), nullable=True),
    Column("within_capacity", Boolean, nullable=True),
    # The institution whose monthly review budget (月間審査枠) the nightly flags opened the case
    # against: its lead institution that night, kept when the lead changes later, so a month's
    # opened cases are counted against the budget they used. NULL: not opened by the budget
    # (a council's manual referral, or a case opened before budgets existed without a lead).
    Column("budget_institution_id", String(64), nullable=True),
    Column("first_sign_on", Date, nullable=True),
    # The business's first deterioration event (条件変更, 延滞90日以上, 代位弁済, 破綻・法的整理,
    # 格下げ) as the nights' evidence reported it: the earliest date any night while the case
    # was open knew of (a late report moves it earlier), NULL when none had occurred.
    # `events_as_of`: the latest night whose evidence said (NULL: no night did, as for cases
    # opened before the evidence carried events, which the early share leaves out).
    Column("first_event_on", Date, nullable=True),
    Column("events_as_of", Date, nullable=True),
    Column("flagged_on", Date, nullable=True),  # as_of of the night that opened the case
    Column("last_as_of", Date, nullable=True),  # as_of of the latest evidence
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Snooze and closing.
    Column("snooze_until", Date, nullable=True),
    Column("snooze_reason", Text, nullable=True),
    Column("closed_on", Date, nullable=True),  # dismissed / accepted / declined on
    Column("close_reason", Text, nullable=True),
    # Consent (本人同意) and referral.
    Column("consent_on", Date, nullable=True),
    Column("consent_note", Text, nullable=True),
    Column("consent_recorded_by", Integer, ForeignKey("users.id"), nullable=True),
    # The consent on record (schema v9): how it was obtained (written | electronic), from whom
    # (the representative's name and title as typed), the consent document's reference, and
    # which categories of information the council may read (signals/queue/consent.py). A
    # referral needs all of them; a withdrawal sets consent_withdrawn_on and hides the case
    # from the council.
    Column("consent_method", String(16), nullable=True),
    Column("consent_from", Text, nullable=True),
    Column("consent_document_ref", Text, nullable=True),
    Column("consent_shared", JSON, nullable=True),
    Column("consent_withdrawn_on", Date, nullable=True),
    # The business's prefecture (JIS X 0401) as of the latest night, from the evidence document.
    Column("prefecture_code", Integer, nullable=True),
    # The prefecture's council a referral went to (council_NN), and why it was routed by the
    # lead institution's prefecture rather than the business's (NULL: by the business's).
    Column("council_id", String(64), nullable=True),
    Column("council_notice", Text, nullable=True),
    Column("route", String(16), nullable=True),
    Column("referred_on", Date, nullable=True),
    Column("referred_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("referring_institution_id", String(64), ForeignKey("institutions.id"), nullable=True),
    Column("referral_phase", String(32), nullable=True),  # the phase at referral, for KPIs
    Column("decided_by", Integer, ForeignKey("users.id"), nullable=True),
    CheckConstraint(f"state IN ({_in(State)})", name="ck_cases_state"),
    CheckConstraint(f"route IS NULL OR route IN ({_in(Route)})", name="ck_cases_route"),
    CheckConstraint("version >= 1", name="ck_cases_version"),
    CheckConstraint(f"owner IN ({_in(OWNERS)})", name="ck_cases_owner"),
)
# One open case per business and owner: a partial unique index, rendered for both backends.
_open = cases.c.state.in_(sorted(s.value for s in OPEN_STATES))
Index("uq_cases_open_business", cases.c.business_key, cases.c.owner, unique=True,
      sqlite_where=_open, postgresql_where=_open)
Index("ix_cases_business_key", cases.c.business_key)
Index("ix_cases_state", cases.c.state)
Index("ix_cases_budget", cases.c.budget_institution_id, cases.c.flagged_on)
Index("ix_cases_council", cases.c.council_id, cases.c.state)

case_institutions = Table(
    "case_institutions", metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True),
    Column("institution_id", String(64), ForeignKey("institutions.id"), primary_key=True),
    Column("local_id", String(128), primary_key=True),
    Column("added_on", Date, nullable=False),  # as_of that brought it in
)
Index("ix_case_institutions_institution", case_institutions.c.institution_id, case_institutions.c.case_id)

evidence_snapshots = Table(
    "evidence_snapshots", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("taken_at", DateTime(timezone=True), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("critical_signs", JSON, nullable=False),
    Column("probability", Float, nullable=True),
    Column("band", String(32), nullable=True),
    Column("phase", String(32), nullable=True),
    Column("evidence", Text, nullable=False),  # the flags' JSON, stored verbatim
    CheckConstraint("kind IN ('initial', 'update')", name="ck_evidence_kind"),
    UniqueConstraint("case_id", "as_of", name="uq_evidence_case_as_of"),
)
Index("ix_evidence_snapshots_taken_at", evidence_snapshots.c.taken_at)

transitions = Table(
    "transitions", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_user_id", Integer, ForeignKey("users.id"), nullable=True),  # NULL: nightly job
    Column("actor", String(128), nullable=False),  # username, or "system"
    Column("actor_role", String(32), nullable=True),
    Column("from_state", String(32), nullable=True),  # NULL when the case was created
    Column("to_state", String(32), nullable=False),
    Column("note", Text, nullable=True),
    # A coded reason (e.g. a dismissal reason from a fixed list) beside the free-text note,
    # so reasons can be counted; NULL when the transition has none.
    Column("reason_code", String(40), nullable=True),
)
Index("ix_transitions_case", transitions.c.case_id, transitions.c.id)
# The inbox reads the rows written after a moment (signals/queue/notifications.py) on every page.
Index("ix_transitions_at", transitions.c.at)

# The watch list below the line: flagged businesses without an open case that the nightly
# flags ranked but did not open, because their lead institution's monthly review budget was
# used up. One row per business and as_of, `rank` 1 = next in line within the lead
# institution; replaced whole when the same as_of is applied again (not an audit table).
# Confidential like cases: only the lead institution's users see the rows (store.py).
waiting_entries = Table(
    "waiting_entries", metadata,
    Column("id", Integer, primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("business_key", String(128), nullable=False),
    Column("business_name", Text, nullable=True),  # 商号 on as_of, as on cases
    Column("lead_institution_id", String(64), ForeignKey("institutions.id"), nullable=True),
    Column("lead_local_id", String(128), nullable=True),  # the lead institution's own customer number
    Column("rank", Integer, nullable=False),  # 1 = first below the line, within the lead institution
    Column("trigger", String(16), nullable=True),
    Column("critical_signs", JSON, nullable=False),
    Column("probability", Float, nullable=True),
    Column("band", String(32), nullable=True),
    Column("phase", String(32), nullable=True),
    Column("in_event", Boolean, nullable=True),
    Column("priority", Float, nullable=True),  # the flags' priority
    Column("ranking_priority", Float, nullable=True),  # after the dismissed-case discount
    Column("dismissal_discount", Boolean, nullable=False, default=False),
    Column("first_sign_on", Date, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("as_of", "business_key", name="uq_waiting_as_of_business"),
)
Index("ix_waiting_lead", waiting_entries.c.lead_institution_id, waiting_entries.c.as_of, waiting_entries.c.rank)

# Each lead institution's monthly review budget (月間審査枠) as the nightly flags computed it
# for an as_of: the businesses it monitors and the new cases it can open that month. Replaced
# when the same as_of is applied again; the worklist reads the latest.
review_budgets = Table(
    "review_budgets", metadata,
    Column("as_of", Date, primary_key=True),
    Column("institution_id", String(64), ForeignKey("institutions.id"), primary_key=True),
    Column("monitored", Integer, nullable=False),
    Column("budget", Integer, nullable=False),
    CheckConstraint("budget >= 0 AND monitored >= 0", name="ck_review_budgets_counts"),
)

# Web sessions, server-side: the cookie carries a random token, the table its SHA-256 (a copy
# of the table logs nobody in). A session is valid while not revoked and not expired; logout
# revokes it, disabling a user (or changing their password) revokes all of theirs.
sessions = Table(
    "sessions", metadata,
    Column("id", String(64), primary_key=True),  # sha256 hex of the cookie's token
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_reason", String(32), nullable=True),  # logout | disabled | password_changed
)
Index("ix_sessions_user", sessions.c.user_id)

# The account audit log, a sibling of `transitions` and append-only like it: logins (success,
# failure, throttled), logouts, users created or disabled, role and password changes. Who acted
# (`actor_*`: the administrator; for a login the username as typed), on whom (`subject_*`),
# from which client address, and a short detail. No password or token is ever written here.
ACCOUNT_EVENTS = ("login_succeeded", "login_failed", "login_throttled", "logout", "user_created", "user_disabled",
                  "role_changed", "password_changed")
account_events = Table(
    "account_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("event", String(32), nullable=False),
    Column("actor_user_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("actor", String(128), nullable=False),
    Column("actor_role", String(32), nullable=True),
    Column("subject_user_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("subject", String(128), nullable=True),
    Column("address", String(64), nullable=True),
    Column("detail", Text, nullable=True),
    CheckConstraint(f"event IN ({_in(ACCOUNT_EVENTS)})", name="ck_account_events_event"),
)
Index("ix_account_events_at", account_events.c.id)
Index("ix_account_events_event_at", account_events.c.event, account_events.c.at)

# The inbox's read state (signals/queue/notifications.py). An item is the user's new work,
# computed from the queue's own rows (a case opened, a snooze ended, a referral received, an
# account waiting); what is stored here is only what the user has read: every item up to
# `read_through` ("mark all as read"), and single items after it, by kind and the id of the row
# the item comes from.
notification_state = Table(
    "notification_state", metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("read_through", DateTime(timezone=True), nullable=False),
)
notification_reads = Table(
    "notification_reads", metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("ref_id", Integer, primary_key=True),
    Column("read_at", DateTime(timezone=True), nullable=False),
)

# The daily digests sent by e-mail (signals/queue/digest.py): one row per user and attempt,
# `empty` when there was nothing new to send. A user's next digest covers what came after the
# `through` of their latest `sent` or `empty` row, so a failed attempt loses nothing (it is
# retried at the next run) and a second run the same day finds the day's `sent` row and sends
# nothing.
digest_runs = Table(
    "digest_runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("day", Date, nullable=False),  # the day in Japan the digest is for
    Column("since", DateTime(timezone=True), nullable=True),
    Column("through", DateTime(timezone=True), nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("address", String(254), nullable=False),
    Column("error", Text, nullable=True),
    CheckConstraint("status IN ('sent', 'empty', 'failed')", name="ck_digest_runs_status"),
)
Index("ix_digest_runs_user", digest_runs.c.user_id, digest_runs.c.day)

# What a council is told of a referral withdrawn (the owner withdrew consent): that the
# referral of that case number, referred on that day, was withdrawn on that day, nothing
# more. Append-only like the audit logs; the withdrawal's audit row is in `transitions`.
consent_withdrawals = Table(
    "consent_withdrawals", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("council_id", String(64), nullable=False),
    Column("referred_on", Date, nullable=True),
    Column("withdrawn_on", Date, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_by", Integer, ForeignKey("users.id"), nullable=False),
)
Index("ix_consent_withdrawals_council", consent_withdrawals.c.council_id, consent_withdrawals.c.id)

# What the lead institution of a case asked another lender of the business to send (資料依頼):
# the latest trial balance, the cash-flow plan, ... (signals/queue/documents.py). One row per
# document asked of one institution; its changes (received, waived) are audited in
# `transitions` like a case's moves. Read in the scope of the case (scope._scope).
document_requests = Table(
    "document_requests", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("institution_id", String(64), ForeignKey("institutions.id"), nullable=False),  # asked
    Column("document", String(32), nullable=False),  # documents.DOCUMENTS
    Column("note", Text, nullable=True),  # what exactly, as the requester typed it
    Column("due_on", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("requesting_institution_id", String(64), ForeignKey("institutions.id"), nullable=False),
    Column("requested_on", Date, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    # received: the day the asked institution sent it, and what it sent (a file name or a
    # document number: the document itself travels by the institutions' own channels)
    Column("received_on", Date, nullable=True),
    Column("received_ref", Text, nullable=True),
    Column("received_by", Integer, ForeignKey("users.id"), nullable=True),
    # waived: the lead no longer needs it, and why
    Column("waived_on", Date, nullable=True),
    Column("waived_by", Integer, ForeignKey("users.id"), nullable=True),
    Column("waive_reason", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("status IN ('requested', 'received', 'waived')", name="ck_document_requests_status"),
)
Index("ix_document_requests_case", document_requests.c.case_id, document_requests.c.id)
Index("ix_document_requests_asked", document_requests.c.institution_id, document_requests.c.status,
      document_requests.c.due_on)

# What the council did after accepting a referral: one row per stage its support reached
# (signals/queue/stages.py), recorded by the case's council intake only. Append-only: a
# correction is a new row. `note` is the council's own and is never selected for the
# referring institutions (stages.institution_timeline).
support_stages = Table(
    "support_stages", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("council_id", String(64), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("stage_on", Date, nullable=False),
    Column("measures", JSON, nullable=False, default=list),
    Column("note", Text, nullable=True),
    Column("recorded_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    CheckConstraint(f"stage IN ({_in(Stage)})", name="ck_support_stages_stage"),
)
Index("ix_support_stages_case", support_stages.c.case_id, support_stages.c.id)
Index("ix_support_stages_council", support_stages.c.council_id, support_stages.c.stage)

APPEND_ONLY = ("evidence_snapshots", "transitions", "account_events", "consent_withdrawals", "support_stages")


def _append_only_ddl(conn: Connection, tables: tuple[str, ...] = APPEND_ONLY) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text(
            "CREATE OR REPLACE FUNCTION yocho_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION USING ERRCODE = 'restrict_violation', "
            "MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused'; END $$"
        ))
        for table in tables:
            conn.execute(text(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION yocho_append_only()"
            ))
            conn.execute(text(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION yocho_append_only()"
            ))
    elif conn.dialect.name == "sqlite":
        for table in tables:
            for op in ("UPDATE", "DELETE"):
                conn.execute(text(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"
                ))


def _create(conn: Connection) -> None:
    metadata.create_all(conn)
    _append_only_ddl(conn)


def _v2_case_owner(conn: Connection) -> None:
    """cases.owner: a council's manual referral is its own record, never merged with the
    institutions' case of the same business; one open case per business *and owner*."""
    conn.execute(text("ALTER TABLE cases ADD COLUMN owner VARCHAR(16) DEFAULT 'institutions' NOT NULL"))
    manual = _in(r.value for r in Route if r in (Route.PROFESSIONAL, Route.OTHER))
    conn.execute(text(f"UPDATE cases SET owner = 'council' WHERE route IN ({manual})"))
    conn.execute(text("DROP INDEX uq_cases_open_business"))
    conn.execute(text(
        "CREATE UNIQUE INDEX uq_cases_open_business ON cases (business_key, owner) "
        f"WHERE state IN ({_in(s.value for s in OPEN_STATES)})"))


def _v3_sessions(conn: Connection) -> None:
    """Server-side web sessions, revocable (logout, disabled user)."""
    metadata.create_all(conn, tables=[sessions])


def _v4_account_events(conn: Connection) -> None:
    """The account audit log (logins, users created or disabled, role changes), append-only."""
    metadata.create_all(conn, tables=[account_events])
    _append_only_ddl(conn, ("account_events",))


def _v5_budget(conn: Connection) -> None:
    """The monthly review budget: waiting_entries (the ranked watch list below the line),
    cases.budget_institution_id, and transitions.reason_code (coded reasons). Cases opened
    before take their lead institution as the budget they were opened against, so re-running
    a month already loaded opens nothing beyond the budget."""
    metadata.create_all(conn, tables=[waiting_entries, review_budgets])
    conn.execute(text("ALTER TABLE cases ADD COLUMN budget_institution_id VARCHAR(64)"))
    conn.execute(text("CREATE INDEX ix_cases_budget ON cases (budget_institution_id, flagged_on)"))
    conn.execute(text(f"UPDATE cases SET budget_institution_id = lead_institution_id "
                      f"WHERE owner = '{OWNER_INSTITUTIONS}' AND flagged_on IS NOT NULL"))
    conn.execute(text("ALTER TABLE transitions ADD COLUMN reason_code VARCHAR(40)"))


def _v6_business_names(conn: Connection) -> None:
    """cases.business_name and waiting_entries.business_name: the trade name (商号) the
    nightly flags bring in their evidence. Rows already stored stay NULL until a night names
    them (snapshots taken before the evidence carried the name have none to copy)."""
    conn.execute(text("ALTER TABLE cases ADD COLUMN business_name TEXT"))
    # Version 5's step creates waiting_entries from the current metadata, so a database older
    # than version 5 already has the column by now.
    if "business_name" not in {c["name"] for c in inspect(conn).get_columns("waiting_entries")}:
        conn.execute(text("ALTER TABLE waiting_entries ADD COLUMN business_name TEXT"))


def _v7_first_event(conn: Connection) -> None:
    """cases.first_event_on and cases.events_as_of: the first deterioration event the nights'
    evidence reported, for the share of cases opened before any (signals/queue/kpis.py).
    Cases already stored learn it from the next night that updates them."""
    conn.execute(text("ALTER TABLE cases ADD COLUMN first_event_on DATE"))
    conn.execute(text("ALTER TABLE cases ADD COLUMN events_as_of DATE"))


def _v8_must_change_password(conn: Connection) -> None:
    """users.must_change_password: a password set by someone other than its user must be
    changed at the next login. Accounts whose latest password change was the operator's reset
    (`yocho users reset-password`, from before this version) get the flag: nobody but the
    operator has chosen that password yet. Every other account keeps its password as it is."""
    if "must_change_password" not in {c["name"] for c in inspect(conn).get_columns("users")}:
        conn.execute(text("ALTER TABLE users ADD COLUMN must_change_password BOOLEAN DEFAULT FALSE NOT NULL"))
    latest = ("SELECT max(id) FROM account_events WHERE event = 'password_changed' "
              "AND subject_user_id IS NOT NULL GROUP BY subject_user_id")
    conn.execute(text(
        "UPDATE users SET must_change_password = TRUE WHERE id IN ("
        f"SELECT subject_user_id FROM account_events WHERE id IN ({latest}) "
        "AND detail LIKE 'reset by the operator%')"))


def _v9_notifications(conn: Connection) -> None:
    """users.email, the inbox's read state and the digest log (new tables), and indexes on the
    times of the audit rows and snapshots the inbox reads. Existing accounts have no e-mail
    address until an administrator or the operator sets one, and their inbox starts unread."""
    if "email" not in {c["name"] for c in inspect(conn).get_columns("users")}:
        conn.execute(text("ALTER TABLE users ADD COLUMN email VARCHAR(254)"))
    metadata.create_all(conn, tables=[notification_state, notification_reads, digest_runs])
    # what the inbox reads on every page: the rows written after a moment
    existing = {i["name"] for t in ("transitions", "evidence_snapshots", "account_events")
                for i in inspect(conn).get_indexes(t)}
    for name, table, columns in (("ix_transitions_at", "transitions", "at"),
                                 ("ix_evidence_snapshots_taken_at", "evidence_snapshots", "taken_at"),
                                 ("ix_account_events_event_at", "account_events", "event, at")):
        if name not in existing:
            conn.execute(text(f"CREATE INDEX {name} ON {table} ({columns})"))


def _v10_councils_and_consent(conn: Connection) -> None:
    """One council per prefecture and the consent on record: institutions.prefecture_code;
    cases.prefecture_code, council_id, council_notice and the consent record's columns; the
    append-only consent_withdrawals.

    Existing rows: referrals already made stay with the one national council they were made
    to (`council`, kept registered), sharing every category (the council read everything the
    referring institution could before categories existed). A case in consent_obtained has no
    record of how and from whom consent was obtained, and a referral now needs one: it goes
    back to under_review, with an audit row saying why, for the reviewer to record it."""
    # Each addition only where missing: earlier steps create some tables from the current
    # metadata (as v6 and v8 guard theirs).
    found = inspect(conn)
    if "prefecture_code" not in {c["name"] for c in found.get_columns("institutions")}:
        conn.execute(text("ALTER TABLE institutions ADD COLUMN prefecture_code INTEGER"))
    have = {c["name"] for c in found.get_columns("cases")}
    for column, kind in (("consent_method", "VARCHAR(16)"), ("consent_from", "TEXT"),
                         ("consent_document_ref", "TEXT"), ("consent_shared", "JSON"),
                         ("consent_withdrawn_on", "DATE"), ("prefecture_code", "INTEGER"),
                         ("council_id", "VARCHAR(64)"), ("council_notice", "TEXT")):
        if column not in have:
            conn.execute(text(f"ALTER TABLE cases ADD COLUMN {column} {kind}"))
    if "ix_cases_council" not in {i["name"] for i in found.get_indexes("cases")}:
        conn.execute(text("CREATE INDEX ix_cases_council ON cases (council_id, state)"))
    if not found.has_table("consent_withdrawals"):
        metadata.create_all(conn, tables=[consent_withdrawals])
        _append_only_ddl(conn, ("consent_withdrawals",))
    referred = _in(s.value for s in (State.REFERRED, State.ACCEPTED, State.DECLINED))
    if conn.execute(text(f"SELECT count(*) FROM cases WHERE state IN ({referred})")).scalar_one():
        if conn.execute(text("SELECT count(*) FROM institutions WHERE id = 'council'")).scalar_one() == 0:
            conn.execute(text("INSERT INTO institutions (id, kind, name) VALUES ('council', 'council', "
                              "'中小企業活性化協議会')"))
        every = json.dumps(list(CONSENT_CATEGORIES))
        conn.execute(text(f"UPDATE cases SET council_id = 'council', consent_shared = :every "
                          f"WHERE state IN ({referred}) AND consent_on IS NOT NULL"), {"every": every})
    waiting = State.CONSENT_OBTAINED.value
    conn.execute(text(
        "INSERT INTO transitions (case_id, at, actor_user_id, actor, actor_role, from_state, to_state, note) "
        f"SELECT id, CURRENT_TIMESTAMP, NULL, 'system', NULL, '{waiting}', '{State.UNDER_REVIEW.value}', "
        "'同意の記録（取得方法・相手・共有範囲・文書番号）がないため検討中に戻しました "
        "(consent needs recording in full before a referral)' "
        f"FROM cases WHERE state = '{waiting}'"))
    conn.execute(text(f"UPDATE cases SET state = '{State.UNDER_REVIEW.value}', version = version + 1, "
                      f"consent_on = NULL WHERE state = '{waiting}'"))


def _v11_document_requests(conn: Connection) -> None:
    """document_requests: the documents a case's lead institution asked the business's other
    lenders to send. A new table: every existing row stays as it was."""
    if not inspect(conn).has_table("document_requests"):
        metadata.create_all(conn, tables=[document_requests])


def _v12_support_stages(conn: Connection) -> None:
    """support_stages: the council's append-only stage log of each accepted referral (窓口相談
    ... 金融機関調整成立, 支援完了 / 中止). Existing referrals start with an empty log."""
    if not inspect(conn).has_table("support_stages"):
        metadata.create_all(conn, tables=[support_stages])
        _append_only_ddl(conn, ("support_stages",))


SCHEMA_VERSION = 12
# Upgrades of an existing database: version -> (description, step), for versions 2 and up.
# A fresh database is created from the current metadata and stamped SCHEMA_VERSION directly.
MIGRATIONS: dict[int, tuple[str, Callable[[Connection], None]]] = {
    2: ("cases.owner (institutions | council); one open case per business and owner", _v2_case_owner),
    3: ("sessions: server-side web sessions, revoked at logout and when a user is disabled", _v3_sessions),
    4: ("account_events: append-only audit of logins, logouts, users created or disabled, role changes",
        _v4_account_events),
    5: ("waiting_entries (the watch list below the monthly review budget), review_budgets, "
        "cases.budget_institution_id, "
        "transitions.reason_code", _v5_budget),
    6: ("cases.business_name and waiting_entries.business_name (商号)", _v6_business_names),
    7: ("cases.first_event_on and cases.events_as_of (the first deterioration event reported)", _v7_first_event),
    8: ("users.must_change_password (a password set by an administrator or the operator is changed at the next "
        "login)", _v8_must_change_password),
    9: ("users.email; notification_state and notification_reads (the inbox's read state); digest_runs (the "
        "daily e-mail digests sent or failed)", _v9_notifications),
    10: ("one council per prefecture (cases.council_id, institutions.prefecture_code) and the consent on record "
         "(method, from whom, document, shared categories, withdrawal; consent_withdrawals)", _v10_councils_and_consent),
    11: ("document_requests: documents a case's lead institution asks the other lenders to send (資料依頼)",
         _v11_document_requests),
    12: ("support_stages: the council's append-only log of the support that followed an accepted referral",
         _v12_support_stages),
}
_DESCRIPTION = ("institutions, users (with must_change_password and email), cases (with owner and business name), "
                "case_institutions, evidence_snapshots, transitions, sessions, account_events, waiting_entries, "
                "review_budgets, notification_state, notification_reads, digest_runs, consent_withdrawals, document_requests, support_stages; "
                "append-only triggers")


class SchemaTooNew(RuntimeError):
    pass


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(select(schema_version.c.version).order_by(schema_version.c.version.desc())
                        .limit(1)).scalar_one_or_none() or 0


def migrate(engine: Engine) -> int:
    """Create or upgrade the schema to SCHEMA_VERSION in one transaction; returns the version.
    Safe to call at every start, also from several processes at once on PostgreSQL (an
    advisory lock serialises them)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7301735)"))
        version = current_version(conn)
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"queue database is at schema version {version}; this code knows {SCHEMA_VERSION}")
        now = datetime.now(UTC)
        if version == 0:
            _create(conn)
            conn.execute(insert(schema_version).values(
                version=SCHEMA_VERSION, applied_at=now, description=_DESCRIPTION))
            return SCHEMA_VERSION
        for number in range(version + 1, SCHEMA_VERSION + 1):
            description, step = MIGRATIONS[number]
            step(conn)
            conn.execute(insert(schema_version).values(version=number, applied_at=now, description=description))
    return SCHEMA_VERSION
