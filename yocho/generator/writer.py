"""Writing one (institution, feed) frame as per-fiscal-year part files, defects planted."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from yocho.contract import FEEDS
from yocho.generator.defects import apply_text_defects, plant
from yocho.generator.feeds import FY
from yocho.generator.formats import SUFFIX, encode_csv, render
from yocho.generator.institutions import Institution

FEED_ORDER = list(FEEDS)


def write_feed(frame: pl.DataFrame, inst: Institution, feed_name: str, chunk: int, out_dir: Path,
               seed: int, future: object) -> tuple[int, int, list[pl.DataFrame]]:
    """Write the frame's part files; returns (files, rows, bad-row records)."""
    feed = FEEDS[feed_name]
    folder = out_dir / "landing" / inst.id / feed_name
    files = rows = 0
    records = []
    if frame.is_empty():
        return files, rows, records
    folder.mkdir(parents=True, exist_ok=True)
    for fy in sorted(frame[FY].unique().to_list()):
        part = frame.filter(pl.col(FY) == fy).drop(FY)
        rng = np.random.default_rng(np.random.SeedSequence(
            seed, spawn_key=(chunk, inst.index, FEED_ORDER.index(feed_name), fy)))
        part, bad, text_defects = plant(part, feed, inst.fmt, rng, future)
        out = render(part, feed, inst.fmt, rng)
        japanese = inst.fmt == "cp932_ja"
        out = apply_text_defects(out, text_defects,
                                 {c.name: (c.ja if japanese else c.name) for c in feed.columns})
        path = folder / f"{feed_name}_FY{fy}_c{chunk:03d}{SUFFIX[inst.fmt]}"
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
