"""The evidence snapshot: valid JSON, the fired signs exactly as stored, series bounded by the
date and by what had been received by then."""
from __future__ import annotations

import json
from datetime import date

import pytest

from features.catalog import indicators
from signals.evidence import SERIES_MONTHS
from tests.signals import A, B, Book

T = date(2026, 10, 31)


def _month_ends(first: date, n: int) -> list[date]:
    out, y, m = [], first.year, first.month
    for _ in range(n):
        nxt = date(y + m // 12, m % 12 + 1, 1)
        out.append(date.fromordinal(nxt.toordinal() - 1))
        y, m = nxt.year, nxt.month
    return out


@pytest.fixture(scope="module")
def snapshot() -> dict:
    """A flagged as of T with 31 months of loans and accounts, each received at its month end
    (six months before the 24-month window, one after T), a correction received after T,
    scores for 27 month-ends and signs at three dates (one after T)."""
    book = Book()
    book.know(A, "bank_0116", "A1", date(2024, 1, 5)).know(B, "bank_0116", "B1", date(2024, 1, 5))
    months = [date(2024, 5 + i, 1) if i < 8 else date(2025 + (i - 8) // 12, (i - 8) % 12 + 1, 1) for i in range(31)]
    assert months[0] == date(2024, 5, 1) and months[-1] == date(2026, 11, 1)
    for i, month in enumerate(months):
        received = date.fromordinal(date(month.year + month.month // 12, month.month % 12 + 1, 1).toordinal() - 1)
        book.add("loans", "bank_0116",
                 dict(loan_id="L1", local_id="A1", corporate_number=A, month=month, balance_jpy=1_000_000 + i,
                      scheduled_jpy=10, paid_jpy=10, days_past_due=i, restructured=False, received_on=received),
                 dict(loan_id="L2", local_id="A1", corporate_number=A, month=month, balance_jpy=500_000,
                      scheduled_jpy=10, paid_jpy=10, days_past_due=0, restructured=False, received_on=received))
        book.add("accounts", "bank_0116",
                 dict(local_id="A1", corporate_number=A, month=month, inflow_jpy=100 * i, outflow_jpy=1,
                      month_end_balance_jpy=7 * i, average_balance_jpy=1, failed_debits=i % 2, received_on=received))
    # the master renamed the business before T, and again after T, when it also moved to 大阪府:
    # the snapshot names it and places it as of T
    for name, received, prefecture in (("株式会社テスト商事", date(2026, 6, 1), 13),
                                       ("株式会社みらい商事", date(2026, 11, 15), 27)):
        book.add("business", "bank_0116", dict(local_id="A1", corporate_number=A, name=name,
                                               entity_type="corporation", jsic_division="E",
                                               prefecture_code=prefecture, received_on=received))
    # deterioration events: one occurred in August 2026 but was reported only after T, one in
    # September reported by T, one occurring after T
    for event_id, occurred, received in (("E1", date(2026, 8, 10), date(2026, 11, 5)),
                                         ("E2", date(2026, 9, 20), date(2026, 10, 2)),
                                         ("E3", date(2026, 11, 3), date(2026, 11, 4))):
        book.add("events", "bank_0116", dict(event_id=event_id, local_id="A1", corporate_number=A,
                                             event_type="restructuring" if event_id != "E2" else "dpd90",
                                             occurred_on=occurred, received_on=received))
    # September 2026 corrected after T: the snapshot keeps the version received by T
    book.add("loans", "bank_0116", dict(loan_id="L1", local_id="A1", corporate_number=A, month=date(2026, 9, 1),
                                        balance_jpy=1, scheduled_jpy=10, paid_jpy=10, days_past_due=999,
                                        restructured=False, received_on=date(2026, 11, 20)))
    for as_of in _month_ends(date(2024, 9, 1), 27):   # Sept 2024 .. Nov 2026
        book.score(A, as_of, "high" if as_of <= T else "low")
    book.sign(A, date(2026, 9, 30), "acc_failed_debits", 1.0, evidence={"failed_debits": 1})
    book.sign(A, T, "rep_dpd_90", 95.0, evidence={"max_days_past_due": 95, "loans": [{"bank": "bank_0116",
                                                                                         "loan_id": "L1"}]})
    book.sign(A, T, "obs_litigation", 0.8, evidence={"weight": 0.8, "note": "取引先から提訴"})
    book.sign(A, T, "fin_operating_loss", -3.0, fired=False)
    book.sign(A, date(2026, 11, 30), "cga_subrogation_requested", 5.0, evidence={"amount_jpy": 5})
    con = book.con
    con.execute("UPDATE risk_scores SET top_factors = ? WHERE as_of = ?",
                [json.dumps([{"indicator": "rep_dpd_90", "ja": "延滞3ヶ月以上", "contribution": 1.2}],
                            ensure_ascii=False), T])
    row = book.flagged(T)[A]
    stored = {r[0]: r for r in con.execute(
        "SELECT indicator_id, value, evidence FROM indicator_values WHERE business_key = ? AND as_of = ? AND fired",
        [A, T]).fetchall()}
    return {"text": row["evidence"], "doc": json.loads(row["evidence"]), "stored": stored}


def test_the_snapshot_is_json_with_the_score(snapshot):
    doc = snapshot["doc"]
    assert doc["business_key"] == A and doc["as_of"] == T.isoformat()
    assert doc["model_version"] == "test-model" and doc["band"] == "high"
    assert doc["probability"] == pytest.approx(0.101) and doc["portfolio_share"] == pytest.approx(0.01)
    assert doc["top_factors"] == [{"indicator": "rep_dpd_90", "ja": "延滞3ヶ月以上", "contribution": 1.2}]
    assert "延滞3ヶ月以上" in snapshot["text"]   # Japanese kept as is, not \\u escapes


def test_the_snapshot_names_the_business_as_its_master_did_on_the_date(snapshot):
    """The trade name (商号) of the master record in force at T: renamed before T, the new name;
    renamed again after T, not that one."""
    assert snapshot["doc"]["business_name"] == "株式会社テスト商事"


def test_the_snapshot_places_the_business_in_its_prefecture_as_of_the_date(snapshot):
    """The prefecture (JIS X 0401) of the master record in force at T, which routes a referral to
    that prefecture's council: 東京都 (13), not the move to 大阪府 (27) received after T."""
    assert snapshot["doc"]["prefecture_code"] == 13


def test_the_snapshot_dates_the_first_deterioration_event_known_on_the_date(snapshot):
    """The earliest event that occurred by T as reported by T: not August's, reported after T,
    nor one occurring after T."""
    assert snapshot["doc"]["deterioration"] == {"first_event_on": "2026-09-20", "first_event_type": "dpd90"}


def test_the_snapshot_holds_every_fired_sign_as_stored(snapshot):
    signs = {s["indicator_id"]: s for s in snapshot["doc"]["signs"]}
    assert set(signs) == set(snapshot["stored"]) == {"rep_dpd_90", "obs_litigation"}
    assert snapshot["doc"]["signs"][0]["indicator_id"] == "rep_dpd_90"   # critical first
    for indicator_id, (_, value, evidence) in snapshot["stored"].items():
        sign = signs[indicator_id]
        assert sign["value"] == value
        assert sign["evidence"] == json.loads(evidence)
        ind = indicators()[indicator_id]
        assert (sign["name_ja"], sign["name_en"], sign["family"], sign["severity"]) == (
            ind.ja, ind.en, ind.family.value, ind.severity.value)
    assert signs["obs_litigation"]["evidence"]["note"] == "取引先から提訴"


def test_series_cover_the_last_24_months_received_by_the_date(snapshot):
    series = snapshot["doc"]["series"]
    assert set(series) == {"loan_balance_jpy", "max_days_past_due", "deposit_balance_jpy", "inflow_jpy",
                           "failed_debits", "score"}
    for name in ("loan_balance_jpy", "max_days_past_due", "deposit_balance_jpy", "inflow_jpy", "failed_debits"):
        points = series[name]
        assert len(points) == SERIES_MONTHS == 24, name
        assert points[0]["month"] == "2024-11-01" and points[-1]["month"] == "2026-10-01", name
    # month i = 18 is November 2024 (months start May 2024); September 2026 is i = 28
    loans = {p["month"]: p["value"] for p in series["loan_balance_jpy"]}
    assert loans["2024-11-01"] == 1_000_000 + 6 + 500_000
    assert loans["2026-09-01"] == 1_000_000 + 28 + 500_000         # not the correction received after T
    assert {p["month"]: p["value"] for p in series["max_days_past_due"]}["2026-09-01"] == 28
    assert {p["month"]: p["value"] for p in series["inflow_jpy"]}["2026-10-01"] == 2900
    assert {p["month"]: p["value"] for p in series["deposit_balance_jpy"]}["2026-10-01"] == 7 * 29
    assert [p["value"] for p in series["failed_debits"]][:2] == [0, 1]
    scores = series["score"]
    assert len(scores) == 24 and scores[0]["month"] == "2024-11-30" and scores[-1]["month"] == T.isoformat()
    assert all(p["value"] == pytest.approx(0.101) for p in scores)


def test_sign_history_marks_the_months_signs_fired_up_to_the_date(snapshot):
    history = {h["month"]: h["signs"] for h in snapshot["doc"]["sign_history"]}
    assert history == {"2026-09-30": ["acc_failed_debits"], "2026-10-31": ["obs_litigation", "rep_dpd_90"]}


def test_series_are_also_kept_per_reporting_institution(snapshot):
    """signals/sharing.py shows a reviewer its own institution's series, never the totals."""
    doc = snapshot["doc"]
    (own,) = doc["series_by_institution"]
    assert own["institution_id"] == "bank_0116"
    for name in ("loan_balance_jpy", "max_days_past_due", "deposit_balance_jpy", "inflow_jpy", "failed_debits"):
        assert own[name] == doc["series"][name]
