"""Ground truth: what really happened, written next to the landing files, never ingested."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from yocho.generator.feeds import Builder, World
from yocho.generator.health import NEVER, PATH_EVENT
from yocho.generator.population import DIVISIONS


def business_truth(world: World, builder: Builder) -> pl.DataFrame:
    pop, H, tl = world.pop, world.health, world.tl
    P, T = tl.pre, tl.T
    h = H.h[:, P:]
    E = H.event_month
    in_window = (E >= P) & (E < T)
    frame = pl.DataFrame({
        "business_id": pl.Series(pop.gid).cast(pl.Utf8).str.zfill(8).str.replace("^", "B"),
        "corporate_number": builder.corporate,
        "entity_type": np.where(pop.sole, "sole_proprietor", "corporation"),
        "jsic_division": DIVISIONS[pop.division],
        "prefecture_code": pop.prefecture.astype(np.int64),
        "employees": pop.employees,
        "founded_year": pop.founded,
        "fiscal_year_end_month": pop.fye_month.astype(np.int64),
        "submits_statements": pop.submits,
        "quarterly_statements": pop.quarterly,
        "main_bank": np.array([b.id for b in world.banks])[pop.main_bank],
        "guaranteed": pop.guaranteed,
        "monthly_hazard": pop.hazard,
        "health_start": h[:, 0], "health_end": h[:, -1], "health_mean": h.mean(axis=1),
        "health_min": h.min(axis=1),
        "health_min_month": pl.Series(tl.month_start(h.argmin(axis=1) + P).astype("datetime64[D]")),
        "health_drift": H.drift,
        "near_miss": H.near_miss,
        "deterioration_onset": _month_or_null(tl, np.where(in_window, H.onset, NEVER)),
        "first_event_month": _month_or_null(tl, np.where(in_window, E, NEVER)),
        "first_event_type": pl.Series(np.where(in_window, np.array(["", *PATH_EVENT.values()])[H.path], "")).replace("", None),
        # An event after the window whose decline is already under way at its end.
        "event_after_window_month": _month_or_null(tl, np.where(E >= T, E, NEVER), allow_future=True),
        "recovers": H.recovers,
        "restructured_from": _month_or_null(tl, H.restructured_from),
        "bankrupt_month": _month_or_null(tl, H.bankrupt_month),
        "subrogation_paid_month": _month_or_null(tl, H.subrogation_paid),
    })
    for inst in world.insts:
        member = pop.member[:, inst.index] if inst.is_bank else pop.guaranteed
        frame = frame.with_columns(builder.local_ids[inst.id].set(pl.Series(~member), None)
                                   .alias(f"local_id_{inst.id}"))
    return frame


def _month_or_null(tl, t: np.ndarray, allow_future: bool = False) -> pl.Series:
    limit = tl.horizon if allow_future else tl.T
    ok = (t >= 0) & (t < limit)
    return pl.Series(tl.month_start(np.where(ok, t, 0))).set(pl.Series(~ok), None)


def health_monthly(world: World, businesses: pl.DataFrame) -> pl.DataFrame:
    """business_id, month (first day), h, distress: each business's latent health in every
    simulated month up to the end of the window, the pre-window months included (a
    year-on-year view of the first written months needs them). Every observable sign is
    generated from this state, so it is what a best possible ranking knows at each month."""
    h = world.health.h
    n, T = h.shape
    return pl.DataFrame({
        "business_id": businesses["business_id"].gather(np.repeat(np.arange(n), T)),
        "month": pl.Series(np.tile(world.tl.month_start(np.arange(T)), n)),
        "h": h.reshape(-1).astype(np.float32),
    }).with_columns(distress=(-pl.col("h")).clip(lower_bound=0.0))


def links_truth(world: World, builder: Builder, businesses: pl.DataFrame) -> pl.DataFrame:
    parts = []
    for inst in world.insts:
        member = world.pop.member[:, inst.index] if inst.is_bank else world.pop.guaranteed
        idx = np.nonzero(member)[0]
        role = (np.where(world.pop.main_bank[idx] == inst.index, "main_bank", "other_bank")
                if inst.is_bank else np.full(len(idx), "guarantor"))
        parts.append(pl.DataFrame({
            "business_id": businesses["business_id"].gather(idx),
            "institution_id": inst.id,
            "local_id": builder.local_ids[inst.id].gather(idx),
            "role": role,
        }))
    return pl.concat(parts)


class TruthWriter:
    """Appends each chunk to single Parquet files, so memory stays per-chunk."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.writers: dict[str, pq.ParquetWriter] = {}

    def append(self, name: str, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        writer = self.writers.get(name)
        if writer is None:
            writer = self.writers[name] = pq.ParquetWriter(self.folder / f"{name}.parquet", table.schema,
                                                           compression="zstd")
        writer.write_table(table.cast(writer.schema))

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
