"""generate(): the synthetic portfolio, chunk by chunk."""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from yocho.contract import FEEDS
from yocho.generator.banking import build_accounts, build_loans, monthly_sales, relationships
from yocho.generator.defects import future_date
from yocho.generator.feeds import Builder, World, build_feeds
from yocho.generator.health import industry_levels, simulate_health
from yocho.generator.institutions import home_prefectures, institutions
from yocho.generator.population import build_population
from yocho.generator.timeline import Timeline
from yocho.generator.truth import TruthWriter, business_truth, health_monthly, links_truth
from yocho.generator.writer import write_feed
from yocho.settings import GeneratorSettings


@dataclass(frozen=True)
class GenerationSummary:
    businesses: int
    months: int
    institutions: list[str]
    files_written: int
    rows_per_feed: dict[str, int]
    businesses_with_event: int
    annual_event_rate: float
    bad_rows: int
    elapsed_seconds: float
    chunks: int = field(default=1)


def _remove_previous(out_dir: Path, inst_ids: list[str]) -> None:
    """A rerun replaces what an earlier run generated instead of mixing with it; only
    generator-named files are removed, anything else in the landing area stays."""
    for inst_id in inst_ids:
        for feed in FEEDS:
            folder = out_dir / "landing" / inst_id / feed
            for pattern in (f"{feed}_FY*_c*.*", f"{feed}_M*_c*.*"):
                for path in folder.glob(pattern):
                    path.unlink()
    shutil.rmtree(out_dir / "truth", ignore_errors=True)


def generate(cfg: GeneratorSettings, out_dir: Path,
             progress: Callable[[int, int], None] | None = None) -> GenerationSummary:
    """Write landing files to out_dir/landing/<institution>/<feed>/ and ground truth to out_dir/truth/.

    Same settings, same bytes: every chunk draws from its own SeedSequence child, and
    what must agree across chunks (industry shocks, extract dates) from fixed children.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    tl = Timeline(cfg.months, cfg.end_month)
    insts = institutions(cfg.banks)
    _remove_previous(out_dir, [i.id for i in insts])
    homes = home_prefectures(cfg.banks)
    levels = industry_levels(cfg.seed, tl.horizon)
    shared = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(2**31 - 2,)))
    batch_lag = shared.integers(10, 21, (len(insts), tl.T))
    future = future_date(tl.cutoff)
    # the last N months of receipt, the extract's month (the month after end_month) included,
    # are written one file per month of receipt instead of in the fiscal-year parts
    monthly_from = (tl.month_start(tl.T - cfg.monthly_files_months + 1).item()
                    if cfg.monthly_files_months else None)

    chunks = -(-cfg.businesses // cfg.chunk_size)
    rows = dict.fromkeys(FEEDS, 0)
    files = 0
    with_event = 0
    bad: list[pl.DataFrame] = []
    truth = TruthWriter(out_dir / "truth")
    try:
        for c in range(chunks):
            gid = np.arange(c * cfg.chunk_size, min((c + 1) * cfg.chunk_size, cfg.businesses), dtype=np.int64)
            rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(c,)))
            pop = build_population(gid, cfg.banks, homes, tl, rng)
            health = simulate_health(pop, tl, levels, rng)
            rels = relationships(pop)
            # loans from new lenders draw from their own stream too (yocho.generator.banking)
            lender_rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(c, 2)))
            loans = build_loans(pop, health, rels, tl, rng, lender_rng)
            sales = monthly_sales(pop, health, tl, rng)
            accounts = build_accounts(pop, health, rels, loans, sales, tl, rng)
            # exits draw from their own stream: the rows of every other feed stay as they were
            exit_rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(c, 1)))
            world = World(pop=pop, health=health, rels=rels, loans=loans, accounts=accounts, sales=sales,
                          tl=tl, insts=insts, batch_lag=batch_lag, rng=rng, exit_rng=exit_rng,
                          lender_rng=lender_rng)
            for inst, feed, frame in build_feeds(world):
                n_files, n_rows, records = write_feed(frame, inst, feed, c, out_dir, cfg.seed, future,
                                                      monthly_from=monthly_from)
                files += n_files
                rows[feed] += n_rows
                bad.extend(records)
                del frame
            builder = Builder(world)
            biz = business_truth(world, builder)
            truth.append("businesses", biz)
            truth.append("links", links_truth(world, builder, biz))
            truth.append("health_monthly", health_monthly(world, biz))
            with_event += int(biz["first_event_month"].is_not_null().sum())
            del world, builder, biz, pop, health, rels, loans, sales, accounts
            if progress:
                progress(c + 1, chunks)
    finally:
        truth.close()
    bad_frame = pl.concat(bad) if bad else pl.DataFrame(schema={
        "institution_id": pl.Utf8, "feed": pl.Utf8, "file": pl.Utf8, "row": pl.Int32, "column": pl.Utf8, "kind": pl.Utf8})
    bad_frame.write_parquet(out_dir / "truth" / "bad_rows.parquet")
    return GenerationSummary(
        businesses=cfg.businesses,
        months=cfg.months,
        institutions=[i.id for i in insts],
        files_written=files,
        rows_per_feed=rows,
        businesses_with_event=with_event,
        annual_event_rate=with_event / (cfg.businesses * cfg.months / 12),
        bad_rows=bad_frame.height,
        elapsed_seconds=time.perf_counter() - started,
        chunks=chunks,
    )
