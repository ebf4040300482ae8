"""Routing on hand-made facts: every rule reached, first match wins, reasons in both languages,
and the rules documented in docs/signals.md."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from signals.flags import routing_facts
from signals.phases import PHASES
from signals.routing import CONDITIONS, FACT_SCHEMA, RULES, SALES_COLLAPSE_PCT, route
from tests.signals import A, Book, M
from yocho.warehouse.pit import ALL_HISTORY_MONTHS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "signals.md"


def facts(**cases: dict) -> pl.DataFrame:
    """One row per case (its name is the business_key); facts not given are clean."""
    clean = dict(fired=[], in_event=False, class_rank=None, sales_change_pct=None, operating_cf_jpy=None,
                 legal_proceedings=False, event_types=[])
    return pl.DataFrame([{"business_key": name, **clean, **given} for name, given in cases.items()],
                        schema=FACT_SCHEMA)


def routed(**cases: dict) -> dict[str, dict]:
    return {r["business_key"]: r for r in route(facts(**cases)).iter_rows(named=True)}


NOT_VIABLE = dict(operating_cf_jpy=-5_000_000.0, sales_change_pct=-45.0)
VIABLE = dict(operating_cf_jpy=3_000_000.0, sales_change_pct=-45.0)

CASES = {
    "subrogated_dead": (dict(fired=["cga_subrogation_requested"], **NOT_VIABLE), "serious_not_viable", "rechallenge"),
    "bankrupt_filing": (dict(legal_proceedings=True, operating_cf_jpy=-1.0), "serious_not_viable", "rechallenge"),
    "insolvent_in_arrears": (dict(fired=["fin_negative_net_assets", "fin_consecutive_operating_losses", "rep_dpd_90"],
                                  sales_change_pct=-60.0), "serious_not_viable", "rechallenge"),
    "subrogated_viable": (dict(fired=["cga_subrogation_requested"], **VIABLE), "serious_viable", "revitalisation"),
    "subrogation_event_unknown": (dict(event_types=["subrogation"], in_event=True), "serious_viable", "revitalisation"),
    "dpd_90": (dict(fired=["rep_dpd_90", "rep_dpd_30", "rep_dpd_any"], **NOT_VIABLE), "repayment_broken",
               "revitalisation"),
    "rescheduled": (dict(fired=["rep_restructured"]), "repayment_broken", "revitalisation"),
    "special_attention": (dict(class_rank=2.0, fired=["rep_bank_class_watch"]), "repayment_broken", "revitalisation"),
    "in_event": (dict(in_event=True, event_types=["downgrade"]), "repayment_broken", "revitalisation"),
    "dpd_30": (dict(fired=["rep_dpd_30", "fin_operating_loss"]), "repayment_strain", "management_improvement"),
    "failed_debits": (dict(fired=["acc_failed_debits"]), "repayment_strain", "management_improvement"),
    "tax_stopped": (dict(fired=["acc_tax_stopped"]), "repayment_strain", "management_improvement"),
    "si_stopped": (dict(fired=["acc_social_insurance_stopped"]), "repayment_strain", "management_improvement"),
    "watch_class": (dict(class_rank=1.0, fired=["rep_bank_class_watch"]), "repayment_strain",
                    "management_improvement"),
    "losses_only": (dict(fired=["fin_consecutive_operating_losses", "obs_key_customer_lost"]), "earnings_signs",
                    "profitability"),
    "score_only": (dict(), "score_only", "profitability"),
}


def test_every_rule_is_reached_by_a_hand_made_case():
    got = routed(**{name: given for name, (given, _, _) in CASES.items()})
    for name, (_, rule, phase) in CASES.items():
        assert (got[name]["phase_rule"], got[name]["phase"]) == (rule, phase), name
    assert {rule for _, rule, _ in CASES.values()} == {r.id for r in RULES}


def test_first_matching_rule_wins():
    got = routed(
        # a subrogation beats the 30-day arrears and the watch classification that come with it
        both=dict(fired=["cga_subrogation_requested", "rep_dpd_30", "acc_failed_debits"], class_rank=1.0, **VIABLE),
        # 90 days past due beats 30 days past due
        deeper=dict(fired=["rep_dpd_30", "rep_dpd_90"], operating_cf_jpy=1.0),
        # a 債務超過 with losses but no 90-day arrears is not the serious rule
        insolvent_paying=dict(fired=["fin_negative_net_assets", "fin_consecutive_operating_losses", "rep_dpd_30"],
                              **NOT_VIABLE),
    )
    assert got["both"]["phase_rule"] == "serious_viable"
    assert got["deeper"]["phase_rule"] == "repayment_broken"
    assert got["insolvent_paying"]["phase_rule"] == "repayment_strain"


@pytest.mark.parametrize("cf, sales, phase", [
    (-1.0, SALES_COLLAPSE_PCT, "rechallenge"),        # both show it
    (-1.0, None, "rechallenge"),                      # cash flow shows it, sales unknown
    (None, SALES_COLLAPSE_PCT - 5, "rechallenge"),    # sales show it, cash flow unknown
    (1.0, -80.0, "revitalisation"),                   # positive operating cash flow: viable
    (-1.0, SALES_COLLAPSE_PCT + 5, "revitalisation"), # sales not collapsing: viable
    (None, None, "revitalisation"),                   # nothing known: the council judges
])
def test_viability_separates_rechallenge_from_revitalisation(cf, sales, phase):
    got = routed(x=dict(fired=["cga_subrogation_requested"], operating_cf_jpy=cf, sales_change_pct=sales))
    assert got["x"]["phase"] == phase


def test_reasons_are_given_in_both_languages_with_the_conditions_found():
    got = routed(**{name: given for name, (given, _, _) in CASES.items()})
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    for name, row in got.items():
        assert japanese.search(row["phase_reason_ja"]), name
        assert row["phase_reason_ja"] and row["phase_reason_en"], name
        assert "該当:" in row["phase_reason_ja"] and "Found:" in row["phase_reason_en"], name
    assert "代位弁済請求" in got["subrogated_dead"]["phase_reason_ja"]
    assert "subrogation requested" in got["subrogated_dead"]["phase_reason_en"]
    assert "営業キャッシュフロー赤字" in got["subrogated_dead"]["phase_reason_ja"]
    assert "延滞1ヶ月以上" in got["dpd_30"]["phase_reason_ja"] and "30+ days past due" in got["dpd_30"]["phase_reason_en"]
    assert "延滞3ヶ月以上" not in got["dpd_30"]["phase_reason_ja"]
    for rule in RULES:
        assert japanese.search(rule.reason_ja) and rule.reason_en
    for condition in CONDITIONS.values():
        assert japanese.search(condition.ja) and condition.en


def test_rules_name_real_phases_and_are_documented():
    text = DOCS.read_text(encoding="utf-8")
    for rule in RULES:
        assert rule.phase in PHASES
        assert f"`{rule.id}`" in text, f"docs/signals.md does not list rule {rule.id}"
        assert rule.reason_ja in text, f"docs/signals.md does not give {rule.id}'s reason"
    assert RULES[-1].any_of == ("score",)


def test_routing_facts_come_from_the_warehouse_as_of_the_date():
    """Through flags_as_of: a legal filing reported by the date, a statement's operating cash
    flow and the sales change decide between re-challenge and revitalisation."""
    book = Book()
    book.know(A, "bank_0116", "L1", M[0]).know(A, "cga_13", "G1", M[0])
    book.add("financials", "bank_0116", dict(local_id="L1", corporate_number=A, statement_type="annual",
                                             period_start=date(2024, 1, 1), period_end=date(2024, 12, 31),
                                             sales_jpy=50_000_000, operating_profit_jpy=-9_000_000,
                                             depreciation_jpy=1_000_000, received_on=M[0].replace(day=20)))
    book.add("incidents", "cga_13", dict(incident_id="I1", local_id="G1", corporate_number=A,
                                         lender_bank_code="0116", incident_type="legal_filing",
                                         occurred_on=M[1].replace(day=10), received_on=M[1].replace(day=20)))
    book.score(A, M[0], "very_high").sign(A, M[0], "fin_sales_decline_yoy", -40.0)
    book.score(A, M[1], "very_high").sign(A, M[1], "fin_sales_decline_yoy", -40.0)
    # as of January the filing is not yet known: only the sales decline, an earnings sign
    assert book.flagged(M[0])[A]["phase"] == "profitability"
    row = book.flagged(M[1])[A]
    assert row["phase"] == "rechallenge"
    assert "法的手続" in row["phase_reason_ja"]


def _statement(local_id: str, operating_profit: int, received_on: date) -> dict:
    return dict(local_id=local_id, corporate_number=A, statement_type="annual", period_start=date(2024, 1, 1),
                period_end=date(2024, 12, 31), sales_jpy=50_000_000, operating_profit_jpy=operating_profit,
                depreciation_jpy=1_000_000, received_on=received_on)


def _preferred_cf(book: Book, as_of: date) -> float:
    """The operating cash flow of the statement the layer's one preference order puts first,
    written independently of routing_facts.sql: arg_min over pit_preference."""
    return book.con.execute(
        "SELECT arg_min(operating_profit_jpy + coalesce(depreciation_jpy, 0), pit_preference(received_on, institution_id)) "
        "FROM pit_financials_at($d, $h) WHERE statement_type = 'annual' AND period_end = DATE '2024-12-31'",
        {"d": as_of, "h": ALL_HISTORY_MONTHS}).fetchone()[0]


def test_routing_reads_the_statement_pit_preference_picks():
    """Two banks send an annual statement for the same period: routing reads the one the
    point-in-time layer's pit_preference puts first (the latest received, then the lowest
    institution id), the same statement the indicators read, and a correction received later
    takes over only from the day it arrives."""
    book = Book()
    book.know(A, "bank_0116", "L1", M[0]).know(A, "bank_0117", "K1", M[0])
    # the same day: the lower institution id wins
    book.add("financials", "bank_0117", _statement("K1", 5_000_000, M[0].replace(day=20)))
    book.add("financials", "bank_0116", _statement("L1", -9_000_000, M[0].replace(day=20)))
    # in February bank_0117 sends its statement again, corrected: now the latest received
    book.add("financials", "bank_0117", _statement("K1", 7_000_000, M[1].replace(day=10)))
    for month in M[:3]:
        book.score(A, month, "very_high").sign(A, month, "cga_subrogation_requested")
    flagged = pl.DataFrame({"business_key": [A]})
    seen = {m: routing_facts(book.con, m, flagged).row(0, named=True)["operating_cf_jpy"] for m in M[:3]}
    assert seen == {M[0]: -8_000_000.0, M[1]: 8_000_000.0, M[2]: 8_000_000.0}
    assert seen == {m: _preferred_cf(book, m) for m in M[:3]}
    # and flags_as_of routes on it: not viable on January's negative cash flow, viable after
    assert [book.flagged(m)[A]["phase"] for m in M[:3]] == ["rechallenge", "revitalisation", "revitalisation"]
