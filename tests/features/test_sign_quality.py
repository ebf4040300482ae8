"""The per-sign quality table on a hand-built warehouse: every rate, lift, precision and weak
flag below is worked out by hand from the rows written here."""
from __future__ import annotations

import math
from datetime import date

import pytest

from features.catalog import indicators
from features.quality import WEAK_HEALTHY_RATE, WEAK_LIFT, sign_quality
from tests.features.tiny import Tiny
from yocho.warehouse.db import migrate

INST = "bank_0116"
JAN, JUN, NOV = date(2024, 1, 31), date(2024, 6, 30), date(2024, 11, 30)
LATE_AS_OF = date(2025, 6, 30)  # its 12 months run past what has been observed: outcome unknown
OBSERVED = date(2026, 1, 31)  # the last date any feed was received

# Business A: first event on 2024-10-15 -> as of 2024-01-31 it is 8.5 months ahead (6-12 months
# before), as of 2024-06-30 3.5 months ahead (followed by an event, but not in the lead window),
# as of 2024-11-30 A is already in the event (left out). B, C, D, G: no event, outcome observed
# (healthy). E: no event, as of 2025-06-30 (12 months not yet observed: neither healthy nor labelled).
ROWS = [("A", JAN), ("A", JUN), ("A", NOV), ("B", JAN), ("C", JAN), ("D", JAN), ("G", JAN), ("E", LATE_AS_OF)]

# which business-months each sign fired on; every other row of the sign is available and not fired
FIRED = {
    "acc_failed_debits": {("A", JAN), ("A", JUN), ("A", NOV), ("B", JAN), ("E", LATE_AS_OF)},
    "fin_operating_loss": {("A", JAN), ("B", JAN), ("C", JAN)},
    "obs_staff_leaving": {("A", JUN), ("B", JAN)},
    "rep_dpd_90": set(),
}
UNAVAILABLE = {("rep_dpd_90", "D", JAN)}


def _key(local_id: str) -> str:
    return f"{INST}:{local_id}"


def build(con=None) -> Tiny:
    """The warehouse of the module docstring, in memory or on the connection given."""
    tiny = Tiny()
    if con is not None:
        tiny.con.close()
        tiny.con = con
        migrate(con)
    businesses = sorted({b for b, _ in ROWS})
    tiny.add("business", INST, *[dict(local_id=b, name=f"株式会社{b}", entity_type="corporation",
                                      jsic_division="E", prefecture_code=13, received_on=date(2023, 12, 1))
                                 for b in businesses])
    tiny.add("events", INST, dict(event_id="ev1", local_id="A", event_type="restructuring",
                                  occurred_on=date(2024, 10, 15), received_on=date(2024, 10, 20)))
    # the latest delivery of any feed fixes the observed date
    tiny.add("business", INST, dict(local_id="A", name="株式会社A", entity_type="corporation", jsic_division="E",
                                    prefecture_code=13, received_on=OBSERVED))
    values = []
    for indicator_id, fired in FIRED.items():
        ind = indicators()[indicator_id]
        for b, as_of in ROWS:
            available = (indicator_id, b, as_of) not in UNAVAILABLE
            values.append((_key(b), as_of, indicator_id, ind.family.value, 1.0 if available else None, available,
                           ((b, as_of) in fired) if available else None, ind.severity.value))
    # a measure is a figure, never a sign: its rows must not reach the table
    values += [(_key(b), as_of, "fin_equity_ratio", "financials", 0.1, True, None, "measure") for b, as_of in ROWS]
    tiny.con.executemany(
        "INSERT INTO indicator_values (business_key, as_of, indicator_id, family, value, available, fired, severity, computed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)", values)
    tiny.con.execute("CREATE OR REPLACE TABLE feature_panel AS SELECT DISTINCT business_key, as_of FROM indicator_values")
    return tiny


@pytest.fixture(scope="module")
def quality():
    frame = sign_quality(build().con)
    return {r["indicator_id"]: r for r in frame.iter_rows(named=True)}, frame


def test_thresholds_are_the_documented_ones():
    assert (WEAK_HEALTHY_RATE, WEAK_LIFT) == (0.25, 1.5)


def test_a_sign_that_separates_is_not_weak(quality):
    row = quality[0]["acc_failed_debits"]
    # available: A-Jan, A-Jun, B, C, D, G, E (A-Nov is already in the event)
    assert row["rows"] == 7
    assert (row["before_rows"], row["before_rate"]) == (1, 1.0)  # A-Jan fired
    assert (row["healthy_rows"], row["healthy_rate"]) == (4, 0.25)  # B of B, C, D, G
    assert row["lift"] == pytest.approx(4.0)
    # outcome observed and fired: A-Jan, A-Jun (both followed by the event), B (not); E is not observed
    assert row["fired_rows"] == 3 and row["precision"] == pytest.approx(2 / 3)
    assert row["base_rate"] == pytest.approx(2 / 6)  # A-Jan, A-Jun of A-Jan, A-Jun, B, C, D, G
    # exactly a quarter of healthy months is not "more than" a quarter
    assert row["weak"] is False and row["weak_reason"] is None


def test_a_sign_firing_for_many_healthy_businesses_is_weak_whatever_its_lift(quality):
    row = quality[0]["fin_operating_loss"]
    assert (row["before_rate"], row["healthy_rate"]) == (1.0, 0.5)  # B and C of 4 healthy
    assert row["lift"] == pytest.approx(2.0)
    assert row["precision"] == pytest.approx(1 / 3)
    assert row["weak"] is True and row["weak_reason"] == "fires for more than 25% of healthy months"


def test_a_sign_that_does_not_come_before_events_is_weak(quality):
    row = quality[0]["obs_staff_leaving"]
    assert (row["before_rate"], row["healthy_rate"]) == (0.0, 0.25)
    assert row["lift"] == 0.0
    assert row["precision"] == pytest.approx(1 / 2)  # A-Jun (followed by the event) and B
    assert row["weak"] is True and row["weak_reason"] == "lift below 1.5"


def test_a_sign_that_never_fires_is_not_measured_and_unavailable_rows_do_not_count(quality):
    row = quality[0]["rep_dpd_90"]
    assert row["rows"] == 6 and row["healthy_rows"] == 3  # D unavailable
    assert (row["before_rate"], row["healthy_rate"], row["fired_rows"]) == (0.0, 0.0, 0)
    assert row["lift"] is None and row["precision"] is None and row["weak"] is None


def test_every_sign_of_the_catalog_is_listed_once_measures_never(quality):
    by_id, frame = quality
    assert frame["indicator_id"].to_list().count("acc_failed_debits") == 1
    assert set(by_id) == set(indicators())
    assert "fin_equity_ratio" not in by_id
    assert by_id["rep_dpd_30"]["rows"] == 0 and by_id["rep_dpd_30"]["weak"] is None  # not scanned here


def test_sorted_by_lift_highest_first(quality):
    _, frame = quality
    assert frame["indicator_id"].to_list()[:3] == ["acc_failed_debits", "fin_operating_loss", "obs_staff_leaving"]


def test_infinite_lift_when_it_never_fires_for_healthy_months():
    tiny = Tiny()
    tiny.add("events", INST, dict(event_id="ev1", local_id="A", event_type="restructuring",
                                  occurred_on=date(2024, 10, 15), received_on=OBSERVED))
    ind = indicators()["acc_tax_stopped"]
    tiny.con.executemany(
        "INSERT INTO indicator_values (business_key, as_of, indicator_id, family, value, available, fired, severity, computed_at) "
        "VALUES (?, ?, ?, ?, 1.0, true, ?, ?, now()::TIMESTAMP)",
        [(_key("A"), JAN, ind.id, ind.family.value, True, ind.severity.value),
         (_key("B"), JAN, ind.id, ind.family.value, False, ind.severity.value)])
    tiny.add("business", INST, dict(local_id="B", name="株式会社B", entity_type="corporation", jsic_division="E",
                                    prefecture_code=13, received_on=date(2023, 12, 1)))
    tiny.con.execute("CREATE OR REPLACE TABLE feature_panel AS SELECT DISTINCT business_key, as_of FROM indicator_values")
    row = sign_quality(tiny.con).filter(indicator_id="acc_tax_stopped").row(0, named=True)
    assert row["before_rate"] == 1.0 and row["healthy_rate"] == 0.0
    assert math.isinf(row["lift"]) and row["weak"] is False and row["precision"] == 1.0


def test_cli_prints_the_table_for_a_data_folder_and_the_catalog_without_the_flag(tmp_path, monkeypatch):
    import duckdb
    from rich.console import Console
    from typer.testing import CliRunner

    from yocho import cli

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    build(con)
    con.close()
    monkeypatch.setattr(cli, "console", Console(width=400))
    result = CliRunner().invoke(cli.app, ["indicators", "--quality", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 5}
    assert "4.00×" in lines["acc_failed_debits"] and "66.7%" in lines["acc_failed_debits"]
    assert "弱い / weak" not in lines["acc_failed_debits"]
    assert "弱い / weak" in lines["fin_operating_loss"] and "弱い / weak" in lines["obs_staff_leaving"]
    assert "2 of " in result.output and "signs weak (弱い)" in result.output
    order = [line.split("│")[1].strip() for line in result.output.splitlines() if line.count("│") > 5]
    assert order[:3] == ["acc_failed_debits", "fin_operating_loss", "obs_staff_leaving"]

    catalog = CliRunner().invoke(cli.app, ["indicators"])
    assert catalog.exit_code == 0 and catalog.output.startswith("# 予兆管理の着眼点")

    missing = CliRunner().invoke(cli.app, ["indicators", "--quality", "--data-dir", str(tmp_path / "nothing")])
    assert missing.exit_code == 1 and "no warehouse" in missing.output


def test_markdown_lists_the_signs_with_data_and_names_the_rest(quality):
    from features.quality import quality_markdown

    _, frame = quality
    lines = quality_markdown(frame)
    rows = [line for line in lines if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == ["acc_failed_debits", "fin_operating_loss", "obs_staff_leaving",
                                               "rep_dpd_90"]
    assert "| 4.00× | 66.7% | 3 | 33.3% |" in rows[0] and rows[0].endswith("|  |")
    assert "弱い / weak (fires for more than 25% of healthy months)" in rows[1]
    assert rows[3].endswith("| — |")  # never fired: not measured
    assert "2 of 4 signs with data are weak" in "\n".join(lines)
    assert lines[-1].startswith(f"No data for {len(indicators()) - 4} signs: ")
