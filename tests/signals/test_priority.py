"""Priority, ranks and the capacity cut per lead institution; the choice of lead institution."""
from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from signals.priority import IN_EVENT_WEIGHT, PHASE_WEIGHTS, lead_institutions, prioritise
from tests.signals import A, B, C, M, Book
from yocho.settings import SignalSettings


def cases(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"business_key": pl.Utf8, "lead_institution_id": pl.Utf8,
                                      "probability": pl.Float64, "phase": pl.Utf8, "in_event": pl.Boolean},
                        orient="row")


def test_capacity_is_cut_per_lead_institution():
    frame = cases(*[(f"a{i}", "bank_0116", 0.5 - i / 100, "profitability", False) for i in range(5)],
                  *[(f"b{i}", "bank_0117", 0.9 - i / 100, "profitability", False) for i in range(3)],
                  *[(f"c{i}", "cga_13", 0.2, "profitability", False) for i in range(2)])
    out = prioritise(frame, SignalSettings(monthly_capacity={"bank_0116": 2, "cga_13": 5},
                                           default_monthly_capacity=1))
    by = {r["business_key"]: r for r in out.iter_rows(named=True)}
    assert [by[f"a{i}"]["priority_rank"] for i in range(5)] == [1, 2, 3, 4, 5]
    assert [by[f"a{i}"]["within_capacity"] for i in range(5)] == [True, True, False, False, False]
    assert [by[f"b{i}"]["within_capacity"] for i in range(3)] == [True, False, False]   # the default capacity
    assert all(by[f"c{i}"]["within_capacity"] for i in range(2))
    assert [by[f"c{i}"]["priority_rank"] for i in range(2)] == [1, 2]                 # ties: business key
    assert out.schema["priority_rank"] == pl.Int64


def test_earlier_cases_come_first_at_equal_probability():
    frame = cases(("late", "bank_0116", 0.3, "rechallenge", False),
                  ("revit", "bank_0116", 0.3, "revitalisation", False),
                  ("early", "bank_0116", 0.3, "profitability", False),
                  ("mgmt", "bank_0116", 0.3, "management_improvement", False),
                  ("early_in_event", "bank_0116", 0.3, "profitability", True))
    out = prioritise(frame, SignalSettings())
    assert out.sort("priority_rank")["business_key"].to_list() == ["early", "mgmt", "revit", "early_in_event", "late"]
    by = {r["business_key"]: r["priority"] for r in out.iter_rows(named=True)}
    assert by["early"] == pytest.approx(0.3)
    assert by["revit"] == pytest.approx(0.3 * PHASE_WEIGHTS["revitalisation"])
    assert by["early_in_event"] == pytest.approx(0.3 * IN_EVENT_WEIGHT)


def test_a_much_riskier_late_case_still_comes_first():
    out = prioritise(cases(("early", "bank_0116", 0.12, "profitability", False),
                           ("late", "bank_0116", 0.60, "revitalisation", True)), SignalSettings())
    assert out.sort("priority_rank")["business_key"].to_list() == ["late", "early"]


def test_lead_institution_is_the_largest_exposure_then_the_guarantor_then_a_bank():
    known = pl.DataFrame([
        # A: the bank lends more than the association guarantees
        (A, "bank_0116", 10e6, False, True), (A, "bank_0117", 2e6, False, True), (A, "cga_13", 8e6, True, False),
        # B: no current exposure anywhere; the association guarantees it
        (B, "bank_0116", None, False, True), (B, "cga_13", None, True, False),
        # C: no exposure and no guarantee: the first bank
        (C, "cga_13", None, False, False), (C, "bank_0119", 0.0, False, True), (C, "bank_0117", None, False, True),
        # D: equal exposure: the guarantor
        ("D", "bank_0116", 5e6, False, True), ("D", "cga_13", 5e6, True, False),
    ], schema={"business_key": pl.Utf8, "institution_id": pl.Utf8, "exposure_jpy": pl.Float64,
               "guarantor": pl.Boolean, "is_bank": pl.Boolean}, orient="row")
    lead = dict(lead_institutions(known).iter_rows())
    assert lead == {A: "bank_0116", B: "cga_13", C: "bank_0117", "D": "cga_13"}


def test_lead_institution_and_ranks_from_the_warehouse():
    """Exposure from the loan and guarantee feeds as of the date (later months ignored)."""
    book = Book()
    for key, local in ((A, "A"), (B, "B")):
        book.know(key, "bank_0116", local, date(2024, 12, 1)).know(key, "cga_13", "G" + local, date(2024, 12, 1))

    def loan(local: str, key: str, month: date, balance: int, received: date) -> dict:
        return dict(loan_id="L" + local, local_id=local, corporate_number=key, month=month, balance_jpy=balance,
                    scheduled_jpy=1, paid_jpy=1, days_past_due=0, restructured=False, received_on=received)

    def guarantee(local: str, key: str, month: date, balance: int, received: date) -> dict:
        return dict(guarantee_id="H" + local, local_id="G" + local, corporate_number=key, lender_bank_code="0116",
                    month=month, balance_jpy=balance, status="normal", received_on=received)

    book.add("loans", "bank_0116", loan("A", A, date(2025, 1, 1), 10_000_000, date(2025, 1, 20)),
             loan("B", B, date(2025, 1, 1), 3_000_000, date(2025, 1, 20)),
             loan("B", B, date(2025, 2, 1), 30_000_000, date(2025, 2, 20)))   # after the date
    book.add("guarantees", "cga_13", guarantee("A", A, date(2025, 1, 1), 8_000_000, date(2025, 1, 25)),
             guarantee("B", B, date(2025, 1, 1), 4_000_000, date(2025, 1, 25)))
    book.score(A, M[0], "very_high", probability=0.5).score(B, M[0], "very_high", probability=0.6)
    flagged = book.flagged(M[0], book.settings.model_copy(update={
        "signals": SignalSettings(monthly_capacity={"bank_0116": 1, "cga_13": 1})}))
    assert flagged[A]["lead_institution_id"] == "bank_0116"
    assert flagged[B]["lead_institution_id"] == "cga_13"
    assert flagged[A]["priority_rank"] == 1 == flagged[B]["priority_rank"]
    assert flagged[A]["within_capacity"] and flagged[B]["within_capacity"]
