"""Labels look forward from each as-of date; worked out by hand on a tiny warehouse."""
from __future__ import annotations

from datetime import date

import pytest

from features.catalog import Family
from features.store import store
from models.labels import labels
from tests.features.tiny import Tiny

A, B = "7000012050002", "4000012090001"
DATES = (date(2024, 6, 30), date(2024, 12, 31), date(2025, 6, 30), date(2025, 9, 30))


def _account(cn: str, local_id: str) -> dict:
    return dict(local_id=local_id, corporate_number=cn, month=date(2024, 5, 1), inflow_jpy=1, outflow_jpy=1,
                month_end_balance_jpy=1, average_balance_jpy=1, failed_debits=0, received_on=date(2024, 6, 15))


@pytest.fixture
def tiny() -> Tiny:
    tiny = Tiny().add("accounts", "bank_0116", _account(A, "A1"), _account(B, "B1"))
    # A restructures on 2025-08-15 (reported by the bank two weeks later), then 90+ days past due.
    tiny.add("events", "bank_0116",
             dict(event_id="E1", local_id="A1", corporate_number=A, event_type="restructuring",
                  occurred_on=date(2025, 8, 15), received_on=date(2025, 8, 29)),
             dict(event_id="E2", local_id="A1", corporate_number=A, event_type="dpd90",
                  occurred_on=date(2026, 1, 20), received_on=date(2026, 2, 3)))
    tiny.run(*DATES, family=Family.GUARANTEE)
    store(tiny.con)
    return tiny


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
