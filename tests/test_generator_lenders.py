"""Some businesses turn to a lender they did not borrow from before, most of them on the way to
an event: the generator draws those loans, and the warning sign for it (rep_more_lenders) fires."""
from __future__ import annotations

import shutil
from datetime import date

import numpy as np
import polars as pl

from features.catalog import Family
from features.compute import compute, results
from features.scan import month_ends
from yocho.generator.banking import build_loans, relationships
from yocho.generator.health import NEVER, industry_levels, simulate_health
from yocho.generator.institutions import OUTSIDE_LENDERS, home_prefectures
from yocho.generator.population import build_population
from yocho.generator.timeline import Timeline
from yocho.warehouse.db import warehouse

BANKS = 3


def _loans(n: int, seed: int, with_new_lenders: bool):
    tl = Timeline(36, date(2026, 9, 1))
    rng = np.random.default_rng(seed)
    pop = build_population(np.arange(n, dtype=np.int64), BANKS, home_prefectures(BANKS), tl, rng)
    health = simulate_health(pop, tl, industry_levels(seed, tl.horizon), rng)
    lender_rng = np.random.default_rng(seed + 1) if with_new_lenders else None
    return pop, health, tl, build_loans(pop, health, relationships(pop), tl, rng, lender_rng)


def test_loans_from_new_lenders_come_from_another_lender_mostly_in_a_decline_and_leave_the_rest_alone():
    pop, health, tl, before = _loans(6000, 3, with_new_lenders=False)
    _, _, _, after = _loans(6000, 3, with_new_lenders=True)
    had = before.n
    # the loans a business already had are exactly as they were
    for field in before.__dataclass_fields__:
        assert np.array_equal(getattr(after, field)[:had], getattr(before, field)), field
    new = np.arange(had, after.n)
    assert len(new) > 20 and (after.start[new] > 0).all() and (before.start == 0).all()
    biz = after.biz[new]
    assert len(set(biz)) == len(new)  # one new lender each
    assert pop.guaranteed[biz].all() and after.guaranteed[new].all() and (after.rel[new] == -1).all()
    assert set(after.outside_code[new]) <= set(OUTSIDE_LENDERS)
    outside = {b: c for b, c in zip(before.biz[before.rel < 0], before.outside_code[before.rel < 0], strict=True)}
    assert all(outside.get(b) != c for b, c in zip(biz, after.outside_code[new], strict=True))
    # reported from the month it is drawn, with its balance
    start = after.start[new]
    assert not after.active[new, start - 1].any() and after.active[new, start].all()
    assert (after.balance[new, start] > 0).all() and (after.balance[new, :1] == 0).all()
    # most are taken by businesses already declining towards an event, before the event
    declining = health.onset[biz] < NEVER
    assert declining.mean() > 0.5
    assert ((start[declining] >= health.onset[biz][declining])
            & (start[declining] < health.event_month[biz][declining])).all()
    share = declining.sum() / (pop.guaranteed & (health.onset < NEVER)).sum()
    assert 0.05 < share < 0.25


def test_more_lenders_fires_on_the_generated_portfolio_mostly_for_declining_businesses(generated, tmp_path):
    settings = generated.settings.model_copy(update={"data_dir": tmp_path / "data"})
    settings.data_dir.mkdir()
    shutil.copy(generated.settings.warehouse_path, settings.warehouse_path)
    with warehouse(settings) as con:
        compute(con, month_ends(date(2026, 10, 31), 18), families=[Family.REPAYMENT])
        fired = results(con).filter((pl.col("indicator_id") == "rep_more_lenders") & pl.col("fired"))
    truth = pl.read_parquet(generated.settings.data_dir / "truth" / "businesses.parquet")
    declining = truth.select(
        pl.concat_list(pl.col("corporate_number").cast(pl.Utf8).str.zfill(13), "cga_01:" + pl.col("local_id_cga_01"))
        .alias("business_key"),
        (pl.col("deterioration_onset").is_not_null() | pl.col("event_after_window_month").is_not_null())
        .alias("declining"),
    ).explode("business_key")
    businesses = fired.select("business_key").unique().join(declining, on="business_key", how="left")
    assert businesses.height >= 5, businesses
    assert businesses["declining"].null_count() == 0
    # a few healthy businesses diversify too, but a firing business is far more often one in decline
    base = truth.select(pl.col("deterioration_onset").is_not_null() | pl.col("event_after_window_month").is_not_null()
                        ).to_series().mean()
    assert businesses["declining"].mean() > 3 * base, (businesses["declining"].mean(), base)
