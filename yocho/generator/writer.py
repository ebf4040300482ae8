"""Writing one (institution, feed) frame as part files, defects planted: one per fiscal year,
and (optionally) one per month of receipt for the latest months, as a night's delivery."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from yocho.contract import FEEDS
from yocho.generator.defects import apply_text_defects, plant
from yocho.generator.feeds import FY
from yocho.generator.formats import SUFFIX, encode_csv, render
from yocho.generator.institutions import Institution

FEED_ORDER = list(FEEDS)


def monthly_file_tag(month: date) -> str:
    """The name part of a month-of-receipt file: `M202610` for rows received in October 2026."""
    return f"M{month.year:04d}{month.month:02d}"


def write_feed(frame: pl.DataFrame, inst: Institution, feed_name: str, chunk: int, out_dir: Path,
               seed: int, future: object, monthly_from: date | None = None) -> tuple[int, int, list[pl.DataFrame]]:
    """Write the frame's part files; returns (files, rows, bad-row records).

    Rows are written per fiscal year (`<feed>_FY<yyyy>_c<chunk>`). With `monthly_from` (the
    first day of a month), rows received on or after it are written instead per month of
    receipt (`<feed>_M<yyyymm>_c<chunk>`), as institutions send their monthly deliveries;
    the fiscal-year parts keep the rest. Without it the output is as it always was.
    """
    feed = FEEDS[feed_name]
    folder = out_dir / "landing" / inst.id / feed_name
    files = rows = 0
    records = []
    if frame.is_empty():
        return files, rows, records
    folder.mkdir(parents=True, exist_ok=True)
    parts: list[tuple[str, tuple[int, ...], pl.DataFrame]] = []
    if monthly_from is not None:
        monthly = pl.col("received_on").is_not_null() & (pl.col("received_on") >= pl.lit(monthly_from))
        late, frame = frame.filter(monthly), frame.filter(~monthly)
        month = pl.col("received_on").dt.month_start()
        for start in sorted(late.select(month.unique())["received_on"].to_list()):
            tag = monthly_file_tag(start)
            # the month's number (yyyymm, six digits) never equals a fiscal year's (four)
            parts.append((tag, (start.year * 100 + start.month,),
                          late.filter(month == pl.lit(start)).drop(FY)))
    fiscal = [(f"FY{fy}", (fy,), frame.filter(pl.col(FY) == fy).drop(FY))
              for fy in sorted(frame[FY].unique().to_list())]
    for tag, key, part in fiscal + parts:
        if part.is_empty():
            continue
        rng = np.random.default_rng(np.random.SeedSequence(
            seed, spawn_key=(chunk, inst.index, FEED_ORDER.index(feed_name), *key)))
        part, bad, text_defects = plant(part, feed, inst.fmt, rng, future)
        out = render(part, feed, inst.fmt, rng)
        japanese = inst.fmt == "cp932_ja"
        out = apply_text_defects(out, text_defects,
                                 {c.name: (c.ja if japanese else c.name) for c in feed.columns})
        path = folder / f"{feed_name}_{tag}_c{chunk:03d}{SUFFIX[inst.fmt]}"
        if inst.fmt == "parquet":
            out.write_parquet(path, compression="zstd", statistics=False)
        else:
            path.write_bytes(encode_csv(out, inst.fmt))
        files += 1
        rows += out.height
        if bad.height:
            records.append(bad.select(
                pl.lit(inst.id).alias("institution_id"),
                pl.lit(feed_name).alias("feed"),
                pl.lit(str(path.relative_to(out_dir / "landing"))).alias("file"),
                (pl.col("position") + 2).cast(pl.Int32).alias("row"),
                "column", "kind",
            ))
    return files, rows, records
