"""Quarantine reasons keep their real figures; counting groups them by reason code; the
validation report opens with a summary per reason and per file."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from tests.landing_files import bad_corporate_number, corporate_number, write_csv
from yocho.ingest.landing import discover
from yocho.ingest.pipeline import ingest_files
from yocho.ingest.reasons import REASON_CODES, reason_code, reason_code_sql
from yocho.ingest.report import write_validation_report
from yocho.ingest.summary import summarise
from yocho.ingest.validate import known_bank_codes
from yocho.settings import Settings
from yocho.warehouse.db import warehouse

JA_HEADER = ["保証番号", "顧客番号", "法人番号", "金融機関コード", "対象年月", "保証残高", "保証状態", "受領日"]

# one reason of each wording the validators produce, as stored, and its code
WORDED = {
    "duplicate key (guarantee_id, month, received_on) within the file": "duplicate_in_file",
    "another version of this record with the same received_on is already loaded (key guarantee_id, month, "
    "received_on) from file a.csv row 12; send a correction with a later received_on": "conflicting_version",
    "duplicate of a record already loaded (key event_id; this feed takes no corrections) from file e.csv row 3":
        "duplicate_of_loaded",
    "period_end is not after period_start": "period_order",
    "local_id (顧客番号) is required but empty": "required",
    "below minimum 0": "below_minimum",
    "above maximum 1000": "above_maximum",
    "'謎' is not a known status (expected one of normal/正常, delinquent/延滞)": "unknown_category",
    "bank code 9998 not in the 全銀 bank code list": "unknown_bank_code",
    "法人番号 check digit invalid": "check_digit",
    "date is in the future (after 2026-11-24)": "future_date",
    "a sole proprietor (個人事業主) must not carry a 法人番号": "sole_proprietor_number",
    "not a real calendar date (expected YYYY-MM-DD, YYYY/M/D, YYYYMMDD or 和暦 like 令和6年3月31日 / R6.3.31)":
        "not_a_real_date",
    "not a date (expected YYYY-MM-DD, YYYY/M/D, YYYYMMDD or 和暦 like 令和6年3月31日 / R6.3.31)": "not_a_date",
    "not a real calendar month (expected YYYY-MM, YYYY/M, YYYYMM, 和暦 like 令和6年3月 / R6.3, or a full date)":
        "not_a_real_month",
    "not a month (expected YYYY-MM, YYYY/M, YYYYMM, 和暦 like 令和6年3月 / R6.3, or a full date)": "not_a_month",
    "number too large": "number_too_large",
    "not an amount in 千円 (expected digits like 1,234, 1,077.4 or △1,234.5)": "not_an_amount",
    "not a whole number of yen (expected digits like 1,234,567, △1,234 or ¥1,234)": "not_a_whole_number",
    "not a number (expected digits like 1,234.5 or △0.25)": "not_a_number",
    "not a yes/no value (expected 1/0, true/false, Y/N, 有/無, ○/× or はい/いいえ)": "not_a_yes_no",
    "not a 13-digit 法人番号": "not_a_corporate_number",
    "not a 4-digit bank code (統一金融機関コード)": "not_a_bank_code",
    "unreadable text": "unreadable_text",
}


def test_every_wording_has_its_code_in_python_and_in_duckdb_alike():
    assert {reason_code(r) for r in WORDED} == {code for code, _, _ in REASON_CODES}  # each code is reachable
    for reason, code in WORDED.items():
        assert reason_code(reason) == code, reason
    unknown = "row 12 is odd in 3 ways"
    assert reason_code(unknown) == "other: row N is odd in N ways"  # a new wording is still grouped
    con = duckdb.connect()
    con.execute("CREATE TABLE q (reason VARCHAR)")
    con.executemany("INSERT INTO q VALUES (?)", [[r] for r in [*WORDED, unknown]])
    in_sql = dict(con.execute(f"SELECT reason, {reason_code_sql()} FROM q").fetchall())
    assert in_sql == {r: reason_code(r) for r in [*WORDED, unknown]}


@pytest.fixture
def ingested(settings: Settings) -> Settings:
    settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"max_reject_ratio": 0.5})})
    good = [[f"G{i}", f"C{i:04d}", corporate_number(i), "0116", "2024-03", "1000", "正常", "2024-04-15"]
            for i in range(100, 120)]
    bad = [
        ["G1", "C0001", corporate_number(1), "0116", "2024-03", "△5,000", "正常", "2024-04-15"],  # row 2
        ["G2", "C0002", corporate_number(2), "0116", "2024-03", "1000", "謎", "2024-04-15"],  # 3
        ["G3", "C0003", corporate_number(3), "0116", "2024-03", "1000", "不明", "2024-04-15"],  # 4
        ["G4", "C0004", corporate_number(4), "0116", "2024-03", "1000", "正常", "2027-01-01"],  # 5
        ["G5", "C0005", corporate_number(5), "0116", "2024-03", "1000", "正常", "2024-02-30"],  # 6
        ["G6", "C0006", bad_corporate_number(6), "0116", "2024-03", "1000", "正常", "2024-04-15"],  # 7
        ["G7", "C0007", corporate_number(7), "0116", "2024-03", "△7", "正常", "2024-04-15"],  # 8
    ]
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "mixed.csv", JA_HEADER, bad + good)
    # more than half its rows bad: rejected whole
    write_csv(settings.landing_dir / "cga_14" / "guarantees" / "worse.csv", JA_HEADER,
              [[f"H{i}", "C1", corporate_number(i), "0116", "2024-03", "x", "正常", "2024-04-15"] for i in range(3)]
              + [[f"H{i}", f"C{i}", corporate_number(i), "0116", "2024-03", "1", "正常", "2024-04-15"]
                 for i in range(50, 52)])
    files, _ = discover(settings.landing_dir, known_bank_codes())
    with warehouse(settings) as con:
        outcomes = {Path(o.path).name: o for o in ingest_files(con, files, settings, known_bank_codes())}
    assert outcomes["mixed.csv"].status == "loaded" and outcomes["worse.csv"].status == "rejected"
    return settings


def test_reasons_are_counted_by_code_and_shown_with_their_real_figures(ingested: Settings):
    with warehouse(ingested, read_only=True) as con:
        summary = summarise(con)
    assert [(r.feed, r.column, r.rows) for r in summary.reasons] == [(f, c, n) for f, c, _, n in summary.top_reasons]
    shown = {(r.column, r.code): (reason, n) for r, (*_, reason, n) in zip(summary.reasons, summary.top_reasons, strict=True)}
    assert shown[("balance_jpy", "below_minimum")] == ("below minimum 0", 2)  # rows 2 and 8
    assert shown[("received_on", "future_date")] == ("date is in the future (after 2026-11-24)", 1)
    assert not any(re.search(r"\bN\b|N-N-N|令和N", reason) for _, _, reason, _ in summary.top_reasons)
    by_code = {r.code: r for r in summary.reasons}
    # two unknown statuses, one kind of defect: counted together, both wordings kept apart in the store
    status = by_code["unknown_category"]
    assert (status.rows, status.wordings, status.column) == (2, 2, "status")
    assert status.reason == "'謎' is not a known status (expected one of normal/正常, delinquent/延滞, " \
        "restructured/条件変更, subrogated/代位弁済済, repaid/完済)" and status.source_row == 3
    assert "他1件の文言" in shown[("status", "unknown_category")][0]
    real_date = by_code["not_a_real_date"]
    assert "令和6年3月31日" in real_date.reason and (real_date.source_row, real_date.value) == (6, "2024-02-30")
    assert by_code["check_digit"].file_name.endswith("mixed.csv") and by_code["check_digit"].source_row == 7
    # the rejected file's row errors count too: they are why it was refused
    assert by_code["not_a_whole_number"].rows == 3 and by_code["not_a_whole_number"].institution_id == "cga_14"


def test_the_validation_report_opens_with_a_summary_per_reason_and_per_file(ingested: Settings):
    with warehouse(ingested, read_only=True) as con:
        page = write_validation_report(con, ingested.reports_dir / "validation.html").read_text(encoding="utf-8")
    summary, details = page.split("<h2 id='details'>")
    assert "<h2 id='summary'>" in summary and "<h4>Quarantined rows</h4>" in details
    # totals: 27 + 5 rows; 20 loaded; 7 quarantined in mixed.csv; 5 in the rejected worse.csv
    assert "2 ファイル / files (1 却下 / rejected): 32 行 / rows, 20 取込 / loaded, 7 隔離 / quarantined, " \
           "5 却下ファイルの行 / in rejected files" in summary

    def row_of(table_part: str, first_cell: str) -> list[str]:
        at = table_part.index(first_cell)
        row = table_part[table_part.rindex("<tr>", 0, at):table_part.index("</tr>", at)]
        return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]

    per_file = summary[summary.index("ファイル別"):]
    mixed, worse = row_of(per_file, "mixed.csv"), row_of(per_file, "worse.csv")
    # file, institution, feed, status, rows, loaded, quarantined, rejected
    assert mixed[1:8] == ["cga_13", "guarantees", "loaded", "27", "20", "7", "0"]
    assert worse[1:8] == ["cga_14", "guarantees", "rejected", "5", "0", "0", "5"]
    per_reason = summary[summary.index("隔離理由"):summary.index("ファイル別")]
    below = row_of(per_reason, "下限未満 / below_minimum")
    # code, feed, column, rows, example reason, file, row, value
    assert below[1:5] == ["guarantees", "balance_jpy", "2", "below minimum 0"]
    assert below[5].endswith("mixed.csv") and below[6:] == ["2", "△5,000"]
    # the example links to the file's section below, where every quarantined row is listed
    anchor = re.search(r"href='#([^']+)'>[^<]*mixed.csv", per_reason).group(1)
    assert f"<h3 id='{anchor}'>" in details
    assert "future_date" in details and "date is in the future (after 2026-11-24)" in details
