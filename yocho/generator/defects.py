"""Deliberately bad rows, planted so tests can check ingest catches each kind.

About 0.1% of the rows of a file (never more than 1%, and none in files under 200
rows) get exactly one defect each, well below the 5% at which a file is refused. The
positions returned count rows of the written file (0 = first data row).
"""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from yocho.contract import Feed, Kind
from yocho.generator.institutions import UNKNOWN_BANK_CODES

RATE = 0.001
MIN_ROWS = 200

KINDS = (
    "invalid_check_digit", "unknown_bank_code", "unparseable_date", "future_received_on",
    "negative_amount", "unknown_category", "missing_required", "duplicate_key",
)
_BAD_DATES = {
    "cp932_ja": ["令和6年13月1日", "R6.2.30", "不明", "令和6年2月30日"],
    "utf8bom_en": ["2024-02-30", "2024/13/01", "31/03/2024x", "unknown"],
}
_BAD_MONTHS = {"cp932_ja": ["令和6年13月", "R6.0", "不明"], "utf8bom_en": ["2024-13", "2024-00", "n/a"]}
_BAD_CATEGORY = {"cp932_ja": "要観察先", "utf8bom_en": "watchlist", "parquet": "unknown"}


def _applicable(feed: Feed, fmt: str) -> list[str]:
    names = set(feed.column_names)
    kinds = ["future_received_on", "missing_required", "duplicate_key"]
    if any(c.kind is Kind.CATEGORY for c in feed.columns):
        kinds.append("unknown_category")
    if "corporate_number" in names:
        kinds.append("invalid_check_digit")
    if "lender_bank_code" in names:
        kinds.append("unknown_bank_code")
    if fmt != "parquet":  # a native date column cannot hold an unreadable date
        kinds.append("unparseable_date")
    if _negative_column(feed):
        kinds.append("negative_amount")
    return [k for k in KINDS if k in kinds]


def _negative_column(feed: Feed) -> str | None:
    for c in feed.columns:
        if c.kind is Kind.JPY and c.required and c.min_value == 0:
            return c.name
    return None


def plant(frame: pl.DataFrame, feed: Feed, fmt: str, rng: np.random.Generator,
          future: object) -> tuple[pl.DataFrame, pl.DataFrame, list[tuple[np.ndarray, str, list[str]]]]:
    """Plant defects in a canonical frame.

    Returns the frame (duplicates inserted), the records (position, column, kind) and
    the text-level date defects (positions, column, replacement texts) that can only be
    applied after rendering.
    """
    n = frame.height
    empty = pl.DataFrame(schema={"position": pl.Int64, "column": pl.Utf8, "kind": pl.Utf8})
    if n < MIN_ROWS:
        return frame, empty, []
    k = min(int(rng.binomial(n, RATE)), n // 100)
    if k == 0:
        return frame, empty, []
    kinds = rng.choice(_applicable(feed, fmt), size=k)
    order = rng.permutation(n)
    used = np.zeros(n, bool)
    records: list[tuple[np.ndarray, str, str]] = []
    text_defects: list[tuple[np.ndarray, str, list[str]]] = []
    updates: list[pl.Expr] = []
    row = pl.int_range(pl.len())

    def take(count: int, eligible: np.ndarray) -> np.ndarray:
        cand = order[eligible[order] & ~used[order]][:count]
        used[cand] = True
        return np.sort(cand)

    def at(pos: np.ndarray) -> pl.Expr:
        return row.is_in(pl.lit(pl.Series(pos, dtype=pl.Int64)).implode())

    everything = np.ones(n, bool)
    for kind in KINDS:
        count = int((kinds == kind).sum())
        if count == 0 or kind == "duplicate_key":
            continue
        if kind == "invalid_check_digit":
            pos = take(count, frame["corporate_number"].is_not_null().to_numpy())
            c = pl.col("corporate_number")
            wrong = ((c.str.slice(0, 1).cast(pl.Int32) + 1) % 10).cast(pl.Utf8) + c.str.slice(1)
            column, expr = "corporate_number", wrong
        elif kind == "unknown_bank_code":
            pos = take(count, everything)
            column, expr = "lender_bank_code", pl.lit(UNKNOWN_BANK_CODES[int(rng.integers(len(UNKNOWN_BANK_CODES)))])
        elif kind == "future_received_on":
            pos = take(count, everything)
            column, expr = "received_on", pl.lit(future)
        elif kind == "negative_amount":
            column = _negative_column(feed)
            pos = take(count, everything)
            expr = -(pl.col(column).abs().clip(lower_bound=1000))
        elif kind == "unknown_category":
            cats = [c.name for c in feed.columns if c.kind is Kind.CATEGORY]
            column = cats[int(rng.integers(len(cats)))]
            pos = take(count, frame[column].is_not_null().to_numpy())
            expr = pl.lit(_BAD_CATEGORY[fmt])
        elif kind == "missing_required":
            required = [c.name for c in feed.columns if c.required]
            column = required[int(rng.integers(len(required)))]
            pos = take(count, everything)
            expr = pl.lit(None, dtype=frame.schema[column])
        else:  # unparseable_date: text replaced after rendering
            dates = [c for c in feed.columns if c.kind in (Kind.DATE, Kind.MONTH) and c.required]
            col = dates[int(rng.integers(len(dates)))]
            pos = take(count, everything)
            table = _BAD_MONTHS if col.kind is Kind.MONTH else _BAD_DATES
            texts = [table[fmt][i] for i in rng.integers(0, len(table[fmt]), len(pos))]
            text_defects.append((pos, col.name, texts))
            records.append((pos, col.name, kind))
            continue
        if len(pos):
            updates.append(pl.when(at(pos)).then(expr).otherwise(pl.col(column)).alias(column))
            records.append((pos, column, kind))
    for expr in updates:
        frame = frame.with_columns(expr)

    # Duplicates: an exact copy of a clean row written right after it.
    dups = take(int((kinds == "duplicate_key").sum()), everything)
    if len(dups):
        shift = np.searchsorted(dups, np.arange(n), side="left")  # duplicates inserted before each row
        new_pos = np.arange(n) + shift
        frame = frame[np.insert(np.arange(n), dups + 1, dups)]
        records = [(new_pos[p], c, k) for p, c, k in records]
        text_defects = [(new_pos[p], c, t) for p, c, t in text_defects]
        dup_pos = new_pos[dups] + 1
        records.append((dup_pos, ",".join(feed.key), "duplicate_key"))
    out = pl.DataFrame({
        "position": np.concatenate([p for p, _, _ in records]).astype(np.int64) if records else [],
        "column": np.concatenate([np.full(len(p), c) for p, c, _ in records]) if records else [],
        "kind": np.concatenate([np.full(len(p), k) for p, _, k in records]) if records else [],
    }, schema=empty.schema)
    return frame, out, text_defects


def apply_text_defects(rendered: pl.DataFrame, text_defects, header_of: dict[str, str]) -> pl.DataFrame:
    for pos, column, texts in text_defects:
        header = header_of[column]
        values = rendered[header].scatter(pos, texts)
        rendered = rendered.with_columns(values)
    return rendered


def future_date(cutoff: np.datetime64) -> object:
    return (cutoff.astype("datetime64[D]").item() + timedelta(days=500))
