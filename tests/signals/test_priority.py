"""Priority and ranks per lead institution, the monthly review budget; the choice of lead institution."""
from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from signals.budget import budgets
from signals.priority import IN_EVENT_WEIGHT, PHASE_WEIGHTS, lead_institutions, prioritise
from tests.signals import A, B, Book, C, M
from yocho.settings import SignalSettings


def cases(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"business_key": pl.Utf8, "lead_institution_id": pl.Utf8,
                                      "probability": pl.Float64, "phase": pl.Utf8, "in_event": pl.Boolean},
                        orient="row")


def test_ranks_are_per_lead_institution_by_priority_then_probability_then_key():
    frame = cases(*[(f"a{i}", "bank_0116", 0.5 - i / 100, "profitability", False) for i in range(5)],
                  *[(f"b{i}", "bank_0117", 0.9 - i / 100, "profitability", False) for i in range(3)],
                  *[(f"c{i}", "cga_13", 0.2, "profitability", False) for i in range(2)])
    out = prioritise(frame)
    by = {r["business_key"]: r for r in out.iter_rows(named=True)}
    assert [by[f"a{i}"]["priority_rank"] for i in range(5)] == [1, 2, 3, 4, 5]
    assert [by[f"b{i}"]["priority_rank"] for i in range(3)] == [1, 2, 3]
    assert [by[f"c{i}"]["priority_rank"] for i in range(2)] == [1, 2]                 # ties: business key
    assert out.schema["priority_rank"] == pl.Int64


def test_the_monthly_budget_is_a_share_of_the_monitored_book_at_least_one_or_set():
    monitored = pl.DataFrame({"institution_id": ["bank_0116", "bank_0117", "cga_13", "bank_0005"],
                              "monitored": [9_000, 40, 20_133, 10]})
    out = budgets(monitored, SignalSettings(monthly_capacity={"bank_0005": 25}))
    assert dict(zip(out["institution_id"], out["monthly_budget"], strict=True)) == {
        "bank_0116": 135,    # 1.5% of 9,000
        "bank_0117": 1,      # 0.6 rounds down to 0: at least one
        "cga_13": 301,       # 301.995 rounded down
        "bank_0005": 25,     # set for the institution, whatever its book
    }
    assert out["monitored"].to_list() == [9_000, 40, 20_133, 10]
    share = budgets(monitored, SignalSettings(monthly_budget_share=0.02))
    assert share["monthly_budget"].to_list() == [180, 1, 402, 1]
    with pytest.raises(ValueError):
        SignalSettings(monthly_capacity={"bank_0116": -1})


def test_earlier_cases_come_first_at_equal_probability():
    frame = cases(("late", "bank_0116", 0.3, "rechallenge", False),
                  ("revit", "bank_0116", 0.3, "revitalisation", False),
                  ("early", "bank_0116", 0.3, "profitability", False),
                  ("mgmt", "bank_0116", 0.3, "management_improvement", False),
                  ("early_in_event", "bank_0116", 0.3, "profitability", True))
    out = prioritise(frame)
    assert out.sort("priority_rank")["business_key"].to_list() == ["early", "mgmt", "revit", "early_in_event", "late"]
    by = {r["business_key"]: r["priority"] for r in out.iter_rows(named=True)}
    assert by["early"] == pytest.approx(0.3)
    assert by["revit"] == pytest.approx(0.3 * PHASE_WEIGHTS["revitalisation"])
    assert by["early_in_event"] == pytest.approx(0.3 * IN_EVENT_WEIGHT)


def test_a_much_riskier_late_case_still_comes_first():
    out = prioritise(cases(("early", "bank_0116", 0.12, "profitability", False),
                           ("late", "bank_0116", 0.60, "revitalisation", True)))
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
    # each monitors both businesses (loans, guarantees); the budgets are set to one each
    assert (flagged[A]["monitored"], flagged[A]["monthly_budget"]) == (2, 1)
    assert (flagged[B]["monitored"], flagged[B]["monthly_budget"]) == (2, 1)


def test_monitored_counts_the_scored_businesses_with_a_trusted_relationship():
    """The base of the budget: businesses in the monitored universe as of the date (scored
    then) that the institution holds a loan, account or guarantee of -- not those it only
    declared in its master file, not those that left the universe, not rows received later."""
    book = Book()
    others = ["1010001000006", "2010001000005", "3010001000004"]  # valid 法人番号s
    book.know(A, "bank_0116", "A", date(2024, 12, 1))
    book.know(B, "bank_0116", "B", date(2024, 12, 1))
    book.know(C, "bank_0116", "C", date(2024, 12, 1), relationship=False)  # a master row only
    book.know(others[0], "bank_0116", "D", date(2024, 12, 1))  # not scored as of M[0]: left the universe
    book.know(others[1], "bank_0116", "E", date(2025, 2, 10))  # known only after the date
    book.know(others[2], "cga_13", "GF", date(2024, 12, 1))
    for key in (A, B, C, others[1], others[2]):
        book.score(key, M[0], "low")
    book.con.execute("UPDATE risk_scores SET probability = 0.5, band = 'very_high' WHERE business_key = ?", [A])
    flagged = book.flagged(M[0])
    assert list(flagged) == [A]
    assert flagged[A]["lead_institution_id"] == "bank_0116"
    assert (flagged[A]["monitored"], flagged[A]["monthly_budget"]) == (2, 1)  # A and B; 2 x 1.5% -> at least 1
    closed = book.flagged(M[0], book.settings.model_copy(update={
        "signals": SignalSettings(monthly_capacity={"bank_0116": 0})}))
    assert (closed[A]["monitored"], closed[A]["monthly_budget"]) == (2, 0)
