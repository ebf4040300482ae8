"""Reading landed files and parsing the spellings institutions actually use."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from yocho.contract import ENTITY_TYPES, FEEDS, JSIC_DIVISIONS, Column, Feed, Kind
from yocho.ingest.errors import IngestError
from yocho.ingest.parse import parse_feed, read_raw

GUARANTEES = FEEDS["guarantees"]
JA_HEADER = ["保証番号", "顧客番号", "法人番号", "金融機関コード", "対象年月", "保証残高", "保証状態", "受領日"]
ROW = ["G1", "C0001", "8000000000001", "0116", "令和6年3月", "△1,234", "正常", "R6.4.15"]


def _csv(path: Path, lines: list[list[str]], encoding: str) -> Path:
    def cell(text: str) -> str:
        return f'"{text}"' if "," in text else text

    path.write_bytes(("\r\n".join(",".join(map(cell, cells)) for cells in lines) + "\r\n").encode(encoding))
    return path


def _one_column_feed(kind: Kind, categories: dict[str, str] | None = None) -> Feed:
    return Feed(
        name="probe", ja="検査", description="one column under test", sources=(), record_key=("id",), time_column=None,
        columns=(Column("id", "番号", Kind.TEXT, "key"),
                 Column("v", "値", kind, "under test", required=False, categories=categories)),
    )


def _parse_one(kind: Kind, text: str, categories: dict[str, str] | None = None):
    raw = pl.DataFrame({"id": ["r1"], "v": [text]})
    return parse_feed(raw, _one_column_feed(kind, categories), file_name="probe.csv")


# --- read_raw -------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["cp932", "utf-8-sig", "utf-8"])
def test_csv_in_each_encoding_reads_the_same_text(tmp_path: Path, encoding: str):
    path = _csv(tmp_path / "g.csv", [JA_HEADER, ROW, ["G2", "C0002", "", "0117", "2024/3", "\\1,000", "延滞", ""]], encoding)
    raw = read_raw(path)
    assert raw.columns == JA_HEADER
    assert raw.row(0) == tuple(ROW)
    # Empty cells are null; in cp932 the yen sign is byte 0x5C, which decodes as a backslash.
    assert raw.row(1) == ("G2", "C0002", None, "0117", "2024/3", "\\1,000", "延滞", None)
    assert all(dtype == pl.Utf8 for dtype in raw.dtypes)


def test_undecodable_csv_names_the_file_and_where(tmp_path: Path):
    path = tmp_path / "broken.csv"
    path.write_bytes("顧客番号\nC1\n".encode() + b"\x81\x00\xff\xfe\n")
    with pytest.raises(IngestError) as info:
        read_raw(path)
    message = str(info.value)
    assert "broken.csv" in message and "line 3" in message and "byte" in message


def test_bom_promises_utf8_and_is_held_to_it(tmp_path: Path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "顧客番号\n".encode("cp932"))
    with pytest.raises(IngestError, match=r"bom\.csv: not valid UTF-8"):
        read_raw(path)


def test_unknown_extension_and_empty_file_are_refused(tmp_path: Path):
    (tmp_path / "g.txt").write_text("a,b\n")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(IngestError, match=r"g\.txt: unsupported file type"):
        read_raw(tmp_path / "g.txt")
    with pytest.raises(IngestError, match=r"empty\.csv"):
        read_raw(tmp_path / "empty.csv")


def test_ragged_csv_is_refused_naming_the_file(tmp_path: Path):
    path = _csv(tmp_path / "ragged.csv", [["a", "b"], ["1", "2", "3", "4"]], "utf-8")
    with pytest.raises(IngestError, match=r"ragged\.csv"):
        read_raw(path)


def test_parquet_columns_become_text_with_iso_dates(tmp_path: Path):
    path = tmp_path / "g.parquet"
    pl.DataFrame({
        "受領日": [date(2024, 4, 15), None],
        "ts": [datetime(2024, 4, 15, 0, 0), datetime(2024, 4, 15, 9, 30)],
        "保証残高": [1234, -5],
        "money_as_float": [1234.0, None],
        "ratio": [0.25, 1e20],
        "flag": [True, False],
    }).write_parquet(path)
    raw = read_raw(path)
    assert raw.to_dict(as_series=False) == {
        "受領日": ["2024-04-15", None],
        "ts": ["2024-04-15 00:00:00", "2024-04-15 09:30:00"],
        "保証残高": ["1234", "-5"],
        "money_as_float": ["1234", None],
        "ratio": ["0.25", "1e+20"],
        "flag": ["true", "false"],
    }


def test_xlsx_cells_read_as_text_and_parse(tmp_path: Path):
    path = tmp_path / "g.xlsx"
    pl.DataFrame({
        "保証番号": ["G1", "G2"],
        "顧客番号": ["C1", "C2"],
        "金融機関コード": [116, 117],  # number cells: the spreadsheet dropped the leading zero
        "対象年月": [date(2024, 3, 1), date(2024, 3, 1)],
        "保証残高": [1234, None],
        "保証状態": ["正常", "延滞"],
        "受領日": [date(2024, 4, 15), date(2024, 4, 16)],
    }).write_excel(path)
    raw = read_raw(path)
    assert all(dtype == pl.Utf8 for dtype in raw.dtypes)
    assert raw["保証残高"].to_list() == ["1234", None]
    parsed = parse_feed(raw, GUARANTEES, file_name="g.xlsx")
    assert parsed.errors.is_empty(), parsed.errors
    assert parsed.rows.select("lender_bank_code", "month", "balance_jpy", "received_on", "source_row").rows() == [
        ("0116", date(2024, 3, 1), 1234, date(2024, 4, 15), 2),
        ("0117", date(2024, 3, 1), None, date(2024, 4, 16), 3),
    ]


# --- headers ----------------------------------------------------------------------

def test_headers_in_english_or_japanese_with_stray_width_and_spaces(tmp_path: Path):
    raw = pl.DataFrame({
        " 保証番号 ": ["G1"], "ＬＯＣＡＬ＿ＩＤ": ["C1"], "lender_bank_code": ["0116"], "対象年月": ["2024-03"],
        "balance_jpy": ["1"], "保証状態": ["正常"], "受領日　": ["2024-04-15"], "備考": ["x"],
    })
    parsed = parse_feed(raw, GUARANTEES, file_name="g.csv")
    assert parsed.rows.columns == [*GUARANTEES.column_names, "source_row"]
    assert parsed.ignored_columns == ("備考",)
    assert parsed.rows["local_id"].to_list() == ["C1"]
    # corporate_number is optional: absent, it is an all-null text column.
    assert parsed.rows["corporate_number"].dtype == pl.Utf8
    assert parsed.rows["corporate_number"].to_list() == [None]


def test_missing_required_columns_name_file_and_both_spellings():
    raw = pl.DataFrame({h: [v] for h, v in zip(JA_HEADER, ROW, strict=True) if h not in ("保証残高", "受領日")})
    with pytest.raises(IngestError) as info:
        parse_feed(raw, GUARANTEES, file_name="cga_13/guarantees/nobalance.csv")
    message = str(info.value)
    assert "cga_13/guarantees/nobalance.csv" in message
    assert "balance_jpy (保証残高)" in message and "received_on (受領日)" in message


def test_the_same_column_twice_is_refused():
    raw = pl.DataFrame({**{h: [v] for h, v in zip(JA_HEADER, ROW, strict=True)}, "local_id": ["C9"]})
    with pytest.raises(IngestError, match=r"g\.csv: columns '顧客番号' and 'local_id' both give local_id"):
        parse_feed(raw, GUARANTEES, file_name="g.csv")


def test_source_rows_follow_the_file_and_blank_lines_are_skipped(tmp_path: Path):
    blank = [""] * len(JA_HEADER)
    path = _csv(tmp_path / "g.csv", [JA_HEADER, ROW, blank, ["G3", *ROW[1:]], ["　", *blank[1:]]], "cp932")
    parsed = parse_feed(read_raw(path), GUARANTEES, file_name="g.csv")
    assert parsed.rows["source_row"].to_list() == [2, 4]
    assert parsed.rows["source_row"].dtype == pl.Int32
    assert parsed.errors.is_empty()


# --- values -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("1,234,567", 1234567), ("１２３４", 1234), ("△1,234", -1234), ("▲1234", -1234), ("-1234", -1234),
    ("1234円", 1234), ("¥1,234", 1234), ("￥１，２３４", 1234), ("\\1,234", 1234), ("－５", -5),
    ("\u22125", -5), ("△ 1,234 円", -1234), ("1234.0", 1234), ("　1,234　", 1234), ("0", 0),
    ("9,999,999,999,999", 9_999_999_999_999),
])
def test_yen_spellings(text: str, expected: int):
    parsed = _parse_one(Kind.JPY, text)
    assert parsed.errors.is_empty(), parsed.errors
    assert parsed.rows["v"].dtype == pl.Int64 and parsed.rows["v"].to_list() == [expected]


@pytest.mark.parametrize(("text", "expected"), [("47", 47), ("４７", 47), ("△3", -3), ("1,000", 1000)])
def test_int_spellings(text: str, expected: int):
    parsed = _parse_one(Kind.INT, text)
    assert parsed.rows["v"].dtype == pl.Int32 and parsed.rows["v"].to_list() == [expected]


@pytest.mark.parametrize(("text", "expected"), [
    ("1.5", 1.5), ("１．５", 1.5), ("△0.25", -0.25), ("1,234.5", 1234.5), ("-2", -2.0), ("1e-3", 0.001),
])
def test_float_spellings(text: str, expected: float):
    parsed = _parse_one(Kind.FLOAT, text)
    assert parsed.rows["v"].dtype == pl.Float64 and parsed.rows["v"].to_list() == [expected]


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03-31", date(2024, 3, 31)), ("2024/3/31", date(2024, 3, 31)), ("20240331", date(2024, 3, 31)),
    ("2024.3.31", date(2024, 3, 31)), ("２０２４／０３／３１", date(2024, 3, 31)),
    ("2024-03-31 00:00:00", date(2024, 3, 31)), ("2024年3月31日", date(2024, 3, 31)),
    ("令和6年3月31日", date(2024, 3, 31)), ("R6.3.31", date(2024, 3, 31)), ("R06/03/31", date(2024, 3, 31)),
    ("r6.3.31", date(2024, 3, 31)), ("令和 6年 3月 31日", date(2024, 3, 31)),
    ("平成31年4月30日", date(2019, 4, 30)), ("H31.4.30", date(2019, 4, 30)), ("㍻31年4月30日", date(2019, 4, 30)),
    ("令和元年5月1日", date(2019, 5, 1)), ("R元.5.1", date(2019, 5, 1)),
    ("昭和64年1月7日", date(1989, 1, 7)), ("S64.1.7", date(1989, 1, 7)), ("大正15年12月24日", date(1926, 12, 24)),
    ("明治45年7月29日", date(1912, 7, 29)),
])
def test_date_spellings(text: str, expected: date):
    parsed = _parse_one(Kind.DATE, text)
    assert parsed.errors.is_empty(), parsed.errors
    assert parsed.rows["v"].dtype == pl.Date and parsed.rows["v"].to_list() == [expected]


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03", date(2024, 3, 1)), ("2024/03", date(2024, 3, 1)), ("2024/3", date(2024, 3, 1)),
    ("202403", date(2024, 3, 1)), ("2024年3月", date(2024, 3, 1)), ("令和6年3月", date(2024, 3, 1)),
    ("R6.3", date(2024, 3, 1)), ("R06/03", date(2024, 3, 1)), ("令和元年5月", date(2019, 5, 1)),
    ("H31.4", date(2019, 4, 1)), ("２０２４－０３", date(2024, 3, 1)),
    ("2024-03-31", date(2024, 3, 1)), ("令和6年3月31日", date(2024, 3, 1)), ("20240331", date(2024, 3, 1)),
])
def test_month_spellings(text: str, expected: date):
    parsed = _parse_one(Kind.MONTH, text)
    assert parsed.errors.is_empty(), parsed.errors
    assert parsed.rows["v"].to_list() == [expected]


@pytest.mark.parametrize(("text", "expected"), [
    ("1", True), ("0", False), ("true", True), ("FALSE", False), ("True", True), ("Y", True), ("n", False),
    ("有", True), ("無", False), ("○", True), ("〇", True), ("×", False), ("はい", True), ("いいえ", False),
    ("１", True),
])
def test_bool_spellings(text: str, expected: bool):
    parsed = _parse_one(Kind.BOOL, text)
    assert parsed.rows["v"].dtype == pl.Boolean and parsed.rows["v"].to_list() == [expected]


@pytest.mark.parametrize(("text", "categories", "expected"), [
    ("corporation", ENTITY_TYPES, "corporation"),
    ("法人", ENTITY_TYPES, "corporation"),
    ("個人事業主", ENTITY_TYPES, "sole_proprietor"),
    ("E", JSIC_DIVISIONS, "E"),
    ("ｅ", JSIC_DIVISIONS, "E"),
    ("製造業", JSIC_DIVISIONS, "E"),
    # The contract writes full-width punctuation; senders often type half-width.
    ("サービス業(他に分類されないもの)", JSIC_DIVISIONS, "R"),
    ("農業，林業", JSIC_DIVISIONS, "A"),
])
def test_category_code_or_label(text: str, categories: dict[str, str], expected: str):
    parsed = _parse_one(Kind.CATEGORY, text, categories)
    assert parsed.errors.is_empty(), parsed.errors
    assert parsed.rows["v"].to_list() == [expected]


@pytest.mark.parametrize(("kind", "text", "expected"), [
    (Kind.CORPORATE_NUMBER, "８０００００００００００１", "8000000000001"),
    (Kind.CORPORATE_NUMBER, " 8000000000001 ", "8000000000001"),
    (Kind.BANK_CODE, "０１１６", "0116"),
    (Kind.BANK_CODE, "116", "0116"),  # a spreadsheet's number cell lost the leading zero
    (Kind.BANK_CODE, "5", "0005"),
    (Kind.LOCAL_ID, " Ｃ００１ ", "C001"),
    (Kind.TEXT, "\u3000株式会社ﾃｽﾄ ", "株式会社ﾃｽﾄ"),  # free text is trimmed, not rewritten
    (Kind.TEXT, "   ", None),
])
def test_identifiers_and_text(kind: Kind, text: str, expected: str | None):
    parsed = _parse_one(kind, text)
    assert parsed.errors.is_empty(), parsed.errors
    assert parsed.rows["v"].to_list() == [expected]


def test_text_ids_are_width_folded_so_they_join_across_feeds():
    raw = pl.DataFrame({"id": ["Ｌ－００１"], "v": ["ﾃｽﾄ"]})
    parsed = parse_feed(raw, _one_column_feed(Kind.TEXT), file_name="probe.csv")
    assert parsed.rows.row(0) == ("L-001", "ﾃｽﾄ", 2)
    # guarantee_id is a key in guarantees but a plain column in incidents: same folding.
    incident = pl.DataFrame({"incident_id": ["I1"], "local_id": ["C1"], "guarantee_id": ["Ｇ１"],
                             "lender_bank_code": ["0116"], "incident_type": ["延滞"],
                             "occurred_on": ["R6.3.1"], "received_on": ["R6.3.2"]})
    assert parse_feed(incident, FEEDS["incidents"], file_name="i.csv").rows["guarantee_id"].to_list() == ["G1"]


@pytest.mark.parametrize(("kind", "text", "reason"), [
    (Kind.JPY, "1.5", "not a whole number of yen"),
    (Kind.JPY, "abc", "not a whole number of yen"),
    (Kind.JPY, "1-2", "not a whole number of yen"),
    (Kind.JPY, "99999999999999999999", "number too large"),
    (Kind.INT, "3000000000", "number too large"),
    (Kind.INT, "12個", "not a whole number"),
    (Kind.FLOAT, "1.2.3", "not a number"),
    (Kind.DATE, "2024-02-30", "not a real calendar date"),
    (Kind.DATE, "R6.13.1", "not a real calendar date"),
    (Kind.DATE, "tomorrow", "not a date (expected YYYY-MM-DD"),
    (Kind.DATE, "X6.3.31", "not a date"),
    (Kind.DATE, "2024-3", "not a date"),
    (Kind.MONTH, "2024-13", "not a real calendar month"),
    (Kind.MONTH, "March", "not a month (expected YYYY-MM"),
    (Kind.BOOL, "maybe", "not a yes/no value"),
    (Kind.CORPORATE_NUMBER, "123", "not a 13-digit 法人番号"),
    (Kind.CORPORATE_NUMBER, "800000000000A", "not a 13-digit 法人番号"),
    (Kind.CORPORATE_NUMBER, "8000-0000-0000-1", "not a 13-digit 法人番号"),
    (Kind.BANK_CODE, "11600", "not a 4-digit bank code"),
    (Kind.BANK_CODE, "01a6", "not a 4-digit bank code"),
])
def test_bad_value_is_null_with_row_column_reason_and_raw_text(kind: Kind, text: str, reason: str):
    parsed = _parse_one(kind, f" {text}")
    assert parsed.rows["v"].to_list() == [None]
    assert parsed.errors.rows() == [(2, "v", parsed.errors["reason"][0], f" {text}")]
    assert reason in parsed.errors["reason"][0]


def test_unknown_category_names_the_value_and_the_choices():
    parsed = _parse_one(Kind.CATEGORY, "謎", ENTITY_TYPES)
    assert parsed.errors.rows() == [
        (2, "v", "'謎' is not a known v (expected one of corporation/法人, sole_proprietor/個人事業主)", "謎"),
    ]


def test_errors_across_a_real_feed_point_at_row_and_column(tmp_path: Path):
    rows = [
        ROW,
        ["G2", "C0002", "123", "1x6", "2024-13", "1.5", "謎", "2024-02-30"],
        ["G3", "C0003", "", "0116", "R6.3", "1,000", "延滞", "R6.4.15"],
    ]
    path = _csv(tmp_path / "g.csv", [JA_HEADER, *rows], "cp932")
    parsed = parse_feed(read_raw(path), GUARANTEES, file_name="g.csv")
    assert parsed.rows.height == 3
    assert parsed.errors.select("source_row", "column", "value").rows() == [
        (3, "corporate_number", "123"), (3, "lender_bank_code", "1x6"), (3, "month", "2024-13"),
        (3, "balance_jpy", "1.5"), (3, "status", "謎"), (3, "received_on", "2024-02-30"),
    ]
    assert parsed.errors.schema == pl.Schema(
        {"source_row": pl.Int32, "column": pl.Utf8, "reason": pl.Utf8, "value": pl.Utf8}
    )
    first = parsed.rows.row(0, named=True)
    assert (first["balance_jpy"], first["status"], first["month"], first["received_on"]) == (
        -1234, "normal", date(2024, 3, 1), date(2024, 4, 15))


def test_repeated_header_is_refused_and_trailing_empty_columns_are_not_reported(tmp_path: Path):
    repeated = _csv(tmp_path / "twice.csv", [[*JA_HEADER, "顧客番号"], [*ROW, "C9"]], "utf-8")
    with pytest.raises(IngestError, match=r"twice\.csv: column '顧客番号' appears more than once"):
        parse_feed(read_raw(repeated), GUARANTEES, file_name="twice.csv")
    trailing = _csv(tmp_path / "trailing.csv", [[*JA_HEADER, "", ""], [*ROW, "", ""]], "utf-8")
    assert parse_feed(read_raw(trailing), GUARANTEES, file_name="trailing.csv").ignored_columns == ()


def test_header_only_file_parses_to_no_rows(tmp_path: Path):
    path = _csv(tmp_path / "g.csv", [JA_HEADER], "cp932")
    parsed = parse_feed(read_raw(path), GUARANTEES, file_name="g.csv")
    assert parsed.rows.height == 0 and parsed.errors.height == 0
    assert parsed.rows.schema["balance_jpy"] == pl.Int64


def test_undecodable_offset_counts_from_the_start_of_the_file(tmp_path: Path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfa\nb\xff\n")
    with pytest.raises(IngestError, match=r"bom\.csv: not valid UTF-8 text: undecodable byte\(s\) ff 0a at byte 6 \(line 2\)"):
        read_raw(path)


# --- units in yen headers (千円, 百万円) ------------------------------------------------

FINANCIALS = FEEDS["financials"]


def _statement(columns: dict[str, list[str]]) -> pl.DataFrame:
    """A financials extract: the required columns (売上高 unless given) plus `columns` (header -> cells)."""
    n = len(next(iter(columns.values())))
    sales = {} if any(h.strip().startswith(("売上高", "sales", "Sales", "ｓａｌｅｓ")) for h in columns) else {"売上高": ["1"] * n}
    return pl.DataFrame({
        "顧客番号": [f"C{i}" for i in range(n)], "決算区分": ["決算"] * n, "期首": ["2023-04-01"] * n,
        "期末": ["2024-03-31"] * n, "受領日": ["2024-06-30"] * n, **sales, **columns,
    })


@pytest.mark.parametrize(("header", "factor", "unit"), [
    ("売上高（円）", 1, "円"), ("売上高(円)", 1, "円"), ("売上高[円]", 1, "円"),
    ("売上高（千円）", 1_000, "千円"), ("売上高(千円)", 1_000, "千円"), ("売上高［千円］", 1_000, "千円"),
    ("売上高[千円]", 1_000, "千円"), ("売上高 （ 千円 ）", 1_000, "千円"),
    ("売上高（百万円）", 1_000_000, "百万円"), ("売上高(百万円)", 1_000_000, "百万円"),
    ("売上高[百万円]", 1_000_000, "百万円"), (" 売上高 (百万円) ", 1_000_000, "百万円"),
    ("sales_jpy (yen)", 1, "円"), ("sales_jpy (thousand yen)", 1_000, "千円"),
    ("sales_jpy(thousand yen)", 1_000, "千円"), ("Sales_JPY (Million Yen)", 1_000_000, "百万円"),
    ("ｓａｌｅｓ＿ｊｐｙ（ｔｈｏｕｓａｎｄ　ｙｅｎ）", 1_000, "千円"), ("sales_jpy [ million  yen ]", 1_000_000, "百万円"),
])
def test_unit_in_a_yen_header_scales_the_column(header: str, factor: int, unit: str):
    parsed = parse_feed(_statement({header: ["1,234", "△5", "0"]}), FINANCIALS, file_name="f.csv")
    assert parsed.errors.is_empty(), parsed.errors
    assert parsed.rows["sales_jpy"].to_list() == [1_234 * factor, -5 * factor, 0]
    assert parsed.units == {"sales_jpy": unit}


def test_without_a_unit_figures_are_read_as_yen():
    parsed = parse_feed(_statement({"売上高": ["1,234"], "総資産(千円)": ["1,234"]}), FINANCIALS, file_name="f.csv")
    assert parsed.rows.select("sales_jpy", "total_assets_jpy").row(0) == (1_234, 1_234_000)
    assert parsed.units == {"total_assets_jpy": "千円"}


@pytest.mark.parametrize(("unit", "text", "expected"), [
    ("百万円", "1,077.4", 1_077_400_000),
    ("百万円", "１，０７７．４", 1_077_400_000),
    ("百万円", "705.6419999999999", 705_642_000),  # a float written by a spreadsheet: nearest yen
    ("百万円", "0.0000005", 1),  # half a yen rounds away from zero
    ("百万円", "0.0000004", 0),
    ("百万円", ".5", 500_000),
    ("百万円", "△0.25", -250_000),
    ("千円", "△1,234", -1_234_000),
    ("千円", "▲1,234.5", -1_234_500),
    ("千円", "-0.0005", -1),
    ("千円", "\u22121,234.4999", -1_234_500),
    ("千円", "1,234.", 1_234_000),
    ("千円", "1,234円", 1_234_000),  # a 円 in the cell is dropped as in any yen column
    ("千円", " 12,345,678 ", 12_345_678_000),
])
def test_decimals_negatives_and_rounding_in_thousands_and_millions(unit: str, text: str, expected: int):
    parsed = parse_feed(_statement({f"流動資産（{unit}）": [text]}), FINANCIALS, file_name="f.csv")
    assert parsed.errors.is_empty(), parsed.errors
    assert parsed.rows["current_assets_jpy"].dtype == pl.Int64
    assert parsed.rows["current_assets_jpy"].to_list() == [expected]


def test_unreadable_scaled_amount_keeps_the_text_as_sent():
    cells = ["1.2.3", "△x", ".", "12345678901234", "1,000"]
    parsed = parse_feed(_statement({"売上高（百万円）": cells}), FINANCIALS, file_name="f.csv")
    assert parsed.rows["sales_jpy"].to_list() == [None, None, None, None, 1_000_000_000]
    assert parsed.errors.select("source_row", "column", "value").rows() == [
        (2, "sales_jpy", "1.2.3"), (3, "sales_jpy", "△x"), (4, "sales_jpy", "."), (5, "sales_jpy", "12345678901234"),
    ]
    reasons = parsed.errors["reason"].to_list()
    assert reasons[:3] == ["not an amount in 百万円 (expected digits like 1,234, 1,077.4 or △1,234.5)"] * 3
    assert reasons[3] == "number too large"  # over Int64 once in yen, never wrapped
    # raw_text keeps every cell as sent, row for row with rows
    assert parsed.raw_text["sales_jpy"].to_list() == cells
    assert parsed.raw_text["source_row"].to_list() == parsed.rows["source_row"].to_list()


def test_range_rules_apply_to_the_converted_yen_and_quote_the_text_sent():
    from yocho.ingest.validate import validate_batch

    cells = ["20,000,000,000", "10,000,000", "△1"]  # 2e10 百万円 = 2e16 yen; 1e7 百万円 = the 1e13 maximum
    parsed = parse_feed(_statement({"売上高（百万円）": cells}), FINANCIALS, file_name="f.csv")
    assert parsed.errors.is_empty(), parsed.errors
    assert parsed.rows["sales_jpy"].to_list() == [20_000_000_000_000_000, 10_000_000_000_000, -1_000_000]
    outcome = validate_batch(parsed.rows, FINANCIALS, today=date(2026, 11, 24), known_bank_codes=frozenset(),
                             raw_text=parsed.raw_text)
    assert outcome.errors.rows() == [
        (2, "sales_jpy", "above maximum 10000000000000", "20,000,000,000"),
        (4, "sales_jpy", "below minimum 0", "△1"),
    ]


def test_unknown_unit_on_a_yen_column_rejects_the_file_naming_the_header():
    raw = _statement({"売上高（ドル）": ["1,234"]})
    with pytest.raises(IngestError) as info:
        parse_feed(raw, FINANCIALS, file_name="bank_0116/financials/fy2023.csv")
    assert str(info.value) == (
        "bank_0116/financials/fy2023.csv: column '売上高（ドル）': unknown unit 'ドル' for sales_jpy (売上高); "
        "a yen amount's unit is 円, 千円 or 百万円 (yen, thousand yen or million yen)"
    )
    with pytest.raises(IngestError, match=r"f\.csv: column 'total_assets_jpy \(usd\)': unknown unit 'usd'"):
        parse_feed(_statement({"売上高": ["1"], "total_assets_jpy (usd)": ["1"]}), FINANCIALS, file_name="f.csv")


@pytest.mark.parametrize(("feed", "header", "name"), [
    ("financials", "期末（千円）", "period_end (期末)"),
    ("financials", "received_on (yen)", "received_on (受領日)"),
    ("business", "従業員数(千円)", "employees (従業員数)"),
])
def test_unit_on_a_column_that_is_not_yen_rejects_the_file(feed: str, header: str, name: str):
    raw = pl.DataFrame({h: [v] for h, v in {
        "顧客番号": "C1", "商号": "株式会社A", "法人個人区分": "法人", "業種大分類": "E", "都道府県コード": "13",
        "決算区分": "決算", "期首": "2023-04-01", "期末": "2024-03-31", "売上高": "1", "受領日": "2024-06-30",
    }.items() if not header.startswith(h) and not (h == "受領日" and header.startswith("received_on"))})
    with pytest.raises(IngestError) as info:
        parse_feed(raw.with_columns(pl.lit("3").alias(header)), FEEDS[feed], file_name="x.csv")
    assert str(info.value) == (
        f"x.csv: column {header!r}: a unit in the header is only understood on a yen amount, "
        f"and {name} is not one; remove the unit from the header"
    )


def test_same_column_with_and_without_a_unit_is_refused_and_unknown_bracketed_headers_are_ignored():
    with pytest.raises(IngestError, match=r"columns '売上高' and '売上高（千円）' both give sales_jpy"):
        parse_feed(_statement({"売上高": ["1"], "売上高（千円）": ["1"]}), FINANCIALS, file_name="f.csv")
    parsed = parse_feed(_statement({"売上高": ["1"], "備考（千円）": ["x"]}), FINANCIALS, file_name="f.csv")
    assert parsed.ignored_columns == ("備考（千円）",)


def test_repeated_header_with_a_unit_is_refused(tmp_path: Path):
    header = ["顧客番号", "決算区分", "期首", "期末", "受領日", "売上高（千円）", "売上高（千円）"]
    path = _csv(tmp_path / "twice.csv", [header, ["C1", "決算", "2023-04-01", "2024-03-31", "2024-06-30", "1", "2"]], "cp932")
    with pytest.raises(IngestError, match=r"twice\.csv: column '売上高（千円）' appears more than once"):
        parse_feed(read_raw(path), FINANCIALS, file_name="twice.csv")


def test_statement_missing_an_optional_column_has_unknown_figures_and_missing_sales_is_refused():
    parsed = parse_feed(_statement({"売上高（千円）": ["1"]}), FINANCIALS, file_name="f.csv")
    assert parsed.errors.is_empty()
    assert parsed.rows["current_assets_jpy"].to_list() == [None]  # unknown, not zero
    with pytest.raises(IngestError, match=r"fy\.csv: missing required column\(s\) for feed financials: sales_jpy \(売上高\)"):
        parse_feed(_statement({"流動資産（千円）": ["1"]}).drop("売上高"), FINANCIALS, file_name="fy.csv")
