"""The GX suite per feed: each rule, its plain-English reason, and the row it points at."""
from __future__ import annotations

import json
import time
from datetime import date

import polars as pl
import pytest

from tests.landing_files import bad_corporate_number, corporate_number
from yocho.contract import FEEDS
from yocho.ingest.parse import parse_feed
from yocho.ingest.validate import (
    ExpectColumnValuesToBeValidCorporateNumber,
    _context,
    build_suite,
    known_bank_codes,
    validate_batch,
    validate_files,
)

TODAY = date(2026, 11, 24)
BANKS = frozenset({"0116", "0117", "0005"})  # small and fixed: the tests do not depend on zengin data

GUARANTEE_COLUMNS = ["guarantee_id", "local_id", "corporate_number", "lender_bank_code", "month",
                     "balance_jpy", "status", "received_on"]


def _guarantee(i: int, **overrides: str | None) -> dict[str, str | None]:
    row = dict(zip(GUARANTEE_COLUMNS, [f"G{i}", f"C{i}", corporate_number(i), "0116", "2024-03",
                                       f"{i * 1000}", "normal", "2024-04-15"], strict=True))
    return row | overrides


def _rows(feed_name: str, records: list[dict[str, str | None]]) -> pl.DataFrame:
    parsed = parse_feed(pl.DataFrame(records), FEEDS[feed_name], file_name="t.csv")
    assert parsed.errors.is_empty(), parsed.errors
    return parsed.rows


def _validate(feed_name: str, rows: pl.DataFrame):
    return validate_batch(rows, FEEDS[feed_name], today=TODAY, known_bank_codes=BANKS)


def test_clean_rows_pass_with_one_serialisable_result_per_expectation():
    outcome = _validate("guarantees", _rows("guarantees", [_guarantee(i) for i in range(1, 6)]))
    assert outcome.success and outcome.errors.is_empty()
    suite = build_suite(FEEDS["guarantees"], today=TODAY, known_bank_codes=BANKS)
    assert len(outcome.results) == len(suite.expectations)
    assert {r["expectation"] for r in outcome.results} == {
        "expect_column_values_to_not_be_null", "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set", "expect_column_values_to_be_valid_corporate_number",
        "expect_compound_columns_to_be_unique",
    }
    assert all(r["element_count"] == 5 and r["unexpected_count"] == 0 for r in outcome.results)
    json.dumps(outcome.results, ensure_ascii=False)  # stored in the warehouse as is
    assert outcome.errors.schema == pl.Schema(
        {"source_row": pl.Int32, "column": pl.Utf8, "reason": pl.Utf8, "value": pl.Utf8}
    )


@pytest.mark.parametrize(("override", "column", "reason", "value"), [
    ({"corporate_number": bad_corporate_number(3)}, "corporate_number", "法人番号 check digit invalid",
     bad_corporate_number(3)),
    ({"lender_bank_code": "9998"}, "lender_bank_code", "bank code 9998 not in the 全銀 bank code list", "9998"),
    ({"received_on": "2026-11-25"}, "received_on", "date is in the future (after 2026-11-24)", "2026-11-25"),
    ({"month": "2026-12"}, "month", "date is in the future (after 2026-11-24)", "2026-12-01"),
    ({"balance_jpy": "△5"}, "balance_jpy", "below minimum 0", "-5"),
    ({"balance_jpy": "10000000000001"}, "balance_jpy", "above maximum 10000000000000", "10000000000001"),
    ({"local_id": None}, "local_id", "local_id (顧客番号) is required but empty", None),
])
def test_each_rule_reports_row_column_and_reason(override, column, reason, value):
    records = [_guarantee(i) for i in range(1, 4)]
    records[1] = _guarantee(2, **override)
    outcome = _validate("guarantees", _rows("guarantees", records))
    assert not outcome.success
    assert outcome.errors.rows() == [(3, column, reason, value)]
    failed = [r for r in outcome.results if not r["success"]]
    assert len(failed) == 1 and failed[0]["column"] == column and failed[0]["unexpected_count"] == 1


def test_today_is_allowed_and_the_day_after_is_not():
    records = [_guarantee(1, received_on="2026-11-24"), _guarantee(2, received_on="2026-11-25")]
    outcome = _validate("guarantees", _rows("guarantees", records))
    assert outcome.errors["source_row"].to_list() == [3]


def test_every_row_of_a_duplicated_key_is_reported():
    records = [_guarantee(1), _guarantee(2), _guarantee(1, balance_jpy="5"), _guarantee(1, received_on="2024-04-16")]
    outcome = _validate("guarantees", _rows("guarantees", records))
    assert outcome.errors.rows() == [
        (2, None, "duplicate key (guarantee_id, month, received_on) within the file", "G1 / 2024-03-01 / 2024-04-15"),
        (4, None, "duplicate key (guarantee_id, month, received_on) within the file", "G1 / 2024-03-01 / 2024-04-15"),
    ]


def test_a_record_sent_twice_with_one_received_on_in_a_file_is_reported():
    records = [{"event_id": e, "local_id": "C1", "event_type": "dpd90", "occurred_on": "2024-01-01",
                "received_on": "2024-01-02"} for e in ("E1", "E2", "E1")]
    outcome = _validate("events", _rows("events", records))
    assert outcome.errors.select("source_row", "value").rows() == [(2, "E1 / 2024-01-02"), (4, "E1 / 2024-01-02")]
    assert all(r.startswith("duplicate key (event_id, received_on)") for r in outcome.errors["reason"])


def test_two_versions_of_a_record_in_one_file_are_both_accepted():
    records = [{"event_id": "E1", "local_id": "C1", "event_type": "dpd90", "occurred_on": "2024-01-01",
                "received_on": received} for received in ("2024-01-02", "2024-02-02")]
    assert _validate("events", _rows("events", records)).errors.is_empty()


def test_rows_with_a_missing_key_part_are_not_called_duplicates():
    records = [_guarantee(1, received_on=None), _guarantee(1, received_on=None)]
    outcome = _validate("guarantees", _rows("guarantees", records))
    assert set(outcome.errors["reason"]) == {"received_on (受領日) is required but empty"}


def test_period_end_must_follow_period_start():
    base = {"local_id": "C1", "statement_type": "annual", "sales_jpy": "1", "received_on": "2024-06-01"}
    records = [
        base | {"period_start": "2023-04-01", "period_end": "2024-03-31"},
        base | {"local_id": "C2", "period_start": "2024-03-31", "period_end": "2023-04-01"},
        base | {"local_id": "C3", "period_start": "2024-03-31", "period_end": "2024-03-31"},
    ]
    outcome = _validate("financials", _rows("financials", records))
    assert outcome.errors.rows() == [
        (3, "period_end", "period_end is not after period_start", "2024-03-31 .. 2023-04-01"),
        (4, "period_end", "period_end is not after period_start", "2024-03-31 .. 2024-03-31"),
    ]


def test_sole_proprietor_must_not_carry_a_corporate_number():
    base = {"name": "x", "jsic_division": "E", "prefecture_code": "13", "received_on": "2024-01-01"}
    records = [
        base | {"local_id": "A", "corporate_number": corporate_number(1), "entity_type": "法人"},
        base | {"local_id": "B", "corporate_number": corporate_number(2), "entity_type": "個人事業主"},
        base | {"local_id": "C", "corporate_number": None, "entity_type": "個人事業主"},
    ]
    outcome = _validate("business", _rows("business", records))
    assert outcome.errors.rows() == [
        (3, "corporate_number", "a sole proprietor (個人事業主) must not carry a 法人番号", corporate_number(2)),
    ]


def test_category_outside_the_contract_is_caught_even_when_not_parsed_here():
    rows = _rows("guarantees", [_guarantee(1), _guarantee(2)]).with_columns(
        pl.Series("status", ["normal", "lost"])
    )
    outcome = _validate("guarantees", rows)
    assert outcome.errors.rows() == [(3, "status", "'lost' is not a known status", "lost")]


def test_custom_expectation_is_a_real_gx_column_map_expectation():
    suite = build_suite(FEEDS["loans"], today=TODAY, known_bank_codes=BANKS)
    custom = [e for e in suite.expectations if isinstance(e, ExpectColumnValuesToBeValidCorporateNumber)]
    assert [e.column for e in custom] == ["corporate_number"]
    assert custom[0].expectation_type == "expect_column_values_to_be_valid_corporate_number"


def test_repeated_runs_share_one_context_and_leave_nothing_behind():
    rows = _rows("guarantees", [_guarantee(1)])
    before = {s.name for s in _context().suites.all()}
    for today in (TODAY, date(2024, 4, 14)):
        validate_batch(rows, FEEDS["guarantees"], today=today, known_bank_codes=BANKS)
    outcome = validate_batch(rows, FEEDS["guarantees"], today=date(2024, 4, 14), known_bank_codes=BANKS)
    assert outcome.errors["reason"].to_list() == ["date is in the future (after 2024-04-14)"]
    assert {s.name for s in _context().suites.all()} == before


def test_empty_batch_passes():
    rows = _rows("guarantees", [_guarantee(1)]).clear()
    outcome = _validate("guarantees", rows)
    assert outcome.success and outcome.errors.is_empty()


def test_known_bank_codes_come_from_the_zengin_list():
    codes = known_bank_codes()
    assert {"0001", "0005", "0116"} <= codes and "9998" not in codes
    assert all(len(c) == 4 and c.isdigit() for c in codes)


@pytest.mark.slow
def test_a_million_loan_rows_validate_in_seconds():
    n = 1_000_000
    rows = pl.select(
        pl.format("L{}", pl.int_range(n)).alias("loan_id"),
        pl.format("C{}", pl.int_range(n) % 30_000).alias("local_id"),
        pl.lit(corporate_number(1)).alias("corporate_number"),
        pl.lit(date(2026, 9, 1)).alias("month"),
        (pl.int_range(n) * 7 % 1_000_000_000).alias("balance_jpy"),
        pl.lit(10_000).alias("scheduled_jpy"),
        pl.lit(10_000).alias("paid_jpy"),
        pl.lit(0, dtype=pl.Int32).alias("days_past_due"),
        pl.lit(False).alias("restructured"),
        pl.lit(True).alias("guaranteed"),
        pl.lit(None, dtype=pl.Int64).alias("overdraft_limit_jpy"),
        pl.lit(None, dtype=pl.Int64).alias("overdraft_used_jpy"),
        pl.lit(date(2026, 10, 15)).alias("received_on"),
        pl.int_range(2, n + 2, dtype=pl.Int32).alias("source_row"),
    ).with_columns(pl.when(pl.col("source_row") % 100_003 == 0).then(-1).otherwise("balance_jpy").alias("balance_jpy"))
    started = time.perf_counter()
    outcome = _validate("loans", rows)
    elapsed = time.perf_counter() - started
    assert outcome.errors["reason"].unique().to_list() == ["below minimum 0"]
    assert outcome.errors.height == 9
    assert elapsed < 30, elapsed


def test_files_validated_in_one_run_get_the_outcome_each_would_get_alone():
    # One run over three files of a feed: the suite is paid once, but keys are unique
    # within each file (the same key in two files is not a duplicate), and each file's
    # errors, counts and success are its own.
    clean = _rows("guarantees", [_guarantee(i) for i in range(1, 6)])
    same_keys = _rows("guarantees", [_guarantee(i) for i in range(1, 4)])
    bad = _rows("guarantees", [_guarantee(7), _guarantee(7), _guarantee(8, received_on="2027-01-01"),
                               _guarantee(9, lender_bank_code="9998")])
    files = [(clean, None), (same_keys, None), (bad, None)]
    together = validate_files(files, FEEDS["guarantees"], today=TODAY, known_bank_codes=BANKS)
    alone = [_validate("guarantees", rows) for rows, _ in files]
    assert [o.success for o in together] == [True, True, False]
    for joint, single in zip(together, alone, strict=True):
        assert joint.errors.to_dicts() == single.errors.to_dicts()
        assert joint.results == single.results
    reasons = sorted(together[2].errors["reason"].to_list())
    assert reasons == sorted([
        "bank code 9998 not in the 全銀 bank code list",
        "date is in the future (after 2026-11-24)",
        "duplicate key (guarantee_id, month, received_on) within the file",
        "duplicate key (guarantee_id, month, received_on) within the file",
    ])
    assert {r["unexpected_count"] for r in together[0].results} == {0}
    assert [r["element_count"] for r in together[2].results][0] == 4
