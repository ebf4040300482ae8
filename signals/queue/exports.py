"""Exports with Japanese headers, scoped by the acting user like every other read.

- The council list (協議会紹介一覧): cases referred to the council (referred, accepted,
  declined). Council intake sees every consented referral; a bank or CGA user sees the
  referrals among its own cases.
- An institution's worklist (ワークリスト): the user's open cases by priority (or any
  `CaseQuery`).

Each as .xlsx (xlsxwriter: dates as dates, probabilities as percentages, header frozen,
autofilter) or as CSV in UTF-8 with a BOM and CRLF line ends, which Excel opens correctly.
Functions return bytes, for a web response or `Path.write_bytes`. Text cells that a
spreadsheet would read as a formula (= + - @) are written as plain text in .xlsx and
prefixed with ' in CSV.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import polars as pl
import xlsxwriter

from features.catalog import indicators
from signals.phases import PHASES
from signals.queue.lifecycle import COUNCIL_STATES, OPEN_STATES, STATE_JA, State
from signals.queue.store import CaseQuery, CaseSummary, QueueStore, User

BAND_JA = {"low": "低", "watch": "要注意", "high": "高", "very_high": "極めて高い"}
TRIGGER_JA = {"critical_sign": "重大予兆", "score": "スコア", "both": "重大予兆＋スコア"}
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Column:
    header: str
    kind: str  # text | int | float | pct | date
    value: Callable[[CaseSummary, dict[str, str]], Any]  # (case, institution names) -> cell


def _signs(case: CaseSummary, _names: dict[str, str]) -> str:
    """The critical signs by their Japanese names (the indicator catalog), not their ids."""
    catalog = indicators()
    return "、".join(catalog[s].ja if s in catalog else s for s in case.critical_signs)


def _phase(phase: str | None) -> str | None:
    return PHASES[phase].ja if phase in PHASES else phase


def _institutions(case: CaseSummary, names: dict[str, str]) -> str:
    return "、".join(f"{names.get(i.institution_id, i.institution_id)}"
                     + (f"（{i.local_id}）" if i.local_id else "") for i in case.institutions)


def _days(case: CaseSummary, _names: dict[str, str]) -> int | None:
    if case.first_sign_on and case.referred_on:
        return (case.referred_on - case.first_sign_on).days
    return None


WORKLIST: tuple[Column, ...] = (
    Column("案件番号", "int", lambda c, n: c.id),
    Column("事業者キー（法人番号等）", "text", lambda c, n: c.business_key),
    Column("商号", "text", lambda c, n: c.business_name),
    Column("状態", "text", lambda c, n: STATE_JA[c.state]),
    # the rank the lead institution's night gave the business among its own flagged businesses:
    # not this list's order (which the rows themselves give), so it says whose rank it is
    Column("主担当機関での優先順位", "int", lambda c, n: c.priority_rank),
    Column("優先度", "float", lambda c, n: c.priority),
    Column("発生確率（12か月）", "pct", lambda c, n: c.probability),
    Column("リスク区分", "text", lambda c, n: BAND_JA.get(c.band or "", c.band)),
    Column("契機", "text", lambda c, n: TRIGGER_JA.get(c.trigger or "", c.trigger)),
    Column("重大予兆", "text", _signs),
    Column("推奨支援フェーズ", "text", lambda c, n: _phase(c.phase)),
    Column("判定理由", "text", lambda c, n: c.phase_reason_ja),
    Column("主担当機関", "text", lambda c, n: n.get(c.lead_institution_id or "", c.lead_institution_id)),
    Column("取引機関（管理番号）", "text", _institutions),
    Column("最初の予兆日", "date", lambda c, n: c.first_sign_on),
    Column("検知日", "date", lambda c, n: c.flagged_on),
    Column("最新データ基準日", "date", lambda c, n: c.last_as_of),
    Column("保留期限", "date", lambda c, n: c.snooze_until),
    Column("同意取得日", "date", lambda c, n: c.consent_on),
    Column("紹介日", "date", lambda c, n: c.referred_on),
)

COUNCIL_LIST: tuple[Column, ...] = (
    Column("案件番号", "int", lambda c, n: c.id),
    Column("事業者キー（法人番号等）", "text", lambda c, n: c.business_key),
    Column("商号", "text", lambda c, n: c.business_name),
    Column("状態", "text", lambda c, n: STATE_JA[c.state]),
    Column("紹介経路", "text", lambda c, n: c.route_ja),
    Column("紹介元機関", "text", lambda c, n: n.get(c.referring_institution_id or "", c.referring_institution_id)),
    Column("紹介日", "date", lambda c, n: c.referred_on),
    Column("同意取得日", "date", lambda c, n: c.consent_on),
    Column("紹介時の支援フェーズ", "text", lambda c, n: _phase(c.referral_phase)),
    Column("判定理由", "text", lambda c, n: c.phase_reason_ja),
    Column("発生確率（12か月）", "pct", lambda c, n: c.probability),
    Column("リスク区分", "text", lambda c, n: BAND_JA.get(c.band or "", c.band)),
    Column("重大予兆", "text", _signs),
    Column("最初の予兆日", "date", lambda c, n: c.first_sign_on),
    Column("予兆から紹介までの日数", "int", _days),
    Column("受付・不受理日", "date", lambda c, n: c.closed_on),
    Column("取引機関（管理番号）", "text", _institutions),
)

_POLARS = {"text": pl.String, "int": pl.Int64, "float": pl.Float64, "pct": pl.Float64, "date": pl.Date}


def _rows(store: QueueStore, user: User, columns: tuple[Column, ...], query: CaseQuery) -> list[list[Any]]:
    names = {i.id: i.name for i in store.list_institutions(user)}
    return [[col.value(case, names) for col in columns] for case in store.all_cases(user, query)]


def worklist_query(query: CaseQuery | None = None) -> CaseQuery:
    return query or CaseQuery(states=tuple(sorted(OPEN_STATES)), sort="priority", descending=True)


def council_query(query: CaseQuery | None = None) -> CaseQuery:
    base = query or CaseQuery(sort="referred_on", descending=True)
    states = tuple(s for s in (base.states or tuple(sorted(COUNCIL_STATES))) if State(s) in COUNCIL_STATES)
    return CaseQuery(states=states or (State.REFERRED,), phase=base.phase, band=base.band,
                     institution_id=base.institution_id, search=base.search, sort=base.sort,
                     descending=base.descending)


def _frame(columns: tuple[Column, ...], rows: list[list[Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={c.header: _POLARS[c.kind] for c in columns}, orient="row")


def worklist_frame(store: QueueStore, user: User, query: CaseQuery | None = None) -> pl.DataFrame:
    return _frame(WORKLIST, _rows(store, user, WORKLIST, worklist_query(query)))


def council_list_frame(store: QueueStore, user: User, query: CaseQuery | None = None) -> pl.DataFrame:
    return _frame(COUNCIL_LIST, _rows(store, user, COUNCIL_LIST, council_query(query)))


# ---------------------------------------------------------------------------- writers

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _starts_formula(value: str) -> bool:
    """Would a spreadsheet read this text as a formula? Also through full-width forms
    (＝ ＋ － ＠, which Japanese input methods type and spreadsheets fold) and leading spaces."""
    folded = unicodedata.normalize("NFKC", value).lstrip(" ")
    return value.startswith(_FORMULA_START) or folded.startswith(_FORMULA_START)


def to_csv(columns: tuple[Column, ...], rows: list[list[Any]]) -> bytes:
    """UTF-8 with BOM, CRLF, dates ISO; a text cell that would start a formula gets a '."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    for row in rows:
        cells = []
        for col, value in zip(columns, row, strict=True):
            if value is None:
                cells.append("")
            elif col.kind == "date":
                cells.append(value.isoformat())
            elif isinstance(value, str) and _starts_formula(value):
                cells.append("'" + value)
            else:
                cells.append(value)
        writer.writerow(cells)
    return BOM + out.getvalue().encode("utf-8")


def to_xlsx(columns: tuple[Column, ...], rows: list[list[Any]], sheet: str) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet(sheet)
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    formats = {"date": book.add_format({"num_format": "yyyy-mm-dd"}), "pct": book.add_format({"num_format": "0.0%"}),
               "float": book.add_format({"num_format": "0.000"}), "int": None, "text": None}
    for j, col in enumerate(columns):
        ws.write_string(0, j, col.header, header)
        ws.set_column(j, j, 28 if col.kind == "text" else 14)
    for i, row in enumerate(rows, start=1):
        for j, (col, value) in enumerate(zip(columns, row, strict=True)):
            if value is None or value == "":
                ws.write_blank(i, j, None)
            elif col.kind == "date":
                ws.write_datetime(i, j, datetime.combine(value, time()) if isinstance(value, date) else value,
                                  formats["date"])
            elif col.kind in ("int", "float", "pct"):
                ws.write_number(i, j, value, formats[col.kind])
            else:
                ws.write_string(i, j, str(value))  # never a formula
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
    book.close()
    return buffer.getvalue()


def worklist_xlsx(store: QueueStore, user: User, query: CaseQuery | None = None) -> bytes:
    return to_xlsx(WORKLIST, _rows(store, user, WORKLIST, worklist_query(query)), "ワークリスト")


def worklist_csv(store: QueueStore, user: User, query: CaseQuery | None = None) -> bytes:
    return to_csv(WORKLIST, _rows(store, user, WORKLIST, worklist_query(query)))


def council_list_xlsx(store: QueueStore, user: User, query: CaseQuery | None = None) -> bytes:
    return to_xlsx(COUNCIL_LIST, _rows(store, user, COUNCIL_LIST, council_query(query)), "協議会紹介一覧")


def council_list_csv(store: QueueStore, user: User, query: CaseQuery | None = None) -> bytes:
    return to_csv(COUNCIL_LIST, _rows(store, user, COUNCIL_LIST, council_query(query)))
