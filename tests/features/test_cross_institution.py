"""Cross-institution signs on hand-made rows; expected values worked out by hand."""
from __future__ import annotations

import json
from datetime import date

from features.catalog import Family
from tests.features.tiny import Tiny

CN = "7000012050002"  # a valid 法人番号
T = date(2025, 6, 30)
LATER = date(2025, 7, 31)
ADV = "x_adverse_at_multiple_institutions"
WATCH = "x_watch_class_elsewhere"


def _master(local_id: str, received: date, cn: str | None = CN, entity: str = "corporation") -> dict:
    return dict(local_id=local_id, corporate_number=cn, name="テスト工業", entity_type=entity,
                jsic_division="E", prefecture_code=13, received_on=received)


def _loan(month: date, dpd: int, received: date, *, loan_id: str = "L1", local_id: str = "K1",
          restructured: bool = False, cn: str | None = CN) -> dict:
    return dict(loan_id=loan_id, local_id=local_id, corporate_number=cn, month=month, balance_jpy=5_000_000,
                scheduled_jpy=100_000, paid_jpy=0 if dpd else 100_000, days_past_due=dpd,
                restructured=restructured, received_on=received)


def _account(month: date, failed: int, received: date, local_id: str = "K1") -> dict:
    return dict(local_id=local_id, corporate_number=CN, month=month, inflow_jpy=1_000_000, outflow_jpy=1_000_000,
                month_end_balance_jpy=500_000, average_balance_jpy=500_000, failed_debits=failed, received_on=received)


def _guarantee(month: date, status: str, received: date, gid: str = "G1") -> dict:
    return dict(guarantee_id=gid, local_id="A1", corporate_number=CN, lender_bank_code="0117",
                month=month, balance_jpy=1_000_000, status=status, received_on=received)


def _incident(iid: str, occurred: date, received: date, kind: str = "delinquency") -> dict:
    return dict(incident_id=iid, local_id="A1", corporate_number=CN, guarantee_id="G1",
                lender_bank_code="0117", incident_type=kind, occurred_on=occurred, received_on=received)


def _class(local_id: str, classified: date, debtor_class: str, received: date) -> dict:
    return dict(local_id=local_id, corporate_number=CN, classified_on=classified, debtor_class=debtor_class,
                received_on=received)


def _row(got: dict, as_of: date, indicator: str) -> tuple:
    r = got[(CN, as_of, indicator)]
    return r["value"], r["available"], r["fired"]


# --- x_adverse_at_multiple_institutions --------------------------------------------------------

def test_arrears_at_a_bank_and_an_incident_at_the_association_fire():
    tiny = (Tiny()
            .add("loans", "bank_0116", _loan(date(2025, 5, 1), 45, date(2025, 6, 10)))
            .add("incidents", "cga_01", _incident("I1", date(2025, 3, 3), date(2025, 3, 20)))
            .add("business", "bank_0117", _master("Q1", date(2024, 4, 1))))  # knows it, shows nothing
    got = tiny.run(T, family=Family.CROSS_INSTITUTION)
    # bank_0116: May 45 days past due >= 30; cga_01: incident 2025-03-03, within 12 months; bank_0117: nothing -> 2
    assert _row(got, T, ADV) == (2.0, True, True)
    assert got[(CN, T, ADV)]["severity"] == "high"
    assert json.loads(got[(CN, T, ADV)]["evidence"]) == {
        "institutions": [
            {"institution": "bank_0116", "shows": ["loan L1 (2025-05): 45 days past due"]},
            {"institution": "cga_01", "shows": ["incident delinquency on 2025-03-03 (lender 0117)"]}],
        "known_institutions": ["bank_0116", "bank_0117", "cga_01"]}


def test_sign_at_one_institution_only_does_not_fire():
    tiny = (Tiny()
            .add("loans", "bank_0116", _loan(date(2025, 5, 1), 60, date(2025, 6, 10)))
            .add("guarantees", "cga_01", _guarantee(date(2025, 5, 1), "normal", date(2025, 6, 12))))
    got = tiny.run(T, family=Family.CROSS_INSTITUTION)
    assert _row(got, T, ADV) == (1.0, True, False)
    assert got[(CN, T, ADV)]["evidence"] is None


def test_weak_or_stale_signs_do_not_count():
    tiny = (Tiny()
            .add("loans", "bank_0116",
                 _loan(date(2025, 5, 1), 29, date(2025, 6, 10)),                 # under 30 days
                 _loan(date(2025, 3, 1), 90, date(2025, 4, 10), loan_id="L2"))   # month before the 3-month window
            .add("accounts", "bank_0117", _account(date(2025, 3, 1), 2, date(2025, 4, 15)))  # March: outside
            .add("incidents", "cga_01", _incident("I0", date(2024, 6, 1), date(2024, 6, 20))))  # 13 months ago
    got = tiny.run(T, family=Family.CROSS_INSTITUTION)
    # window at T = 2025-06-30: months after 2025-03-30 (April-June); incidents after 2024-06-30
    assert _row(got, T, ADV) == (0.0, True, False)


def test_restructuring_failed_debits_and_guarantee_status_count():
    tiny = (Tiny()
            .add("loans", "bank_0116", _loan(date(2025, 5, 1), 0, date(2025, 6, 10), restructured=True))
            .add("accounts", "bank_0117",
                 _account(date(2025, 4, 1), 1, date(2025, 5, 15)), _account(date(2025, 5, 1), 2, date(2025, 6, 15)))
            .add("guarantees", "cga_01", _guarantee(date(2025, 5, 1), "subrogated", date(2025, 6, 12))))
    got = tiny.run(T, family=Family.CROSS_INSTITUTION)
    # restructured loan at bank_0116, 1 + 2 = 3 failed debits in April-May at bank_0117, subrogated guarantee -> 3
    assert _row(got, T, ADV) == (3.0, True, True)
    assert json.loads(got[(CN, T, ADV)]["evidence"])["institutions"] == [
        {"institution": "bank_0116", "shows": ["loan L1 (2025-05): restructured"]},
        {"institution": "bank_0117", "shows": ["failed direct debits: 3 (2025-04 1, 2025-05 2)"]},
        {"institution": "cga_01", "shows": ["guarantee G1 subrogated (2025-05)"]}]


def test_sign_received_after_as_of_counts_only_later():
    tiny = (Tiny()
            .add("loans", "bank_0116", _loan(date(2025, 5, 1), 40, date(2025, 6, 10)))
            .add("guarantees", "cga_01",
                 _guarantee(date(2025, 5, 1), "normal", date(2025, 6, 12)),
                 _guarantee(date(2025, 6, 1), "delinquent", date(2025, 7, 14))))  # June, received in July
    got = tiny.run(T, LATER, family=Family.CROSS_INSTITUTION)
    # at T the association's latest month is May (normal): 1 institution; by 07-31 June delinquent is known: 2
    assert _row(got, T, ADV) == (1.0, True, False)
    # at LATER the window is months after 2025-04-30 (May-July): the bank's May loan row still counts
    assert _row(got, LATER, ADV) == (2.0, True, True)


def test_corrected_loan_month_uses_the_latest_version():
    tiny = (Tiny()
            .add("loans", "bank_0116",
                 _loan(date(2025, 5, 1), 35, date(2025, 6, 10)),
                 _loan(date(2025, 5, 1), 0, date(2025, 7, 5)))    # correction: paid on time after all
            .add("incidents", "cga_01", _incident("I1", date(2025, 5, 20), date(2025, 6, 2))))
    got = tiny.run(T, LATER, family=Family.CROSS_INSTITUTION)
    assert _row(got, T, ADV) == (2.0, True, True)
    assert _row(got, LATER, ADV) == (1.0, True, False)


def test_corrected_incident_report_counts_once_as_its_latest_version():
    # I1 first reported as a delinquency, then corrected (same report number) to a restructuring
    # request: one incident, shown as corrected (as in the guarantee family's count)
    tiny = (Tiny()
            .add("loans", "bank_0116", _loan(date(2025, 5, 1), 45, date(2025, 6, 10)))
            .add("incidents", "cga_01", _incident("I1", date(2025, 3, 3), date(2025, 3, 20)))
            .add("incidents", "cga_01", _incident("I1", date(2025, 3, 3), date(2025, 5, 10), "restructuring_request")))
    got = tiny.run(T, family=Family.CROSS_INSTITUTION)
    assert _row(got, T, ADV) == (2.0, True, True)
    assert json.loads(got[(CN, T, ADV)]["evidence"])["institutions"] == [
        {"institution": "bank_0116", "shows": ["loan L1 (2025-05): 45 days past due"]},
        {"institution": "cga_01", "shows": ["incident restructuring_request on 2025-03-03 (lender 0117)"]}]


def test_business_known_to_one_institution_is_unavailable():
    tiny = Tiny().add("loans", "bank_0116", _loan(date(2025, 5, 1), 45, date(2025, 6, 10)),
                      _loan(date(2025, 5, 1), 45, date(2025, 6, 10), loan_id="L9", local_id="S1", cn=None))
    got = tiny.run(T, family=Family.CROSS_INSTITUTION)
    for key in ((CN, T, ADV), (CN, T, WATCH), ("bank_0116:S1", T, ADV), ("bank_0116:S1", T, WATCH)):
        assert (got[key]["value"], got[key]["available"], got[key]["fired"], got[key]["evidence"]) == (
            None, False, None, None)


def test_second_institution_known_only_from_a_later_date():
    tiny = (Tiny()
            .add("loans", "bank_0116", _loan(date(2025, 5, 1), 45, date(2025, 6, 10)))
            .add("business", "bank_0117", _master("Q1", date(2025, 7, 3))))
    got = tiny.run(T, LATER, family=Family.CROSS_INSTITUTION)
    assert got[(CN, T, ADV)]["available"] is False
    assert _row(got, LATER, ADV) == (1.0, True, False)


# --- x_watch_class_elsewhere -----------------------------------------------------------------------

def test_watch_class_at_one_bank_fires_for_the_others():
    tiny = (Tiny()
            .add("classifications", "bank_0116",
                 _class("K1", date(2024, 9, 30), "normal", date(2024, 10, 8)),
                 _class("K1", date(2025, 3, 31), "watch", date(2025, 4, 9)))
            .add("guarantees", "cga_01", _guarantee(date(2025, 5, 1), "normal", date(2025, 6, 12))))
    got = tiny.run(T, family=Family.CROSS_INSTITUTION)
    # bank_0116's latest classification (2025-03-31) is 要注意先; the association knows the business -> 1 bank
    assert _row(got, T, WATCH) == (1.0, True, True)
    assert got[(CN, T, WATCH)]["severity"] == "medium"
    assert json.loads(got[(CN, T, WATCH)]["evidence"]) == {
        "classified_by": [{"institution": "bank_0116", "debtor_class": "watch", "ja": "要注意先",
                           "classified_on": "2025-03-31"}],
        "other_institutions": ["cga_01"]}


def test_normal_class_does_not_fire():
    tiny = (Tiny()
            .add("classifications", "bank_0116", _class("K1", date(2025, 3, 31), "normal", date(2025, 4, 9)))
            .add("classifications", "bank_0117", _class("Q1", date(2024, 3, 31), "doubtful", date(2024, 4, 9))))
    got = tiny.run(T, family=Family.CROSS_INSTITUTION)
    # bank_0117's 破綻懸念先 was decided 15 months before T: stale (max 12), so 0 banks
    assert _row(got, T, WATCH) == (0.0, True, False)


def test_no_one_left_to_learn_does_not_fire():
    tiny = (Tiny()
            .add("classifications", "bank_0116", _class("K1", date(2025, 3, 31), "special_attention", date(2025, 4, 9)))
            .add("classifications", "bank_0117", _class("Q1", date(2025, 3, 31), "watch", date(2025, 4, 9))))
    got = tiny.run(T, family=Family.CROSS_INSTITUTION)
    # both institutions that know the business already classify it watch or worse: value 2, nobody else to tell
    assert _row(got, T, WATCH) == (2.0, True, False)
    tiny.add("business", "cga_01", _master("A1", date(2025, 5, 1)))
    got = tiny.run(T, family=Family.CROSS_INSTITUTION)
    assert _row(got, T, WATCH) == (2.0, True, True)
    assert json.loads(got[(CN, T, WATCH)]["evidence"])["other_institutions"] == ["cga_01"]


def test_no_current_classification_is_unavailable():
    tiny = (Tiny()
            .add("classifications", "bank_0116", _class("K1", date(2024, 3, 31), "watch", date(2024, 4, 9)))
            .add("guarantees", "cga_01", _guarantee(date(2025, 5, 1), "normal", date(2025, 6, 12))))
    got = tiny.run(T, family=Family.CROSS_INSTITUTION)
    # the only classification is 15 months old (> 12): no bank's current view
    assert (got[(CN, T, WATCH)]["available"], got[(CN, T, WATCH)]["value"], got[(CN, T, WATCH)]["fired"]) == (
        False, None, None)
    assert got[(CN, T, ADV)]["available"] is True  # two institutions know it all the same


def test_downgrade_received_after_as_of_counts_only_later():
    tiny = (Tiny()
            .add("classifications", "bank_0116",
                 _class("K1", date(2025, 3, 31), "normal", date(2025, 4, 9)),
                 _class("K1", date(2025, 6, 27), "watch", date(2025, 7, 4)))   # decided before T, received after
            .add("business", "cga_01", _master("A1", date(2025, 1, 10))))
    got = tiny.run(T, LATER, family=Family.CROSS_INSTITUTION)
    assert _row(got, T, WATCH) == (0.0, True, False)
    assert _row(got, LATER, WATCH) == (1.0, True, True)


def test_corrected_classification_uses_the_latest_version():
    tiny = (Tiny()
            .add("classifications", "bank_0116",
                 _class("K1", date(2025, 3, 31), "watch", date(2025, 4, 9)),
                 _class("K1", date(2025, 3, 31), "normal", date(2025, 7, 2)))  # same decision, corrected
            .add("business", "cga_01", _master("A1", date(2025, 1, 10))))
    got = tiny.run(T, LATER, family=Family.CROSS_INSTITUTION)
    assert _row(got, T, WATCH) == (1.0, True, True)
    assert _row(got, LATER, WATCH) == (0.0, True, False)


def test_classifications_are_versioned_per_record_and_a_bank_s_view_is_the_preferred_one():
    # bank_0116 holds the business under two local ids (K1, K2) and classified both on 2025-03-31:
    # each classification is its own record (institution, local_id, classified_on); the bank's view
    # is the one preferred by pit_preference, the latest received
    tiny = (Tiny()
            .add("classifications", "bank_0116", _class("K1", date(2025, 3, 31), "watch", date(2025, 4, 9)))
            .add("classifications", "bank_0116", _class("K2", date(2025, 3, 31), "normal", date(2025, 4, 20)))
            .add("business", "cga_01", _master("A1", date(2025, 1, 10))))
    got = tiny.run(T, family=Family.CROSS_INSTITUTION)
    assert _row(got, T, WATCH) == (0.0, True, False)  # K2's normal, received later
    # K1 corrected after T (still watch): its latest version is now the latest received
    tiny.add("classifications", "bank_0116", _class("K1", date(2025, 3, 31), "watch", date(2025, 7, 2)))
    got = tiny.run(T, LATER, family=Family.CROSS_INSTITUTION)
    assert _row(got, T, WATCH) == (0.0, True, False)
    assert _row(got, LATER, WATCH) == (1.0, True, True)
    assert json.loads(got[(CN, LATER, WATCH)]["evidence"])["classified_by"] == [
        {"institution": "bank_0116", "debtor_class": "watch", "ja": "要注意先", "classified_on": "2025-03-31"}]


def test_threshold_overrides():
    tiny = (Tiny()
            .add("classifications", "bank_0116", _class("K1", date(2024, 3, 31), "watch", date(2024, 4, 9)))
            .add("loans", "bank_0116", _loan(date(2025, 5, 1), 20, date(2025, 6, 10)))
            .add("incidents", "cga_01", _incident("I1", date(2025, 5, 20), date(2025, 6, 2))))
    got = tiny.run(T, family=Family.CROSS_INSTITUTION,
                   thresholds={f"{WATCH}.max_age_months": 18, f"{ADV}.dpd_days": 15})
    # 2024-03-31 is 15 months before T, inside 18; 20 days past due >= 15 -> both fire
    assert _row(got, T, WATCH) == (1.0, True, True)
    assert _row(got, T, ADV) == (2.0, True, True)
