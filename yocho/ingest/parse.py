"""Reading a landed file and turning its text into typed columns per the contract.

Everything after `read_raw` is vectorised polars: a file can hold millions of rows, and
the formats Japanese institutions actually send (full-width digits, △ negatives, 和暦
dates, Japanese category labels, amounts in 千円 or 百万円 stated in the header) are all
expressible as regexes and lookups.
"""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from yocho.contract import Column, Feed, Kind, header_aliases
from yocho.ingest.errors import IngestError
from yocho.settings import IngestSettings

ERROR_SCHEMA = {"source_row": pl.Int32, "column": pl.Utf8, "reason": pl.Utf8, "value": pl.Utf8}

POLARS_TYPE: dict[Kind, pl.DataType] = {
    Kind.TEXT: pl.Utf8(),
    Kind.LOCAL_ID: pl.Utf8(),
    Kind.CORPORATE_NUMBER: pl.Utf8(),
    Kind.BANK_CODE: pl.Utf8(),
    Kind.JPY: pl.Int64(),
    Kind.INT: pl.Int32(),
    Kind.FLOAT: pl.Float64(),
    Kind.BOOL: pl.Boolean(),
    Kind.DATE: pl.Date(),
    Kind.MONTH: pl.Date(),
    Kind.CATEGORY: pl.Utf8(),
}

# 和暦: year = start + n - 1. Both the kanji and the one-letter forms appear in bank
# extracts; NFKC has already turned ligatures such as ㍻ and ㋿ into 平成 and 令和.
# Era ends are not enforced: systems never updated for 令和 still write 平成32年 (2020).
ERA_START = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019,
             "M": 1868, "T": 1912, "S": 1926, "H": 1989, "R": 2019}
_ERA = "(?P<era>明治|大正|昭和|平成|令和|[MTSHR])(?P<y>元|[0-9]{1,2})"

# (regex, has an era group). Year, month and day are the named groups y, m, d.
_DATE_PATTERNS = (
    (r"^(?P<y>[0-9]{4})[-/.](?P<m>[0-9]{1,2})[-/.](?P<d>[0-9]{1,2})$", False),
    (r"^(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})$", False),
    (r"^(?P<y>[0-9]{4})年(?P<m>[0-9]{1,2})月(?P<d>[0-9]{1,2})日$", False),
    (rf"^{_ERA}(?:年|[-/.])(?P<m>[0-9]{{1,2}})(?:月|[-/.])(?P<d>[0-9]{{1,2}})日?$", True),
)
_MONTH_PATTERNS = (
    (r"^(?P<y>[0-9]{4})[-/.](?P<m>[0-9]{1,2})$", False),
    (r"^(?P<y>[0-9]{4})(?P<m>[0-9]{2})$", False),
    (r"^(?P<y>[0-9]{4})年(?P<m>[0-9]{1,2})月$", False),
    (rf"^{_ERA}(?:年|[-/.])(?P<m>[0-9]{{1,2}})月?$", True),
)
# Spreadsheet and parquet dates arrive as timestamps ("2024-03-31 00:00:00"); the date
# part is the value, the time of day is dropped.
_TIME_SUFFIX = r"[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?$"
# NFKC leaves these minus look-alikes alone; Japanese accounting uses △/▲ for negatives.
_NEGATIVE = ("-", "△", "▲", "\u2212", "\u2010", "\u2013")
_SIGN = "[-+△▲\u2212\u2010\u2013]?"

_TRUE = ("1", "true", "t", "y", "yes", "有", "有り", "あり", "○", "〇", "はい")
_FALSE = ("0", "false", "f", "n", "no", "無", "無し", "なし", "×", "いいえ")
_BOOL = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}

DATE_FORMATS = "YYYY-MM-DD, YYYY/M/D, YYYYMMDD or 和暦 like 令和6年3月31日 / R6.3.31"
MONTH_FORMATS = "YYYY-MM, YYYY/M, YYYYMM, 和暦 like 令和6年3月 / R6.3, or a full date"


# The unit a statement states in brackets after a yen column's header: 売上高（千円）,
# 総資産[百万円], sales_jpy (thousand yen). Keys are the unit with all spaces removed.
JPY_UNITS = {"円": 1, "千円": 1_000, "百万円": 1_000_000,
             "yen": 1, "thousandyen": 1_000, "millionyen": 1_000_000}
UNIT_LABEL = {1: "円", 1_000: "千円", 1_000_000: "百万円"}
# On a header already folded by _header_key: NFKC has turned （）and［］into () and [].
_UNIT_SUFFIX = re.compile(r"^(?P<base>.*?)\s*(?:\((?P<paren>[^()]*)\)|\[(?P<square>[^\[\]]*)\])$")


@dataclass(frozen=True)
class ParseResult:
    rows: pl.DataFrame
    errors: pl.DataFrame
    ignored_columns: tuple[str, ...]
    # The cells as sent, row for row with `rows` (contract names plus source_row), so a
    # rule broken after conversion can still quote the text the sender wrote.
    raw_text: pl.DataFrame | None = None
    # Yen columns whose header stated a unit: column name -> 円, 千円 or 百万円.
    units: dict[str, str] = field(default_factory=dict)


# --- reading -------------------------------------------------------------------

def _too_big(path: Path, what: str, limit: str, value: int) -> IngestError:
    return IngestError(
        f"{path.name}: {what}, above the limit ingest.{limit} = {value:,}; if the file is genuine, "
        f"raise the limit (YOCHO_INGEST__{limit.upper()} or [ingest] {limit} in the config file) "
        "or send it split in smaller files"
    )


def read_raw(path: Path, limits: IngestSettings | None = None) -> pl.DataFrame:
    """Every column as text, as written; empty cells null. A file beyond one of the
    `limits` (IngestSettings) is refused before the work that would exhaust memory."""
    limits = limits or IngestSettings()
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise _too_big(path, f"the file is {size:,} bytes", "max_file_bytes", limits.max_file_bytes)
    try:
        if suffix == ".csv":
            raw = _read_csv(path, limits)
        elif suffix == ".parquet":
            rows = pq.ParquetFile(path).metadata.num_rows
            if rows > limits.max_rows:
                raise _too_big(path, f"{rows:,} rows", "max_rows", limits.max_rows)
            raw = _stringify(pl.read_parquet(path), path)
        elif suffix == ".xlsx":
            _check_xlsx_size(path, limits)
            # drop_empty_rows=False keeps spreadsheet row numbers true; parse_feed drops
            # blank rows after numbering them. Empty columns are kept so a required
            # column that is present but empty gives row errors, not "missing column".
            raw = pl.read_excel(path, engine="calamine", infer_schema_length=0,
                                drop_empty_rows=False, drop_empty_cols=False)
        else:
            raise IngestError(f"{path.name}: unsupported file type {path.suffix!r}; use .csv, .parquet or .xlsx")
    except IngestError:
        raise
    except Exception as exc:  # polars/fastexcel raise many types for a malformed file
        raise IngestError(f"{path.name}: cannot be read as {suffix.lstrip('.')}: {exc}") from exc
    if raw.height > limits.max_rows:
        raise _too_big(path, f"{raw.height:,} rows", "max_rows", limits.max_rows)
    longest = raw.select(pl.all().cast(pl.Utf8).str.len_chars().max()).row(0) if raw.width else ()
    for column, chars in zip(raw.columns, longest, strict=True):
        if chars is not None and chars > limits.max_cell_chars:
            raise _too_big(path, f"column {column!r} holds a cell of {chars:,} characters",
                           "max_cell_chars", limits.max_cell_chars)
    return raw.with_columns(
        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in raw.columns
    )


def _check_xlsx_size(path: Path, limits: IngestSettings) -> None:
    """An .xlsx is a zip: its members' declared sizes say what opening it would cost, and a
    tiny file can declare gigabytes. Checked before any member is decompressed."""
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise IngestError(f"{path.name}: cannot be read as xlsx: not a zip archive ({exc})") from exc
    compressed = path.stat().st_size
    if declared > limits.max_xlsx_uncompressed_bytes:
        raise _too_big(path, f"the workbook expands to {declared:,} bytes ({compressed:,} compressed)",
                       "max_xlsx_uncompressed_bytes", limits.max_xlsx_uncompressed_bytes)
    if declared > limits.max_xlsx_compression_ratio * max(compressed, 1):
        raise _too_big(path, f"the workbook expands {declared / max(compressed, 1):,.0f}-fold ({compressed:,} bytes "
                       f"to {declared:,}), as a decompression bomb does", "max_xlsx_compression_ratio",
                       limits.max_xlsx_compression_ratio)


_MAX_COLUMNS = 1_000


def _check_line_lengths(data: bytes, path: Path, limits: IngestSettings) -> None:
    """Before decoding: no line may be longer than its columns could be at max_cell_chars
    each (4 bytes a character at most, plus quotes and separator). A runaway line (a
    missing newline, a blob pasted into a cell) is refused before it costs gigabytes."""
    header_end = data.find(b"\n")
    # A header of thousands of columns is no feed's (the widest has 13): beyond _MAX_COLUMNS
    # the count stops raising the allowance, so one line of commas cannot buy gigabytes.
    columns = min(data[: header_end if header_end >= 0 else len(data)].count(b",") + 1, _MAX_COLUMNS)
    allowed = columns * (limits.max_cell_chars * 4 + 3)
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    bounds = np.concatenate(([-1], newlines, [len(data)]))
    lengths = np.diff(bounds) - 1
    worst = int(lengths.argmax())
    if lengths[worst] > allowed:
        raise _too_big(path, f"line {worst + 1} is {int(lengths[worst]):,} bytes, more than its {columns} "
                       f"column(s) can hold at {limits.max_cell_chars:,} characters a cell", "max_cell_chars",
                       limits.max_cell_chars)


_BOM = b"\xef\xbb\xbf"


ACCEPTED_ENCODINGS = "cp932 (Shift_JIS), UTF-8 or UTF-8 with BOM"


def _not_text(path: Path, why: str) -> IngestError:
    return IngestError(f"{path.name}: {why}; the accepted encodings are {ACCEPTED_ENCODINGS}: "
                       "save the file again in one of them")


def _utf8(data: bytes, path: Path) -> bytes:
    """The file's text as UTF-8 bytes for polars; decoding is strict, so a wrong guess
    fails loudly instead of loading mojibake. Text that decodes as cp932 but reads like
    another encoding misread (EUC-JP, Latin-1) is refused too (`_implausible_cp932`)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _not_text(path, "the file is UTF-16 (it starts with a UTF-16 byte order mark)")
    nuls = data.count(b"\x00")
    if nuls * 8 > len(data):
        # UTF-16/32 without a BOM: every ASCII character comes with NUL bytes, which
        # would decode "successfully" as UTF-8. A stray NUL in a cell is a row error.
        raise _not_text(path, f"{nuls:,} of its {len(data):,} bytes are NUL: the file looks like UTF-16 or "
                        "UTF-32 text without a byte order mark")
    if data.startswith(_BOM):
        body, offset, encodings = data[len(_BOM):], len(_BOM), ("utf-8",)  # a BOM is a promise
    else:
        body, offset, encodings = data, 0, ("utf-8", "cp932")
    failure: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError as exc:
            # Report the encoding that got furthest: that is the sender's likely intent.
            if failure is None or exc.start > failure.start:
                failure = exc
            continue
        if encoding == "utf-8":
            return body
        suspicion = _implausible_cp932(text, body)
        if suspicion:
            raise _not_text(path, suspicion)
        return text.encode("utf-8")
    assert failure is not None
    at = offset + failure.start
    line = data.count(b"\n", 0, at) + 1
    tried = " or ".join({"utf-8": "UTF-8", "cp932": "Shift_JIS (cp932)"}[e] for e in encodings)
    try:
        body.decode("euc_jp")
        guess = "; the text reads as EUC-JP"
    except UnicodeDecodeError:
        guess = ""
    raise _not_text(
        path,
        f"not valid {tried} text: undecodable byte(s) {data[at:at + 2].hex(' ')} at byte {at} (line {line}){guess}",
    )


# Signs that text decoded as cp932 is another encoding misread. Half-width katakana
# (bytes A1-DF in cp932) are what EUC-JP kanji and Latin-1 capitals turn into:
# - a voiced mark ﾞ/ﾟ after a kana that cannot take it (or after a letter: STRAﾟE);
# - ､ (EUC-JP's hiragana lead byte A4), rare in real half-width text;
# - one kana between two Latin letters (MﾜNCHEN, SOCIﾉTﾉ);
# - private-use characters (EUC-JP kanji rows F0-F4 read as cp932 user-defined 外字).
_MISREAD = (
    "(?:^|[^\uff73\uff76-\uff84\uff8a-\uff8e])\uff9e"
    "|(?:^|[^\uff8a-\uff8e])\uff9f"
    "|\uff64"
    "|[A-Za-z][\uff61-\uff9f][A-Za-z]"
    "|[\ue000-\uf8ff]"
)
_EUC_PAIR = re.compile(rb"[\xa1-\xfe][\xa1-\xfe]")
_EUC_COMMON_LEAD = frozenset([0xA4, 0xA5, *range(0xB0, 0xD0)])  # hiragana, katakana, 第1水準 kanji


def _implausible_cp932(text: str, data: bytes) -> str | None:
    """Why `text` (the file decoded as cp932) is not plausibly Japanese cp932, or None.

    Counted per line holding non-ASCII text, so one typo in a large genuine file does not
    refuse it. Bytes that are also valid EUC-JP made of common kana and 第1水準 kanji
    (what real EUC-JP text is) are refused outright: a genuine cp932 file almost never
    decodes as EUC-JP, as its kana and most kanji use lead bytes 81-9F, which EUC-JP lacks.
    """
    try:
        data.decode("euc_jp")
        euc = True
    except UnicodeDecodeError:
        euc = False
    if euc:
        leads = [pair[0] for pair in _EUC_PAIR.findall(data)]
        common = sum(lead in _EUC_COMMON_LEAD for lead in leads)
        if leads and common >= 0.9 * len(leads):
            return ("the text reads as EUC-JP, not cp932 (decoded as cp932 it would load as "
                    f"{_first_non_ascii(text)!r})")
    lines = pl.Series([text]).str.split("\n").explode()
    lines = lines.filter(lines.str.contains(r"[^\x00-\x7f]"))
    if lines.is_empty():
        return None
    misread = lines.filter(lines.str.contains(_MISREAD))
    if misread.len() >= max(1, 0.1 * lines.len()) or (euc and misread.len()):
        return (f"{misread.len():,} of {lines.len():,} lines with non-ASCII text read like another encoding "
                f"misread as cp932 (EUC-JP or Latin-1?), e.g. {misread[0].strip()[:60]!r}")
    return None


def _first_non_ascii(text: str) -> str:
    match = re.search(r"[^\x00-\x7f,\r\n]+", text)
    return match.group(0)[:40] if match else ""


def _read_csv(path: Path, limits: IngestSettings) -> pl.DataFrame:
    data = path.read_bytes()
    if not data.strip():
        raise IngestError(f"{path.name}: the file is empty")
    _check_line_lengths(data, path, limits)
    return pl.read_csv(io.BytesIO(_utf8(data, path)), infer_schema=False, raise_if_empty=True)


def _stringify(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype.is_nested() or dtype == pl.Binary:
            raise IngestError(f"{path.name}: column {name!r} has type {dtype}, expected plain values")
        if isinstance(dtype, pl.Datetime):
            exprs.append(col.dt.to_string("%Y-%m-%d %H:%M:%S"))
        elif dtype.is_float():
            # Whole-number floats (money written by pandas with NaNs) read as integers,
            # not "1234.0" or "1e+13".
            whole = col.is_finite() & (col == col.round()) & (col.abs() < 2**53)
            exprs.append(pl.when(whole).then(col.cast(pl.Int64, strict=False).cast(pl.Utf8))
                         .otherwise(col.cast(pl.Utf8)))
        else:
            exprs.append(col.cast(pl.Utf8))
    return frame.select(e.alias(n) for e, n in zip(exprs, frame.columns, strict=True))


# --- parsing -------------------------------------------------------------------

# Names readers give columns without a usable header: calamine's for an empty header
# cell, polars' for an empty or repeated CSV header.
_PLACEHOLDER = re.compile(r"^(?:__UNNAMED__[0-9]+|.*_duplicated_[0-9]+|)$")


def _header_key(header: str) -> str:
    return unicodedata.normalize("NFKC", header).strip().lower()


def _resolve_header(
    header: str, aliases: dict[str, str], feed: Feed, file_name: str
) -> tuple[str, int | None] | None:
    """(contract name, yen factor or None when no unit is stated) for a header, or None for
    a column the contract does not know. A unit in brackets is understood on yen columns only."""
    key = _header_key(header)
    if key in aliases:
        return aliases[key], None
    match = _UNIT_SUFFIX.match(key)
    if match is None or match["base"] not in aliases:
        return None
    name = aliases[match["base"]]
    col = feed.column(name)
    if col.kind is not Kind.JPY:
        raise IngestError(
            f"{file_name}: column {header!r}: a unit in the header is only understood on a yen amount, "
            f"and {name} ({col.ja}) is not one; remove the unit from the header"
        )
    unit = match["paren"] if match["paren"] is not None else match["square"]
    factor = JPY_UNITS.get(re.sub(r"\s", "", unit))
    if factor is None:
        raise IngestError(
            f"{file_name}: column {header!r}: unknown unit {unit!r} for {name} ({col.ja}); "
            f"a yen amount's unit is 円, 千円 or 百万円 (yen, thousand yen or million yen)"
        )
    return name, factor


def _map_headers(
    raw: pl.DataFrame, feed: Feed, file_name: str
) -> tuple[dict[str, str], tuple[str, ...], dict[str, int]]:
    """contract name -> raw header, the raw headers the contract does not know, and
    contract name -> yen factor for the columns whose header stated a unit."""
    aliases = {_header_key(k): v for k, v in header_aliases(feed).items()}
    found: dict[str, str] = {}
    factors: dict[str, int] = {}
    ignored: list[str] = []
    for header in raw.columns:
        repeated = re.fullmatch(r"(.*)_duplicated_[0-9]+", header)
        if repeated and _resolve_header(repeated[1], aliases, feed, file_name) is not None:
            raise IngestError(f"{file_name}: column {repeated[1]!r} appears more than once")
        resolved = _resolve_header(header, aliases, feed, file_name)
        if resolved is None:
            # Trailing empty columns (a stray comma, formatting in Excel) are not news.
            if not (_PLACEHOLDER.match(header) and raw[header].null_count() == raw.height):
                ignored.append(header)
            continue
        name, factor = resolved
        if name in found:
            raise IngestError(
                f"{file_name}: columns {found[name]!r} and {header!r} both give {name} ({feed.column(name).ja})"
            )
        found[name] = header
        if factor is not None:
            factors[name] = factor
    missing = [c for c in feed.columns if c.required and c.name not in found]
    if missing:
        listed = ", ".join(f"{c.name} ({c.ja})" for c in missing)
        raise IngestError(f"{file_name}: missing required column(s) for feed {feed.name}: {listed}")
    return found, tuple(ignored), factors


def parse_feed(raw: pl.DataFrame, feed: Feed, *, file_name: str) -> ParseResult:
    found, ignored, factors = _map_headers(raw, feed, file_name)
    frame = raw.select(
        pl.int_range(2, raw.height + 2, dtype=pl.Int32).alias("source_row"),
        *(pl.col(found[c.name]).cast(pl.Utf8).alias(f"raw.{c.name}") if c.name in found
          else pl.lit(None, dtype=pl.Utf8).alias(f"raw.{c.name}") for c in feed.columns),
    )
    # Blank lines (all contract cells empty) are numbered but neither rows nor errors.
    blank = pl.all_horizontal(_clean(pl.col(f"raw.{c.name}"), normalize=False).is_null() for c in feed.columns)
    frame = frame.filter(~blank)

    # Each column is converted once per distinct text and joined back: dates, months,
    # flags and 法人番号 repeat on every monthly row, and the regex work dominates.
    # A unit in the header scales the whole column, so it is part of the column's lookup.
    lookups = pl.collect_all([_lookup(frame.lazy(), col, feed, factors.get(col.name, 1)) for col in feed.columns])
    parsed = frame.lazy()
    for col, lookup in zip(feed.columns, lookups, strict=True):
        parsed = parsed.join(lookup.lazy(), on=f"raw.{col.name}", how="left",
                             nulls_equal=True, maintain_order="left")
    parsed = parsed.collect()

    rows = parsed.select(
        *(pl.col(c.name).cast(POLARS_TYPE[c.kind]) for c in feed.columns), "source_row"
    )
    errors = pl.concat(
        [
            parsed.lazy()
            .filter(pl.col(f"why.{c.name}").is_not_null())
            .select(
                "source_row",
                pl.lit(c.name, dtype=pl.Utf8).alias("column"),
                pl.col(f"why.{c.name}").alias("reason"),
                pl.col(f"raw.{c.name}").alias("value"),
            )
            for c in feed.columns
        ]
    ).sort("source_row", maintain_order=True).with_columns(visible_controls(pl.col("value"))).collect()
    raw_text = frame.select(*(pl.col(f"raw.{c.name}").alias(c.name) for c in feed.columns), "source_row")
    return ParseResult(
        rows=rows, errors=errors.cast(ERROR_SCHEMA), ignored_columns=ignored, raw_text=raw_text,
        units={name: UNIT_LABEL[factor] for name, factor in factors.items()},
    )


def _lookup(frame: pl.LazyFrame, col: Column, feed: Feed, factor: int = 1) -> pl.LazyFrame:
    """raw text -> (typed value, reason it failed) over the column's distinct texts."""
    source = f"raw.{col.name}"
    # Free text stays as written. Ids are width-folded so the same id from two systems
    # joins; the contract types TEXT ids (loan_id, guarantee_id) like free text, so they
    # are recognised as keys or by their *_id name.
    is_id = col.name in feed.key or col.name.endswith("_id")
    text = _clean(pl.col(source), normalize=col.kind is not Kind.TEXT or is_id)
    value, reason = _convert(col, text, factor)
    # A control character loads into DuckDB but breaks PostgreSQL (NUL) and every
    # export after it; free text may hold tabs and line breaks, keys and codes nothing.
    control = pl.col(source).str.contains(_TEXT_CONTROL if col.kind is Kind.TEXT and not is_id else _ANY_CONTROL)
    return frame.select(source).unique().select(
        source,
        pl.when(control).then(None).otherwise(value).alias(col.name),
        # A reason only where the sender wrote something we could not read.
        pl.when(control).then(pl.lit(CONTROL_REASON))
        .when(text.is_not_null() & value.is_null()).then(reason).alias(f"why.{col.name}"),
    )


# C0 controls and DEL. Tab, line feed and carriage return make sense inside free text
# (a quoted CSV cell, a note typed in Excel), nowhere else.
_ANY_CONTROL = r"[\x00-\x1f\x7f]"
_TEXT_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_CONTROLS = [chr(c) for c in (*range(0x20), 0x7F)]
CONTROL_REASON = ("contains a control character (shown as \\xNN; NUL and other C0 controls are "
                  "never data; tab and line breaks only in free text)")


def visible_controls(value: pl.Expr) -> pl.Expr:
    """The text with every control character spelled \\xNN, so a quarantined value can be
    stored and shown anywhere (PostgreSQL refuses NUL in text)."""
    return value.str.replace_many(_CONTROLS, [f"\\x{ord(c):02x}" for c in _CONTROLS])


def _clean(text: pl.Expr, *, normalize: bool) -> pl.Expr:
    """Trim (strip_chars also removes the full-width space U+3000); NFKC folds full-width
    digits, letters and punctuation to ASCII and half-width katakana to full width, so
    the same value typed on different systems compares equal. Empty becomes null."""
    if normalize:
        text = text.str.normalize("NFKC")
    text = text.str.strip_chars()
    return pl.when(text != "").then(text)


def _convert(col: Column, text: pl.Expr, factor: int = 1) -> tuple[pl.Expr, pl.Expr]:
    """(typed value, reason it failed) for one column; the reason is used only where the
    cleaned text is non-empty and the value is null. `factor` is the yen per unit a JPY
    column's header stated (1,000 for 千円)."""
    kind = col.kind
    if kind is Kind.JPY and factor != 1:
        return _scaled_yen(text, factor)
    if kind is Kind.JPY:
        return _integer(text, pl.Int64, "not a whole number of yen (expected digits like 1,234,567, △1,234 or ¥1,234)")
    if kind is Kind.INT:
        return _integer(text, pl.Int32, "not a whole number (expected digits like 1,234 or △12)")
    if kind is Kind.FLOAT:
        return _float(text)
    if kind is Kind.DATE:
        return _date(text)
    if kind is Kind.MONTH:
        return _month(text)
    if kind is Kind.BOOL:
        value = text.str.to_lowercase().replace_strict(_BOOL, default=None, return_dtype=pl.Boolean)
        return value, pl.lit("not a yes/no value (expected 1/0, true/false, Y/N, 有/無, ○/× or はい/いいえ)")
    if kind is Kind.CATEGORY:
        return _category(col, text)
    if kind is Kind.CORPORATE_NUMBER:
        ok = text.str.contains(r"^[0-9]{13}$")
        return pl.when(ok).then(text), pl.lit("not a 13-digit 法人番号")
    if kind is Kind.BANK_CODE:
        # Spreadsheets store bank codes as numbers and drop the leading zeros (0116 -> 116);
        # every code is 4 digits, so padding a shorter all-digit value restores it.
        padded = pl.when(text.str.contains(r"^[0-9]{1,3}$")).then(text.str.zfill(4)).otherwise(text)
        ok = padded.str.contains(r"^[0-9]{4}$")
        return pl.when(ok).then(padded), pl.lit("not a 4-digit bank code (統一金融機関コード)")
    # TEXT and LOCAL_ID: any non-empty text is valid.
    return text, pl.lit("unreadable text")


def _integer(text: pl.Expr, dtype: pl.DataType, expected: str) -> tuple[pl.Expr, pl.Expr]:
    # Thousands separators, 円 and the yen sign go (cp932 files show ¥ as a backslash);
    # a ".0" tail is what spreadsheets write for whole numbers.
    bare = text.str.replace_all(r"[,\s円¥\\]", "")
    parts = bare.str.extract_groups(rf"^(?P<sign>{_SIGN})(?P<digits>[0-9]+)(?:\.0*)?$")
    digits = parts.struct.field("digits")
    magnitude = digits.cast(pl.Int64, strict=False)
    signed = pl.when(parts.struct.field("sign").is_in(_NEGATIVE)).then(-magnitude).otherwise(magnitude)
    value = signed.cast(dtype, strict=False)
    reason = pl.when(digits.is_not_null()).then(pl.lit("number too large")).otherwise(pl.lit(expected))
    return value, reason


def _scaled_yen(text: pl.Expr, factor: int) -> tuple[pl.Expr, pl.Expr]:
    """Whole yen from an amount in 千円 or 百万円: decimals allowed, rounded to the nearest
    yen (halves away from zero). Exact: digits are shifted as text, never through a float,
    so 1,077.4 百万円 is 1,077,400,000 and 705.6419999999999 百万円 is 705,642,000."""
    shift = len(str(factor)) - 1  # factor is a power of ten
    unit = UNIT_LABEL[factor]
    bare = text.str.replace_all(r"[,\s円¥\\]", "")
    parts = bare.str.extract_groups(rf"^(?P<sign>{_SIGN})(?P<whole>[0-9]*)\.?(?P<frac>[0-9]*)$")
    whole, frac = parts.struct.field("whole"), parts.struct.field("frac")
    readable = (whole.str.len_chars() + frac.str.len_chars()) > 0  # "." alone is not a number
    # Below 10^18 yen the sum cannot overflow Int64 (the range rules stop far lower).
    fits = whole.str.strip_chars_start("0").str.len_chars() <= 18 - shift
    # The first `shift` decimals are yen; the next one decides the rounding.
    decimals = pl.concat_str(frac, pl.lit("0" * (shift + 1))).str.slice(0, shift + 1)
    magnitude = (
        pl.concat_str(pl.lit("0"), whole).cast(pl.Int64, strict=False) * factor
        + decimals.str.slice(0, shift).cast(pl.Int64, strict=False)
        + (decimals.str.slice(shift, 1).cast(pl.Int64, strict=False) >= 5).cast(pl.Int64)
    )
    magnitude = pl.when(readable & fits).then(magnitude)
    value = pl.when(parts.struct.field("sign").is_in(_NEGATIVE)).then(-magnitude).otherwise(magnitude)
    reason = (
        pl.when(readable & ~fits).then(pl.lit("number too large"))
        .otherwise(pl.lit(f"not an amount in {unit} (expected digits like 1,234, 1,077.4 or △1,234.5)"))
    )
    return value, reason


def _float(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    bare = text.str.replace_all(r"[,\s円¥\\]", "")
    parts = bare.str.extract_groups(
        rf"^(?P<sign>{_SIGN})(?P<num>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)$"
    )
    magnitude = parts.struct.field("num").cast(pl.Float64, strict=False)
    value = pl.when(parts.struct.field("sign").is_in(_NEGATIVE)).then(-magnitude).otherwise(magnitude)
    return value, pl.lit("not a number (expected digits like 1,234.5 or △0.25)")


def _calendar(text: pl.Expr, patterns: tuple[tuple[str, bool], ...], *, with_day: bool) -> tuple[pl.Expr, pl.Expr]:
    """(date or null, whether any pattern matched) for the first matching pattern."""
    compact = text.str.replace(_TIME_SUFFIX, "").str.replace_all(r"\s", "").str.to_uppercase()
    years, months, days = [], [], []
    for regex, has_era in patterns:
        g = compact.str.extract_groups(regex)
        year = g.struct.field("y")
        if has_era:
            # 元年 is the first year of an era.
            n = pl.when(year == "元").then(pl.lit(1)).otherwise(year.cast(pl.Int32, strict=False))
            start = g.struct.field("era").replace_strict(ERA_START, default=None, return_dtype=pl.Int32)
            # An era counts from 元年 (1): 平成0年 or 令和00年 names no year, and reading it as
            # the year before the era began would invent a date. The pattern matched, so the
            # text is "not a real calendar date" (a year that is no number never parses).
            year = pl.when(n >= 1).then((start + n - 1).cast(pl.Utf8)).otherwise(
                pl.when(start.is_not_null()).then(pl.lit("era year 0")))
        years.append(year)
        months.append(g.struct.field("m"))
        days.append(g.struct.field("d") if with_day else pl.lit("1"))
    y, m, d = pl.coalesce(years), pl.coalesce(months), pl.coalesce(days)
    iso = pl.format("{}-{}-{}", y.str.zfill(4), m.str.zfill(2), d.str.zfill(2))
    # Parsing the assembled ISO text (not pl.date) turns 2024-02-30 into null, not an error.
    return iso.str.to_date("%Y-%m-%d", strict=False), y.is_not_null()


def _date(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    value, matched = _calendar(text, _DATE_PATTERNS, with_day=True)
    reason = (
        pl.when(matched)
        .then(pl.lit(f"not a real calendar date (expected {DATE_FORMATS})"))
        .otherwise(pl.lit(f"not a date (expected {DATE_FORMATS})"))
    )
    return value, reason


def _month(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    month, matched = _calendar(text, _MONTH_PATTERNS, with_day=False)
    date, date_matched = _calendar(text, _DATE_PATTERNS, with_day=True)
    value = pl.coalesce(month, date.dt.month_start())
    reason = (
        pl.when(matched | date_matched)
        .then(pl.lit(f"not a real calendar month (expected {MONTH_FORMATS})"))
        .otherwise(pl.lit(f"not a month (expected {MONTH_FORMATS})"))
    )
    return value, reason


def _category_key(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().lower()


def _category(col: Column, text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    categories = col.categories or {}
    lookup = {_category_key(code): code for code in categories}
    lookup |= {_category_key(label): code for code, label in categories.items()}
    value = text.str.to_lowercase().replace_strict(lookup, default=None, return_dtype=pl.Utf8)
    options = ", ".join(f"{code}/{label}" for code, label in categories.items())
    reason = pl.format(f"'{{}}' is not a known {col.name} (expected one of {options})", text)
    return value, reason
