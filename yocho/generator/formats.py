"""How each institution writes its files: encodings, headers, dates, numbers, labels.

Canonical frames (English names, native types) go in; for CSV senders every column
comes out as the text the institution would write, for Parquet senders native types.
The variety is deliberate and mixed within a file, because that is what ingest must read.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from yocho.contract import Feed, Kind

_FULL_WIDTH = [chr(0xFF10 + d) for d in range(10)]
_DIGITS = [str(d) for d in range(10)]
SUFFIX = {"cp932_ja": ".csv", "utf8bom_en": ".csv", "parquet": ".parquet"}


def _era(d: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(kanji era, letter era, era year) of a date."""
    reiwa = d >= date(2019, 5, 1)
    heisei = d >= date(1989, 1, 8)
    kanji = pl.when(reiwa).then(pl.lit("令和")).when(heisei).then(pl.lit("平成")).otherwise(pl.lit("昭和"))
    letter = pl.when(reiwa).then(pl.lit("R")).when(heisei).then(pl.lit("H")).otherwise(pl.lit("S"))
    y = d.dt.year()
    year = pl.when(reiwa).then(y - 2018).when(heisei).then(y - 1988).otherwise(y - 1925)
    return kanji, letter, year


def wareki_date(d: pl.Expr, short: pl.Expr) -> pl.Expr:
    """令和6年3月31日 (元年 for the first year), or R6.3.31 where `short`."""
    kanji, letter, year = _era(d)
    year_text = pl.when(year == 1).then(pl.lit("元")).otherwise(year.cast(pl.Utf8))
    long = pl.format("{}{}年{}月{}日", kanji, year_text, d.dt.month(), d.dt.day())
    brief = pl.format("{}{}.{}.{}", letter, year, d.dt.month(), d.dt.day())
    return pl.when(short).then(brief).otherwise(long)


def wareki_month(d: pl.Expr, short: pl.Expr) -> pl.Expr:
    kanji, letter, year = _era(d)
    year_text = pl.when(year == 1).then(pl.lit("元")).otherwise(year.cast(pl.Utf8))
    long = pl.format("{}{}年{}月", kanji, year_text, d.dt.month())
    brief = pl.format("{}{}.{}", letter, year, d.dt.month())
    return pl.when(short).then(brief).otherwise(long)


def thousands(x: pl.Expr) -> pl.Expr:
    """1234567 -> 1,234,567 (magnitude only)."""
    return (x.abs().cast(pl.Utf8).str.reverse().str.replace_all(r"(\d{3})", "${1},")
            .str.strip_chars_end(",").str.reverse())


def full_width(text: pl.Expr) -> pl.Expr:
    return text.str.replace_many(_DIGITS, _FULL_WIDTH)


def _mask(rng: np.random.Generator, n: int, p: float) -> pl.Expr:
    return pl.lit(pl.Series(rng.random(n) < p))


def render(frame: pl.DataFrame, feed: Feed, fmt: str, rng: np.random.Generator) -> pl.DataFrame:
    if fmt == "parquet":
        return frame.select(feed.column_names)
    n = frame.height
    japanese = fmt == "cp932_ja"
    exprs = []
    for col in feed.columns:
        c = pl.col(col.name)
        kind = col.kind
        if kind is Kind.DATE:
            out = (wareki_date(c, _mask(rng, n, 0.3)) if japanese
                   else pl.when(_mask(rng, n, 0.1)).then(c.dt.strftime("%Y/%-m/%-d")).otherwise(c.dt.strftime("%Y-%m-%d")))
        elif kind is Kind.MONTH:
            out = wareki_month(c, _mask(rng, n, 0.3)) if japanese else c.dt.strftime("%Y-%m")
        elif kind is Kind.JPY and japanese:
            sign = pl.when(_mask(rng, n, 0.5)).then(pl.lit("△")).otherwise(pl.lit("▲"))
            text = pl.when(c < 0).then(sign + thousands(c)).otherwise(thousands(c))
            out = pl.when(_mask(rng, n, 0.02)).then(full_width(text)).otherwise(text)
        elif kind in (Kind.JPY, Kind.INT, Kind.FLOAT):
            out = c.cast(pl.Utf8)
            if japanese:
                out = pl.when(c < 0).then("△" + c.abs().cast(pl.Utf8)).otherwise(out)
        elif kind is Kind.BOOL:
            if japanese:
                yes, no = ("有", "無") if rng.random() < 0.5 else ("○", "×")
            else:
                yes, no = ("1", "0") if rng.random() < 0.5 else ("true", "false")
            out = pl.when(c).then(pl.lit(yes)).when(~c).then(pl.lit(no))
        elif kind is Kind.CATEGORY:
            out = c.replace(col.categories) if japanese else c
        elif kind is Kind.CORPORATE_NUMBER and japanese:
            out = pl.when(_mask(rng, n, 0.01)).then(full_width(c)).otherwise(c)
        elif col.name == "name" and japanese:
            # Bank systems with narrow fields abbreviate the legal form.
            out = pl.when(_mask(rng, n, 0.4)).then(c.str.replace("株式会社", "（株）").str.replace("有限会社", "（有）")).otherwise(c)
        else:
            out = c
        exprs.append(out.cast(pl.Utf8).alias(col.ja if japanese else col.name))
    return frame.select(exprs)


def encode_csv(frame: pl.DataFrame, fmt: str) -> bytes:
    if fmt == "cp932_ja":
        # Windows-made extracts: CRLF, Shift_JIS (cp932); polars writes UTF-8 only.
        return frame.write_csv(None, line_terminator="\r\n").encode("cp932")
    return "\ufeff".encode() + frame.write_csv(None).encode("utf-8")
