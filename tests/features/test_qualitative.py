"""Qualitative observations on hand-made rows; expected values worked out by hand.

Weight of one observation as of T: 0.5 ** (days(observed_on -> T) / 30.4375 / half_life_months).
"""
from __future__ import annotations

import json
from datetime import date

import pytest

from features.catalog import Family
from tests.features.tiny import Tiny

CN = "7000012050002"  # a valid 法人番号
OTHER_CN = "2000012010019"
T = date(2025, 6, 30)
IDS = ("obs_management_unreachable", "obs_key_customer_lost", "obs_successor_absent", "obs_owner_illness",
       "obs_staff_leaving", "obs_refuses_financials", "obs_tax_arrears_found", "obs_litigation", "obs_disaster")


def _obs(oid: str, code: str, observed: date, received: date, *, local_id: str = "B1", cn: str | None = CN,
         note: str | None = None) -> dict:
    return dict(observation_id=oid, local_id=local_id, corporate_number=cn, observed_on=observed, code=code,
                note=note, received_on=received)


def _master(local_id: str, cn: str | None, received: date, entity: str = "corporation") -> dict:
    return dict(local_id=local_id, corporate_number=cn, name="テスト商事", entity_type=entity,
                jsic_division="E", prefecture_code=13, received_on=received)


def test_fresh_unreachable_management_fires_with_its_evidence():
    tiny = Tiny().add("observations", "bank_0116",
                      _obs("O1", "management_unreachable", date(2025, 5, 1), date(2025, 5, 9), note="電話に出ない"))
    row = tiny.run(T, family=Family.QUALITATIVE)[(CN, T, "obs_management_unreachable")]
    # 2025-05-01 -> 2025-06-30 = 60 days = 1.97125 months; 0.5 ** (1.97125 / 6) = 0.79634
    assert row["value"] == pytest.approx(0.79634081, abs=1e-7)
    assert (row["available"], row["fired"], row["severity"]) == (True, True, "high")
    assert json.loads(row["evidence"]) == {
        "weight": 0.796, "half_life_months": 6.0,
        "observations": [{"observed_on": "2025-05-01", "received_on": "2025-05-09", "code": "management_unreachable",
                          "institution": "bank_0116", "note": "電話に出ない", "weight": 0.796}]}


def test_old_observation_alone_does_not_fire_but_two_old_ones_do():
    tiny = Tiny().add("observations", "bank_0116",
                      _obs("O1", "management_unreachable", date(2024, 10, 1), date(2024, 10, 10)))
    row = tiny.run(T, family=Family.QUALITATIVE)[(CN, T, "obs_management_unreachable")]
    # 272 days = 8.93634 months, beyond one 6-month half-life: 0.5 ** (8.93634 / 6) = 0.35616 < 0.5
    assert row["value"] == pytest.approx(0.35616291, abs=1e-7)
    assert (row["fired"], row["evidence"]) == (False, None)
    tiny.add("observations", "cga_01",
             _obs("C1", "management_unreachable", date(2024, 9, 1), date(2024, 9, 20), local_id="A1"))
    row = tiny.run(T, family=Family.QUALITATIVE)[(CN, T, "obs_management_unreachable")]
    # the association's record, 302 days = 9.92197 months: 0.5 ** (9.92197 / 6) = 0.31783; 0.35616 + 0.31783 = 0.67400
    assert row["value"] == pytest.approx(0.35616291 + 0.31783240, abs=1e-7)
    assert row["fired"] is True
    evidence = json.loads(row["evidence"])
    assert [(o["institution"], o["observed_on"], o["weight"]) for o in evidence["observations"]] == [
        ("bank_0116", "2024-10-01", 0.356), ("cga_01", "2024-09-01", 0.318)]


def test_successor_absent_decays_slowly():
    tiny = Tiny().add("observations", "bank_0116",
                      _obs("O1", "successor_absent", date(2024, 6, 30), date(2024, 7, 5)),
                      _obs("O2", "management_unreachable", date(2024, 6, 30), date(2024, 7, 5)))
    got = tiny.run(T, family=Family.QUALITATIVE)
    # both 365 days = 11.99179 months old: 0.5 ** (11.99179 / 24) = 0.70727 fires,
    # 0.5 ** (11.99179 / 6) = 0.25024 does not
    assert got[(CN, T, "obs_successor_absent")]["value"] == pytest.approx(0.70727454, abs=1e-7)
    assert got[(CN, T, "obs_successor_absent")]["fired"] is True
    assert got[(CN, T, "obs_successor_absent")]["severity"] == "low"
    assert got[(CN, T, "obs_management_unreachable")]["value"] == pytest.approx(0.25023733, abs=1e-7)
    assert got[(CN, T, "obs_management_unreachable")]["fired"] is False


def test_observation_received_after_as_of_is_not_seen():
    tiny = Tiny().add("observations", "bank_0116",
                      _obs("O0", "other", date(2025, 1, 10), date(2025, 1, 20)),
                      _obs("O1", "tax_arrears_found", date(2025, 6, 20), date(2025, 7, 3)))
    later = date(2025, 7, 31)
    got = tiny.run(T, later, family=Family.QUALITATIVE)
    assert (got[(CN, T, "obs_tax_arrears_found")]["value"], got[(CN, T, "obs_tax_arrears_found")]["fired"]) == (0.0, False)
    # 2025-06-20 -> 2025-07-31 = 41 days = 1.34702 months; 0.5 ** (1.34702 / 12) = 0.92514
    assert got[(CN, later, "obs_tax_arrears_found")]["value"] == pytest.approx(0.5 ** (41 / 30.4375 / 12), abs=1e-12)
    assert got[(CN, later, "obs_tax_arrears_found")]["value"] == pytest.approx(0.92514289, abs=1e-7)
    assert got[(CN, later, "obs_tax_arrears_found")]["fired"] is True


def test_other_is_no_sign_but_shows_coverage():
    tiny = Tiny().add("observations", "bank_0116", _obs("O1", "other", date(2025, 6, 1), date(2025, 6, 5)))
    got = tiny.run(T, family=Family.QUALITATIVE)
    assert {(got[(CN, T, i)]["available"], got[(CN, T, i)]["value"], got[(CN, T, i)]["fired"]) for i in IDS} == {
        (True, 0.0, False)}


def test_bank_sending_no_observations_gives_no_information():
    tiny = Tiny().add("business", "bank_0117", _master("K1", CN, date(2025, 1, 15)))
    got = tiny.run(T, family=Family.QUALITATIVE)
    for i in IDS:
        assert (got[(CN, T, i)]["available"], got[(CN, T, i)]["value"], got[(CN, T, i)]["fired"],
                got[(CN, T, i)]["evidence"]) == (False, None, None, None)


def test_known_to_an_observing_institution_is_available_from_its_first_observation():
    # The business is known to the association (master row, Feb) and to bank_0117 (no observations).
    # The association records observations, but only about another business, first received 2025-07-10.
    tiny = (Tiny()
            .add("business", "bank_0117", _master("K1", CN, date(2025, 1, 15)))
            .add("business", "cga_01", _master("A1", CN, date(2025, 2, 1)))
            .add("observations", "cga_01",
                 _obs("C9", "litigation", date(2025, 7, 1), date(2025, 7, 10), local_id="A9", cn=OTHER_CN)))
    later = date(2025, 7, 31)
    got = tiny.run(T, later, family=Family.QUALITATIVE)
    assert got[(CN, T, "obs_litigation")]["available"] is False
    assert (got[(CN, later, "obs_litigation")]["available"], got[(CN, later, "obs_litigation")]["value"],
            got[(CN, later, "obs_litigation")]["fired"]) == (True, 0.0, False)
    # the other business has its own observation: 2025-07-01 -> 07-31 = 30 days; 0.5 ** (30 / 30.4375 / 12) = 0.94466
    assert got[(OTHER_CN, later, "obs_litigation")]["value"] == pytest.approx(0.94465830, abs=1e-7)


def test_observing_institution_that_does_not_know_the_business_gives_no_coverage():
    # bank_0116 observes (another business); our business is known only to bank_0117, which does not.
    tiny = (Tiny()
            .add("business", "bank_0117", _master("K1", CN, date(2025, 1, 15)))
            .add("observations", "bank_0116",
                 _obs("O9", "disaster", date(2025, 3, 1), date(2025, 3, 5), local_id="X9", cn=OTHER_CN)))
    got = tiny.run(T, family=Family.QUALITATIVE)
    assert got[(CN, T, "obs_disaster")]["available"] is False
    assert got[(OTHER_CN, T, "obs_disaster")]["available"] is True


def test_sole_proprietor_is_covered_only_by_its_own_institution():
    tiny = (Tiny()
            .add("business", "bank_0116", _master("S1", None, date(2025, 1, 15), "sole_proprietor"))
            .add("observations", "bank_0116", _obs("O1", "owner_illness", date(2025, 4, 1), date(2025, 4, 8),
                                                   local_id="S1", cn=None)))
    row = tiny.run(T, family=Family.QUALITATIVE)[("bank_0116:S1", T, "obs_owner_illness")]
    # 2025-04-01 -> 06-30 = 90 days = 2.95688 months; 0.5 ** (2.95688 / 12) = 0.84299
    assert row["value"] == pytest.approx(0.84299351, abs=1e-7)
    assert row["fired"] is True


def test_corrected_record_counts_in_its_latest_version_only():
    # O1 first sent as refuses_financials, then corrected (same record number) to `other` on 2025-07-05.
    tiny = Tiny().add("observations", "bank_0116",
                      _obs("O1", "refuses_financials", date(2025, 4, 1), date(2025, 4, 8)),
                      _obs("O1", "other", date(2025, 4, 1), date(2025, 7, 5)))
    later = date(2025, 7, 31)
    got = tiny.run(T, later, family=Family.QUALITATIVE)
    # at T only the first version is known: 90 days, 0.5 ** (2.95688 / 12) = 0.84299
    assert got[(CN, T, "obs_refuses_financials")]["value"] == pytest.approx(0.84299351, abs=1e-7)
    assert got[(CN, T, "obs_refuses_financials")]["fired"] is True
    assert (got[(CN, later, "obs_refuses_financials")]["value"], got[(CN, later, "obs_refuses_financials")]["fired"]) == (
        0.0, False)


def test_observations_older_than_six_half_lives_are_left_out():
    tiny = Tiny().add("observations", "bank_0116",
                      _obs("O1", "staff_leaving", date(2020, 1, 10), date(2020, 1, 20)),   # 66 months: left out
                      _obs("O2", "staff_leaving", date(2021, 5, 1), date(2021, 5, 9)))    # 1521 days: kept
    # still reported on (a master record version in June 2025): not inactive at T
    tiny.add("business", "bank_0116", _master("B1", CN, date(2025, 6, 1)))
    row = tiny.run(T, family=Family.QUALITATIVE)[(CN, T, "obs_staff_leaving")]
    # six 9-month half-lives = 54 months = 1643.6 days; O1 is 1998 days old, O2 1521 days = 49.97125 months:
    # 0.5 ** (49.97125 / 9) = 0.02131
    assert row["value"] == pytest.approx(0.5 ** (1521 / 30.4375 / 9), abs=1e-12)
    assert row["value"] == pytest.approx(0.02131, abs=1e-5)
    assert row["fired"] is False


def test_a_lengthened_half_life_reads_further_back():
    # observed 4920 days (161.6 months) before T: beyond six half-lives of every default (the longest,
    # successor_absent's 24 months, reaches 144), within six of a 30-month half-life (180)
    tiny = Tiny().add("observations", "bank_0116", _obs("O1", "staff_leaving", date(2012, 1, 10), date(2012, 1, 20)))
    tiny.add("business", "bank_0116", _master("B1", CN, date(2025, 6, 1)))
    assert tiny.run(T, family=Family.QUALITATIVE)[(CN, T, "obs_staff_leaving")]["value"] == 0.0
    longer = tiny.run(T, family=Family.QUALITATIVE, thresholds={"obs_staff_leaving.half_life_months": 30})
    assert longer[(CN, T, "obs_staff_leaving")]["value"] == pytest.approx(0.5 ** (4920 / 30.4375 / 30), abs=1e-12)


@pytest.mark.parametrize("indicator,code", [(i, i.removeprefix("obs_")) for i in IDS])
def test_each_indicator_counts_its_own_code(indicator: str, code: str):
    tiny = Tiny().add("observations", "bank_0116", _obs("O1", code, date(2025, 6, 1), date(2025, 6, 5)))
    got = tiny.run(T, family=Family.QUALITATIVE)
    assert [i for i in IDS if got[(CN, T, i)]["fired"]] == [indicator]


def test_threshold_override_changes_the_half_life_and_min_weight():
    tiny = Tiny().add("observations", "bank_0116", _obs("O1", "key_customer_lost", date(2024, 3, 1), date(2024, 3, 9)))
    # still reported on (a master record version in June 2025): not inactive at T
    tiny.add("business", "bank_0116", _master("B1", CN, date(2025, 6, 1)))
    # 486 days = 15.96715 months: 0.5 ** (15.96715 / 12) = 0.39760 < 0.5
    assert tiny.run(T, family=Family.QUALITATIVE)[(CN, T, "obs_key_customer_lost")]["fired"] is False
    # with an 18-month half-life: 0.5 ** (15.96715 / 18) = 0.54071 >= 0.5
    longer = tiny.run(T, family=Family.QUALITATIVE, thresholds={"obs_key_customer_lost.half_life_months": 18})
    assert longer[(CN, T, "obs_key_customer_lost")]["value"] == pytest.approx(0.5 ** (486 / 30.4375 / 18), abs=1e-12)
    assert longer[(CN, T, "obs_key_customer_lost")]["fired"] is True
    lower = tiny.run(T, family=Family.QUALITATIVE, thresholds={"obs_key_customer_lost.min_weight": 0.3})
    assert lower[(CN, T, "obs_key_customer_lost")]["fired"] is True
