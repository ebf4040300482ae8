"""A tiny scanned warehouse with outcome events, shared by the model tests."""
from __future__ import annotations

from datetime import date

import pytest

from features.catalog import Family
from features.store import store
from tests.features.tiny import Tiny

A, B = "7000012050002", "4000012090001"
DATES = (date(2024, 6, 30), date(2024, 12, 31), date(2025, 6, 30), date(2025, 9, 30))


def _account(cn: str, local_id: str, month: date = date(2024, 5, 1), received: date = date(2024, 6, 15)) -> dict:
    return dict(local_id=local_id, corporate_number=cn, month=month, inflow_jpy=1, outflow_jpy=1,
                month_end_balance_jpy=1, average_balance_jpy=1, failed_debits=0, received_on=received)


@pytest.fixture
def tiny() -> Tiny:
    tiny = Tiny().add("accounts", "bank_0116", _account(A, "A1"), _account(B, "B1"))
    # both still reported on in 2025 (features.inactive_after_months: a business with no row for
    # 15 months has left the portfolio), so both are monitored at every date
    tiny.add("accounts", "bank_0116", *(_account(cn, local, date(2025, 8, 1), date(2025, 9, 15))
                                        for cn, local in ((A, "A1"), (B, "B1"))))
    # A restructures on 2025-08-15 (reported by the bank two weeks later), then 90+ days past due.
    tiny.add("events", "bank_0116",
             dict(event_id="E1", local_id="A1", corporate_number=A, event_type="restructuring",
                  occurred_on=date(2025, 8, 15), received_on=date(2025, 8, 29)),
             dict(event_id="E2", local_id="A1", corporate_number=A, event_type="dpd90",
                  occurred_on=date(2026, 1, 20), received_on=date(2026, 2, 3)))
    tiny.run(*DATES, family=Family.GUARANTEE)
    store(tiny.con)
    return tiny



