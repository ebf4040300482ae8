"""Schema creation, versioning, and what the database itself refuses."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from signals.queue import QueueStore
from signals.queue.schema import SCHEMA_VERSION, SchemaTooNew, cases, evidence_snapshots, schema_version, transitions
from tests.signals.queue.conftest import assert_append_only
from yocho.settings import Settings


def test_schema_is_created_versioned_and_reopened(store, queue_url, clock, make_flags):
    with store.engine.connect() as conn:
        versions = conn.execute(select(schema_version.c.version)).scalars().all()
    assert versions == [SCHEMA_VERSION]
    store.apply_flags(make_flags("7000012050002"), make_flags.as_of, 6)
    # A second process opening the same database migrates nothing and sees the data.
    with QueueStore(queue_url, clock=clock) as again, again.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema_version)).scalar_one() == 1
        assert conn.execute(select(cases.c.business_key)).scalars().all() == ["7000012050002"]


def test_a_database_newer_than_the_code_is_refused(store, queue_url):
    with store.engine.begin() as conn:
        conn.execute(insert(schema_version).values(version=SCHEMA_VERSION + 1, description="future",
                                                   applied_at=datetime.now(UTC)))
    with pytest.raises(SchemaTooNew):
        QueueStore(queue_url)


def test_evidence_snapshots_are_immutable_in_the_database(store, make_flags):
    store.apply_flags(make_flags("7000012050002"), make_flags.as_of, 6)
    with store.engine.connect() as conn:
        before = conn.execute(select(evidence_snapshots)).all()
    assert len(before) == 1
    assert_append_only(store, evidence_snapshots, update(evidence_snapshots).values(evidence="{}"),
                       update(evidence_snapshots).values(kind="update"), delete(evidence_snapshots))


def test_the_audit_log_is_append_only_in_the_database(store, make_flags):
    store.apply_flags(make_flags("7000012050002"), make_flags.as_of, 6)
    for statement in (update(transitions).values(note="rewritten"), delete(transitions)):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(statement)
    with store.engine.connect() as conn:
        assert conn.execute(select(transitions.c.note)).scalars().all() == ["flagged as of 2026-10-31 (score)"]


def test_one_open_case_per_business_is_enforced_by_the_database(store, make_flags):
    store.apply_flags(make_flags("7000012050002"), make_flags.as_of, 6)
    now = datetime.now(UTC)
    row = dict(business_key="7000012050002", version=1, critical_signs=[], created_at=now, updated_at=now)
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(cases).values(state="under_review", **row))
    with store.engine.begin() as conn:  # closed cases of the same business are history, not duplicates
        conn.execute(insert(cases).values(state="dismissed", **row))
        conn.execute(insert(cases).values(state="declined", **row))
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(cases).values(state="no_such_state", **row))


def test_the_default_store_is_the_sqlite_file_in_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    with QueueStore.from_settings(settings) as queue:
        assert queue.backend == "sqlite"
    assert (tmp_path / "data" / "queue.sqlite").exists()


def test_a_version_1_database_is_upgraded_to_council_owned_manual_referrals(queue_url, clock):
    """Schema v2 (cases.owner): an existing manual referral becomes the council's own case,
    and the nightly flags then open the banks' case of the same business beside it."""
    from sqlalchemy import CheckConstraint, Index, MetaData, Table, create_engine

    from signals.queue import schema
    from tests.signals.queue.conftest import flag_row, flags_frame

    old = MetaData()
    version_1 = {"schema_version", "institutions", "users", "cases", "case_institutions", "evidence_snapshots",
                 "transitions"}
    for table in schema.metadata.sorted_tables:
        if table.name not in version_1:
            continue
        if table.name == "transitions":  # reason_code came with version 5
            Table("transitions", old, *[c._copy() for c in table.columns if c.name != "reason_code"])
            continue
        if table.name != "cases":
            table.to_metadata(old)
            continue
        columns = [c._copy() for c in table.columns
                   if c.name not in ("owner", "budget_institution_id", "business_name", "first_event_on",
                                     "events_as_of")]
        checks = [CheckConstraint(c.sqltext, name=c.name) for c in table.constraints
                  if isinstance(c, CheckConstraint) and c.name != "ck_cases_owner"]
        v1 = Table("cases", old, *columns, *checks)
        where = v1.c.state.in_(sorted(s.value for s in schema.OPEN_STATES))
        Index("uq_cases_open_business", v1.c.business_key, unique=True, sqlite_where=where, postgresql_where=where)
    engine = create_engine(queue_url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        old.create_all(conn)
        conn.execute(insert(schema_version).values(version=1, applied_at=now, description="v1"))
        conn.execute(insert(old.tables["cases"]).values(
            business_key="7000012050002", state="referred", version=1, critical_signs=[], route="other",
            consent_on=now.date(), referred_on=now.date(), created_at=now, updated_at=now))
    engine.dispose()
    with QueueStore(queue_url, clock=clock) as store:
        with store.engine.connect() as conn:
            assert conn.execute(select(schema_version.c.version).order_by(schema_version.c.version)
                                ).scalars().all() == list(range(1, SCHEMA_VERSION + 1))
            assert conn.execute(select(cases.c.owner)).scalars().all() == ["council"]
        store.apply_flags(flags_frame(flag_row("7000012050002")), flag_row("x")["as_of"], 6)
        with store.engine.connect() as conn:
            assert sorted(conn.execute(select(cases.c.owner, cases.c.state)).tuples().all()) == [
                ("council", "referred"), ("institutions", "new")]


def test_a_version_4_database_is_upgraded_to_review_budgets_and_reason_codes(queue_url, clock):
    """Schema v5: waiting_entries (the watch list below the budget), cases.budget_institution_id
    (cases already opened count against their lead institution's budget) and
    transitions.reason_code (coded reasons), on a database that has cases and audit rows."""
    from sqlalchemy import CheckConstraint, Index, MetaData, Table, create_engine, inspect

    from signals.queue import schema

    old = MetaData()
    for table in schema.metadata.sorted_tables:
        if table.name in ("waiting_entries", "review_budgets"):
            continue
        drop = {"cases": ("budget_institution_id", "business_name", "first_event_on", "events_as_of"),
                "transitions": ("reason_code",)}.get(table.name)
        if drop is None:
            table.to_metadata(old)
            continue
        v4 = Table(table.name, old, *[c._copy() for c in table.columns if c.name not in drop],
                   *[CheckConstraint(c.sqltext, name=c.name) for c in table.constraints
                     if isinstance(c, CheckConstraint)])
        for index in table.indexes:
            if not {c.name for c in index.columns} & set(drop):
                Index(index.name, *[v4.c[c.name] for c in index.columns], unique=index.unique,
                      **{k: v for k, v in index.dialect_kwargs.items() if v is not None})
    engine = create_engine(queue_url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        old.create_all(conn)
        schema._append_only_ddl(conn)
        conn.execute(insert(schema_version).values(version=4, applied_at=now, description="v4"))
        conn.execute(insert(old.tables["institutions"]).values(id="bank_0116", kind="bank", name="bank"))
        conn.execute(insert(old.tables["cases"]).values(
            id=1, business_key="7000012050002", state="new", version=1, critical_signs=[], owner="institutions",
            lead_institution_id="bank_0116", flagged_on=datetime(2026, 10, 31).date(), created_at=now,
            updated_at=now))
        conn.execute(insert(old.tables["transitions"]).values(
            case_id=1, at=now, actor="system", from_state=None, to_state="new", note="flagged"))
    engine.dispose()
    with QueueStore(queue_url, clock=clock) as store:
        with store.engine.begin() as conn:
            assert conn.execute(select(schema_version.c.version).order_by(schema_version.c.version)
                                ).scalars().all() == list(range(4, SCHEMA_VERSION + 1))
            assert inspect(conn).has_table("waiting_entries") and inspect(conn).has_table("review_budgets")
            assert "ix_cases_budget" in {i["name"] for i in inspect(conn).get_indexes("cases")}
            assert conn.execute(select(cases.c.budget_institution_id)).scalars().all() == ["bank_0116"]
            assert conn.execute(select(transitions.c.note, transitions.c.reason_code)).tuples().all() == [
                ("flagged", None)]
            conn.execute(insert(transitions).values(case_id=1, at=now, actor="reviewer", from_state="new",
                                                    to_state="dismissed", note="返済正常化", reason_code="repaid"))
            assert conn.execute(select(transitions.c.reason_code).order_by(transitions.c.id)).scalars().all() == [
                None, "repaid"]
        # still append-only after the column was added
        assert_append_only(store, transitions, update(transitions).values(reason_code="x"))
