"""Reason codes: which kind of defect a quarantine reason describes.

The quarantine table keeps every reason as worded for its row, with the real figures in it
(`below minimum 0`, `date is in the future (after 2026-12-02)`, `bank code 0118 not in the
全銀 bank code list`): that is what a sender needs to fix the row. To count defects, the
reasons are grouped by a code instead, read from the wording the validators use
(yocho/ingest/validate.py, parse.py and load.py). A wording not listed here is still
grouped, by its text with the numbers folded, so a new reason never goes uncounted.
"""
from __future__ import annotations

import re

# (code, 日本語, pattern the reason matches): the first match wins, so the more specific
# wordings come first ("not a real calendar date" before "not a date").
REASON_CODES: tuple[tuple[str, str, str], ...] = (
    ("duplicate_in_file", "ファイル内のキー重複", r"^duplicate key \(.*\) within the file$"),
    ("conflicting_version", "同じ受領日の別内容が取込済", r"^another version of this record with the same received_on"),
    ("duplicate_of_loaded", "取込済レコードの重複", r"^duplicate of a record already loaded"),
    ("period_order", "期末が期首以前", r"^period_end is not after period_start$"),
    ("required", "必須項目が空", r" is required but empty$"),
    ("below_minimum", "下限未満", r"^below minimum"),
    ("above_maximum", "上限超過", r"^above maximum"),
    ("unknown_category", "区分値が不明", r"^'.*' is not a known "),
    ("unknown_bank_code", "全銀コード表にない金融機関コード", r"^bank code .* not in the 全銀 bank code list$"),
    ("check_digit", "法人番号のチェックデジット不正", r"^法人番号 check digit invalid$"),
    ("future_date", "未来の日付", r"^date is in the future"),
    ("sole_proprietor_number", "個人事業主に法人番号", r"^a sole proprietor \(個人事業主\) must not carry"),
    ("not_a_real_date", "実在しない日付", r"^not a real calendar date"),
    ("not_a_date", "日付でない", r"^not a date"),
    ("not_a_real_month", "実在しない年月", r"^not a real calendar month"),
    ("not_a_month", "年月でない", r"^not a month"),
    ("number_too_large", "数値が大きすぎる", r"^number too large$"),
    ("not_an_amount", "金額でない", r"^not an amount in "),
    ("not_a_whole_number", "整数でない", r"^not a whole number"),
    ("not_a_number", "数値でない", r"^not a number"),
    ("not_a_yes_no", "有無の値でない", r"^not a yes/no value"),
    ("not_a_corporate_number", "13桁の法人番号でない", r"^not a 13-digit 法人番号$"),
    ("not_a_bank_code", "4桁の金融機関コードでない", r"^not a 4-digit bank code"),
    ("unreadable_text", "読めない文字列", r"^unreadable text$"),
)
OTHER = "other"
JA = {code: ja for code, ja, _ in REASON_CODES} | {OTHER: "その他"}


def _fold(reason: str) -> str:
    return re.sub(r"[0-9]+", "N", reason)


def reason_code(reason: str) -> str:
    """The code of one reason: `required`, `below_minimum`, ...; an unlisted wording gets
    `other: <the wording with its numbers as N>`."""
    for code, _, pattern in REASON_CODES:
        if re.search(pattern, reason):
            return code
    return f"{OTHER}: {_fold(reason)}"


def reason_code_sql(column: str = "reason") -> str:
    """The same as `reason_code`, as a DuckDB expression over `column` (the patterns use
    only what both Python's re and DuckDB's RE2 read alike)."""
    cases = " ".join(
        f"WHEN regexp_matches({column}, '{pattern.replace(chr(39), chr(39) * 2)}') THEN '{code}'"
        for code, _, pattern in REASON_CODES
    )
    return f"CASE {cases} ELSE '{OTHER}: ' || regexp_replace({column}, '[0-9]+', 'N', 'g') END"


def label(code: str) -> str:
    """`日本語 / code` for a report; an `other: ...` code as it is."""
    return f"{JA[code]} / {code}" if code in JA else code
