"""`python -m bench.training --rows 1000000`: how long one training run takes on N labelled rows.

A training run is what `yocho train` does after loading its rows: backtest every candidate
(fit on the earlier months, score the held-out ones), refit the best on every row, measure
drift and register it with its card (models/training.py). The rows are a synthetic panel with
the catalog's columns -- every sign's value and fired flag, every measure -- in the shapes
the scan produces (signs fire for about one row in ten, a third of the rows lack the account
and qualitative feeds, measures are continuous), 36 as-of months, and a label driven by a few
of them. The data's meaning is irrelevant here: only its size and shape set the time.

Prints the seconds of each part and writes them as JSON with --out.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from features.catalog import Family, indicators, measures
from models.registry import Registry
from models.training import register_best, run_backtests
from yocho.settings import load_settings

MONTHS = 36
# feeds a third of small businesses have no data in (no deposit account or notes at the bank)
PATCHY = (Family.ACCOUNTS, Family.QUALITATIVE)


def synthetic_rows(rows: int, seed: int = 0) -> pl.DataFrame:
    """`rows` labelled panel rows: rows / MONTHS businesses x MONTHS month-ends."""
    rng = np.random.default_rng(seed)
    businesses = max(rows // MONTHS, 1)
    n = businesses * MONTHS
    data: dict[str, np.ndarray] = {}
    patchy = rng.random(businesses) < 0.33
    logit = np.full(n, -4.0)
    for j, (ind, spec) in enumerate(indicators().items()):
        fired = (rng.random(n) < 0.1).astype(float)
        value = fired * 10 + rng.normal(size=n)
        if spec.family in PATCHY:
            gone = np.repeat(patchy, MONTHS)
            fired, value = np.where(gone, np.nan, fired), np.where(gone, np.nan, value)
        data[ind], data[f"{ind}__fired"] = value, fired
        if j % 6 == 0:  # a few signs carry the risk
            logit += 1.2 * np.nan_to_num(fired)
    for k, measure in enumerate(measures()):
        data[measure] = rng.normal(size=n)
        if k % 4 == 0:
            logit -= 0.4 * data[measure]
    data["label"] = rng.random(n) < 1 / (1 + np.exp(-logit))
    keys = np.repeat(np.array([f"B{i:07d}" for i in range(businesses)]), MONTHS)
    months = np.tile(np.arange(MONTHS), businesses)
    # the month-ends of 2023-01 .. 2025-12: the first of the next month, less a day
    ends = pl.Series([date(2023 + (m + 1) // 12, (m + 1) % 12 + 1, 1) for m in range(MONTHS)]).dt.offset_by("-1d")
    frame = pl.DataFrame(data).with_columns(
        pl.col(pl.Float64).fill_nan(None),
        business_key=pl.Series(keys),
        as_of=ends.gather(months),
        signs_fired=pl.lit(0, dtype=pl.Int32),
        event_on=pl.lit(None, dtype=pl.Date),
        event_type=pl.lit(None, dtype=pl.Utf8),
    )
    return frame.sort("as_of", "business_key")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="labelled rows to train on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the timings as JSON here")
    args = parser.parse_args(argv)
    settings = load_settings()
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    frame = synthetic_rows(args.rows, args.seed)
    seconds["build rows (not part of training)"] = time.perf_counter() - started
    latest = frame.filter(pl.col("as_of") == pl.col("as_of").max())

    started = time.perf_counter()
    backtests = run_backtests(frame, settings.models)
    seconds["backtest every candidate"] = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="yocho-train-bench-") as folder:
        started = time.perf_counter()
        run = register_best(Registry(Path(folder)), frame, backtests, latest, settings.models, settings.features)
        seconds["refit the best, drift, register"] = time.perf_counter() - started
    training = seconds["backtest every candidate"] + seconds["refit the best, drift, register"]
    result = {"rows": frame.height, "columns": len(run.card.features), "chosen": run.card.model,
              "seconds": seconds, "training_seconds": training,
              "backtest": {name: {k: b.metrics[k] for k in ("roc_auc", "train_rows", "test_rows")}
                           for name, b in backtests.items()}}
    for part, value in seconds.items():
        print(f"{part:40s} {value:8.1f} s")
    print(f"{'training run':40s} {training:8.1f} s on {frame.height:,} rows x {len(run.card.features)} columns "
          f"({run.card.model} chosen)")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
