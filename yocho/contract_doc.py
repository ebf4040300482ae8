"""Render the data contract (yocho.contract) as the markdown page docs/data-contract.md."""
from __future__ import annotations

from yocho.contract import FEEDS, Column, Kind, Source

_KIND_TEXT = {
    Kind.TEXT: "text",
    Kind.LOCAL_ID: "text (customer number)",
    Kind.CORPORATE_NUMBER: "法人番号: 13 digits, check digit validated",
    Kind.BANK_CODE: "統一金融機関コード: 4 digits, must be in the 全銀 list",
    Kind.JPY: "JPY, whole yen; `1,234`, full-width digits, `△`/`▲` negatives accepted",
    Kind.INT: "integer",
    Kind.FLOAT: "number",
    Kind.BOOL: "yes/no: `1`/`0`, `true`/`false`, `Y`/`N`, `有`/`無`, `○`/`×`, `はい`/`いいえ`",
    Kind.DATE: "date: `2024-03-31`, `2024/3/31`, `20240331`, 和暦 `令和6年3月31日`, `R6.3.31`",
    Kind.MONTH: "month: `2024-03`, `2024/3`, `202403`, 和暦 `令和6年3月`, `R6.3`",
    Kind.CATEGORY: "one of the codes (or their Japanese labels)",
}

_SOURCE_TEXT = {Source.BANK: "banks", Source.GUARANTEE_ASSOCIATION: "guarantee associations"}


def _rule(col: Column) -> str:
    parts = []
    if col.min_value is not None:
        parts.append(f"≥ {col.min_value:g}")
    if col.max_value is not None:
        parts.append(f"≤ {col.max_value:g}")
    if col.categories:
        parts.append(", ".join(f"`{code}` {ja}" for code, ja in col.categories.items()))
    return "; ".join(parts)


def render_markdown() -> str:
    out = [
        "# Yocho data contract",
        "",
        "<!-- Rendered from yocho/contract.py by `yocho contract`; a test keeps this page in sync. -->",
        "",
        "Every feed is optional: the pipeline runs on whatever subset an institution sends.",
        "",
        "## Delivery",
        "",
        "- Files go to `landing/<institution_id>/<feed>/`, where `institution_id` is `bank_<統一金融機関コード>`",
        "  (a code in the 全銀 list) or `cga_<NN>` for a credit guarantee association (JIS prefecture code 01–47,",
        "  48–51 for the Yokohama, Kawasaki, Nagoya and Gifu city associations).",
        "- Formats: CSV in cp932 (Shift_JIS), UTF-8 or UTF-8 with BOM; Parquet; Excel `.xlsx` (first sheet).",
        "  A CSV in any other encoding is rejected whole, naming the file and the accepted encodings: UTF-16 (with",
        "  or without BOM), and EUC-JP or Latin-1 text that happens to decode as cp932 but would load as mojibake",
        "  (`山田商店` in EUC-JP reads `ｻｳﾅﾄｾｦﾅｹ` as cp932). Half-width katakana and full-width digits are fine.",
        "- Place files themselves in landing: a symbolic link (to a file or a folder) is refused, never followed.",
        "  Files that cannot be ingested where they lie (unknown institution or feed folder, unsupported type, a",
        "  name starting with `.`, a symbolic link, a `*.partial` upload untouched for `ingest.partial_max_age_hours`,",
        "  default 24) stay in landing and are recorded in `misplaced_files` with the reason and when first and last",
        "  seen; `yocho summary` and the validation report list them. A fresh `*.partial` is left alone.",
        "- Size limits (settings `ingest.*`, environment `YOCHO_INGEST__<NAME>`): `max_file_bytes` (2 GiB),",
        "  `max_rows` (10,000,000), `max_cell_chars` (4,000; a CSV line longer than its columns can hold is refused",
        "  before it is decoded), `max_xlsx_uncompressed_bytes` (100 MiB, the `.xlsx` zip's declared size, checked",
        "  before it is opened) and `max_xlsx_compression_ratio` (100: that size over the file's). A file beyond one",
        "  is rejected whole, naming the file, the limit and how to raise it.",
        "- Headers: the English column name or the Japanese one; other columns are ignored and reported.",
        "- Row numbers in error messages count like a spreadsheet: the header is row 1, the first data row is row 2.",
        "- Money is whole yen (JPY). An empty cell is a missing value.",
        "- A yen column's header may state its unit in full- or half-width brackets: `売上高（千円）`,",
        "  `売上高(百万円)`, `総資産[千円]`, `sales_jpy (thousand yen)` (円, 千円, 百万円, yen, thousand yen, million yen).",
        "  Its figures are converted to yen, decimals rounded to the nearest yen (`1,077.4` 百万円 = 1,077,400,000),",
        "  before range rules are checked. **Without a unit, figures are read as yen**: a file in 千円 must say so.",
        "- `received_on` is the date the row became known to the sender. Computations as of a date T use only",
        "  rows with `received_on` ≤ T, so late statements and corrections never leak into the past.",
        "- A corrected row is sent again with a later `received_on`; the same key with the same `received_on`",
        "  is a duplicate and is quarantined.",
        "",
        "## What happens to bad input",
        "",
        "- A cell that cannot be read (bad date, non-numeric amount, unknown category, …) or a row that breaks a rule",
        "  (法人番号 check digit, unknown bank code, date in the future, out-of-range value, duplicate key, missing",
        "  required value) sends the row to the `quarantine` table with file, row, column, reason and the value sent.",
        "- A file with more than `ingest.max_reject_ratio` (default 5%) of its rows rejected, a file missing a required",
        "  column, or one that cannot be decoded is rejected whole: none of its rows load, and the reason is recorded.",
        "- A unit in a header that is not a yen amount's, or a unit not listed above (`売上高（ドル）`), rejects the file",
        "  whole, naming the file and the header.",
        "- A row in quarantine loads none of its cells; the `value` recorded is the cell's text as sent (`△1,000`,",
        "  `1,077.4`), not the converted value.",
        "- A cell holding a control character (NUL or another C0 control; in free text tab and line breaks are",
        "  allowed) sends its row to quarantine, the value recorded with the character spelled `\\xNN`. Keys too.",
        "- 和暦 year 0 (`平成0年`, `R0.5.1`) is not a real date: the era starts at 元年 (1).",
        "- Every file is archived byte for byte under its sha256 (read-only). A file is skipped only when the same",
        "  content was already **loaded** for the same institution and feed. A rejected file can always be sent",
        "  again (to the right folder, or after a limit was raised): it is processed again and its new outcome",
        "  replaces the rejection. The same bytes from another institution or feed are that sender's own delivery.",
        "",
    ]
    out += [
        "## Versions and corrections",
        "",
        "A row is a version of a **record** (a loan-month, a statement, an incident report). As of a date T",
        "a record is its latest version received by T: a correction is the same record sent again with a",
        "later `received_on`, loaded as the new version and in force from its own `received_on`; the earlier",
        "version still answers every question about dates before it. An exact repeat of a row already loaded",
        "(same record, same `received_on`, same values) is skipped and counted in the ingest report; a",
        "different row under the same record and `received_on` is quarantined with the file and row of the",
        "loaded one: send the correction with a later `received_on`. The warehouse keeps each version's",
        "validity (`valid_to`) at ingest (yocho/warehouse/pit.py).",
        "",
    ]
    for feed in FEEDS.values():
        sources = ", ".join(_SOURCE_TEXT[s] for s in feed.sources)
        out += [
            f"## `{feed.name}` — {feed.ja}",
            "",
            feed.description,
            "",
            f"- Sent by: {sources}",
            f"- Record: {', '.join(f'`{k}`' for k in feed.record_key)} (within the sending institution)",
            _versions(feed),
            f"- Dated by: `{feed.time_column}` (look-back windows reach back from the as-of date along it)"
            if feed.time_column else "- Dated by: nothing (the master record is about no period)",
            "- Counts as activity: " + ("yes (a row shows the institution still reports on the business)"
                                        if feed.activity else "no (it says something happened to the business)"),
            f"- Warehouse table: `{feed.table}`",
            *[f"- {note}" for note in feed.notes],
            "",
            "| column | 日本語 | type | required | rule | meaning |",
            "|---|---|---|---|---|---|",
        ]
        for col in feed.columns:
            out.append(
                f"| `{col.name}` | {col.ja} | {_KIND_TEXT[col.kind]} | {'yes' if col.required else 'no'} "
                f"| {_rule(col)} | {col.description} |"
            )
        out.append("")
    out += [
        "## Lineage",
        "",
        "Every warehouse row also carries `institution_id`, `source_sha256` (the archived file) and `source_row`.",
        "",
    ]
    return "\n".join(out)


def _versions(feed) -> str:
    if feed.correctable:
        return ("- Corrections: yes — a row with the same record and a later `received_on` is the record's new "
                "version from that date")
    return "- Corrections: no — a record is sent once; a later row with its key is quarantined as a duplicate"
