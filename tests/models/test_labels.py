"""Labels look forward from each as-of date; worked out by hand on a tiny warehouse."""
from __future__ import annotations

from datetime import date

from features.catalog import Family
from features.store import store
from models.labels import create_labels_table, labels
from tests.features.tiny import Tiny
from tests.models.conftest import DATES, A, B, _account


def test_label_is_the_first_event_within_twelve_months(tiny: Tiny):
    got = {(r["business_key"], r["as_of"]): r for r in labels(tiny.con, until=date(2026, 12, 31)).iter_rows(named=True)}
    a = [(got[(A, d)]["label"], got[(A, d)]["event_type"], got[(A, d)]["already_in_event"]) for d in DATES]
    assert a == [
        (False, None, False),            # 2024-06-30: 2025-08-15 is 13.5 months ahead
        (True, "restructuring", False),  # 2024-12-31: within (2024-12-31, 2025-12-31]
        (True, "restructuring", False),  # 2025-06-30: within (2025-06-30, 2026-06-30]
        (True, "dpd90", True),           # 2025-09-30: already restructured; the next event still counts
    ]
    assert got[(A, DATES[1])]["event_on"] == date(2025, 8, 15)
    assert [got[(B, d)]["label"] for d in DATES] == [False] * 4
    assert all(got[(k, d)]["complete"] for k in (A, B) for d in DATES)


def test_horizon_not_yet_observed_is_incomplete(tiny: Tiny):
    got = {(r["business_key"], r["as_of"]): r["complete"]
           for r in labels(tiny.con, until=date(2026, 6, 30)).iter_rows(named=True)}
    # 2025-06-30 + 12 months = 2026-06-30 is observed; 2025-09-30 + 12 months is not
    assert [got[(A, d)] for d in DATES] == [True, True, True, False]


def test_observed_until_defaults_to_the_last_receipt(tiny: Tiny):
    got = labels(tiny.con)  # last receipt: the dpd90 report on 2026-02-03
    assert got.filter(complete=True)["as_of"].unique().sort().to_list() == [date(2024, 6, 30), date(2024, 12, 31)]


def test_until_knows_only_the_events_reported_by_then():
    """`yocho train --until`: an event that happened within the horizon but was reported
    after the date is not yet known, so the row is labelled by what was known."""
    tiny = Tiny().add("accounts", "bank_0116", _account(A, "A1"))
    tiny.add("events", "bank_0116", dict(event_id="E9", local_id="A1", corporate_number=A, event_type="dpd90",
                                         occurred_on=date(2025, 6, 1), received_on=date(2025, 9, 15)))
    tiny.run(date(2024, 6, 30), family=Family.GUARANTEE)
    store(tiny.con)
    before = labels(tiny.con, until=date(2025, 7, 31)).row(0, named=True)
    after = labels(tiny.con, until=date(2025, 9, 30)).row(0, named=True)
    assert before["complete"] and after["complete"]  # horizon 2024-06-30 .. 2025-06-30 observed either way
    assert (before["label"], before["event_on"]) == (False, None)
    assert (after["label"], after["event_on"]) == (True, date(2025, 6, 1))


def test_labels_leave_the_connections_point_in_time_tables_alone(tiny: Tiny):
    """labels reads the layer's business_identity itself: a `business_keys` a scan prepared
    (here restricted to one business, as a shard's is) is neither read nor replaced."""
    tiny.con.execute("CREATE OR REPLACE TEMP TABLE business_keys AS "
                     "SELECT institution_id, local_id, business_key FROM business_identity WHERE business_key = ?", [B])
    got = labels(tiny.con, until=date(2026, 12, 31))
    assert set(got["business_key"]) == {A, B}
    assert tiny.con.execute("SELECT list(business_key) FROM business_keys").fetchone()[0] == [B]
    create_labels_table(tiny.con, "some_labels", until=date(2026, 12, 31))
    assert tiny.con.execute("SELECT count(*) FROM some_labels").fetchone()[0] == got.height
    assert tiny.con.execute("SELECT list(business_key) FROM business_keys").fetchone()[0] == [B]
