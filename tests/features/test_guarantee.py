"""Guarantee-association signals on hand-made rows; expected values worked out by hand."""
from __future__ import annotations

import json
from datetime import date

import pytest

from features.catalog import Family
from tests.features.tiny import Tiny

CN = "7000012050002"  # a valid 法人番号
T = date(2025, 6, 30)


def _guarantee(month: date, status: str, received: date, gid: str = "G1", local_id: str = "A1") -> dict:
    return dict(guarantee_id=gid, local_id=local_id, corporate_number=CN, lender_bank_code="0116",
                month=month, balance_jpy=1_000_000, status=status, received_on=received)


def _incident(iid: str, occurred: date, received: date, kind: str = "delinquency") -> dict:
    return dict(incident_id=iid, local_id="A1", corporate_number=CN, guarantee_id="G1",
                lender_bank_code="0116", incident_type=kind, occurred_on=occurred, received_on=received)


@pytest.fixture
def tiny() -> Tiny:
    return Tiny().add("guarantees", "cga_01", _guarantee(date(2025, 5, 1), "normal", date(2025, 6, 12)))


def test_incident_in_window_fires_with_its_evidence(tiny: Tiny):
    tiny.add("incidents", "cga_01",
             _incident("I1", date(2025, 3, 3), date(2025, 3, 20), "restructuring_request"),
             _incident("I0", date(2024, 5, 1), date(2024, 5, 20)))  # 14 months before T: outside
    row = tiny.run(T, family=Family.GUARANTEE)[(CN, T, "cga_incident_reported")]
    assert (row["value"], row["available"], row["fired"]) == (1.0, True, True)
    assert json.loads(row["evidence"]) == {"reports": 1, "latest_type": "restructuring_request", "latest_on": "2025-03-03"}


def test_incident_received_after_as_of_is_not_seen(tiny: Tiny):
    tiny.add("incidents", "cga_01", _incident("I1", date(2025, 6, 25), date(2025, 7, 2)))
    got = tiny.run(T, date(2025, 7, 31), family=Family.GUARANTEE)
    assert got[(CN, T, "cga_incident_reported")]["fired"] is False
    assert got[(CN, date(2025, 7, 31), "cga_incident_reported")]["fired"] is True


def test_corrected_incident_counts_once_as_its_latest_version(tiny: Tiny):
    # I1 reported as a delinquency, then corrected (same report number) to a restructuring request
    tiny.add("incidents", "cga_01", _incident("I1", date(2025, 3, 3), date(2025, 3, 20)))
    tiny.add("incidents", "cga_01", _incident("I1", date(2025, 3, 3), date(2025, 5, 10), "restructuring_request"))
    before = date(2025, 4, 30)
    got = tiny.run(before, T, family=Family.GUARANTEE)
    first = got[(CN, before, "cga_incident_reported")]
    assert (first["value"], first["fired"]) == (1.0, True)
    assert json.loads(first["evidence"])["latest_type"] == "delinquency"
    row = got[(CN, T, "cga_incident_reported")]
    assert (row["value"], row["fired"]) == (1.0, True)
    assert json.loads(row["evidence"]) == {"reports": 1, "latest_type": "restructuring_request", "latest_on": "2025-03-03"}


def test_quiet_guarantee_does_not_fire(tiny: Tiny):
    got = tiny.run(T, family=Family.GUARANTEE)
    assert [(got[(CN, T, i)]["value"], got[(CN, T, i)]["fired"]) for i in
            ("cga_incident_reported", "cga_subrogation_requested", "cga_guarantee_adverse_status")] == [
        (0.0, False), (0.0, False), (0.0, False)]


def test_business_unknown_to_the_association_is_unavailable():
    tiny = Tiny().add("accounts", "bank_0116", dict(
        local_id="B1", corporate_number=CN, month=date(2025, 5, 1), inflow_jpy=1, outflow_jpy=1,
        month_end_balance_jpy=1, average_balance_jpy=1, failed_debits=0, received_on=date(2025, 6, 15)))
    got = tiny.run(T, family=Family.GUARANTEE)
    for indicator in ("cga_incident_reported", "cga_subrogation_requested", "cga_guarantee_adverse_status"):
        row = got[(CN, T, indicator)]
        assert (row["available"], row["value"], row["fired"], row["evidence"]) == (False, None, None, None)


def test_subrogation_request_fires_critical(tiny: Tiny):
    tiny.add("subrogations", "cga_01", dict(
        subrogation_id="S1", local_id="A1", corporate_number=CN, guarantee_id="G1", lender_bank_code="0116",
        requested_on=date(2025, 4, 10), amount_jpy=3_000_000, received_on=date(2025, 4, 20)))
    row = tiny.run(T, family=Family.GUARANTEE)[(CN, T, "cga_subrogation_requested")]
    assert (row["value"], row["fired"], row["severity"]) == (3_000_000.0, True, "critical")


def test_adverse_status_uses_latest_version_and_recent_month(tiny: Tiny):
    # May first reported delinquent, then corrected to normal in a later delivery;
    # a second guarantee was restructured in April.
    tiny.add("guarantees", "cga_01",
             _guarantee(date(2025, 5, 1), "delinquent", date(2025, 6, 10)),
             _guarantee(date(2025, 4, 1), "restructured", date(2025, 5, 12), gid="G2"),
             _guarantee(date(2025, 5, 1), "restructured", date(2025, 6, 12), gid="G2"))
    row = tiny.run(T, family=Family.GUARANTEE)[(CN, T, "cga_guarantee_adverse_status")]
    # G1's May: the delinquent (June 10) and normal (June 12) versions; June 12 is the latest.
    assert (row["value"], row["fired"]) == (1.0, True)
    assert json.loads(row["evidence"])["guarantees"] == ["G2:restructured"]


def test_threshold_override_changes_the_window(tiny: Tiny):
    tiny.add("incidents", "cga_01", _incident("I0", date(2024, 5, 1), date(2024, 5, 20)))
    assert tiny.run(T, family=Family.GUARANTEE)[(CN, T, "cga_incident_reported")]["fired"] is False
    wider = tiny.run(T, family=Family.GUARANTEE, thresholds={"cga_incident_reported.window_months": 18})
    assert wider[(CN, T, "cga_incident_reported")]["fired"] is True
