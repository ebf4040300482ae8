"""The trade name (商号) of a flagged business: brought in by the nightly flags from their
evidence document, kept on the case and on the waiting list, shown only within the reader's
scope, searchable, and added to an existing database by schema version 6 (both backends)."""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select, text, update

from signals.queue import QueueStore
from signals.queue.schema import SCHEMA_VERSION, cases, schema_version, waiting_entries
from signals.queue.store import CaseQuery
from signals.queue.watchlist import waiting_page
from tests.signals.queue.conftest import AS_OF, BANK_A, BANK_B, FAST_SCRYPT, flag_row, flags_frame

NEXT = date(2026, 11, 30)


def named(key: str, name: str | None, **overrides) -> dict:
    """A flags row whose evidence document names the business (as signals/sql/evidence.sql does)."""
    row = flag_row(key, **overrides)
    document = json.loads(row["evidence"])
    document["business_name"] = name
    row["evidence"] = json.dumps(document, ensure_ascii=False)
    return row


def test_cases_carry_the_name_of_the_latest_night_within_scope(store, people):
    store.apply_flags(flags_frame(named("7000012050002", "株式会社北陸精機"),
                                  named("4000012090001", "みずなみ食品株式会社", institutions=[(BANK_B, "B-1")]),
                                  named("5100012050002", None)), AS_OF, 6)
    mine = {c.business_key: c.business_name for c in store.all_cases(people.bank_a)}
    assert mine == {"7000012050002": "株式会社北陸精機", "5100012050002": None}  # not bank B's business
    theirs = {c.business_key: c.business_name for c in store.all_cases(people.bank_b)}
    assert theirs == {"4000012090001": "みずなみ食品株式会社"}
    case_id = next(c.id for c in store.all_cases(people.bank_a) if c.business_key == "7000012050002")
    assert store.get_case(people.bank_a, case_id).business_name == "株式会社北陸精機"
    # a later night's master renamed it: the case shows the name of its latest date
    store.apply_flags(flags_frame(named("7000012050002", "株式会社ホクリク精機", as_of=NEXT)), NEXT, 6)
    assert store.get_case(people.bank_a, case_id).business_name == "株式会社ホクリク精機"
    # found by part of its name, within the reader's scope only
    found = store.all_cases(people.bank_a, CaseQuery(search="ホクリク"))
    assert [c.business_key for c in found] == ["7000012050002"]
    assert store.all_cases(people.bank_b, CaseQuery(search="ホクリク")) == []
    assert store.all_cases(people.bank_a, CaseQuery(search="みずなみ")) == []


def test_waiting_entries_carry_the_name(store, people):
    rows = [named(key, f"待機商事{n}株式会社", monthly_budget=1, priority=1 - n / 10)
            for n, key in enumerate(("7000012050002", "4000012090001", "5100012050002"))]
    store.apply_flags(flags_frame(*rows), AS_OF, 6)
    page = waiting_page(store, people.bank_a)
    assert [(e.rank, e.business_name) for e in page.items] == [(1, "待機商事1株式会社"), (2, "待機商事2株式会社")]
    assert [c.business_name for c in store.all_cases(people.bank_a)] == ["待機商事0株式会社"]


def test_a_version_5_database_gets_the_name_columns(queue_url, clock):
    """Schema v6 on a database as version 5 left it: the columns are added, the cases already
    stored keep no name until a night names them."""
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as store:
        store.apply_flags(flags_frame(flag_row("7000012050002")), AS_OF, 6)
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE cases DROP COLUMN business_name"))
            conn.execute(text("ALTER TABLE waiting_entries DROP COLUMN business_name"))
            conn.execute(text("ALTER TABLE cases DROP COLUMN first_event_on"))  # and what version 7 added
            conn.execute(text("ALTER TABLE cases DROP COLUMN events_as_of"))
            conn.execute(update(schema_version).values(version=5))
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as store:
        with store.engine.connect() as conn:
            assert conn.execute(select(schema_version.c.version).order_by(schema_version.c.version)
                                ).scalars().all() == list(range(5, SCHEMA_VERSION + 1))
            assert conn.execute(select(cases.c.business_key, cases.c.business_name)).tuples().all() == [
                ("7000012050002", None)]
            assert conn.execute(select(waiting_entries.c.business_name)).all() == []
        store.apply_flags(flags_frame(named("7000012050002", "株式会社北陸精機", as_of=NEXT)), NEXT, 6)
        with store.engine.connect() as conn:
            assert conn.execute(select(cases.c.business_name)).scalars().all() == ["株式会社北陸精機"]


def test_no_reader_outside_the_scope_sees_a_name(store, people):
    store.apply_flags(flags_frame(named("7000012050002", "株式会社北陸精機", institutions=[(BANK_A, "A-1")])),
                      AS_OF, 6)
    for reader in (people.bank_b, people.cga, people.council):
        assert all(c.business_name != "株式会社北陸精機" for c in store.all_cases(reader))
