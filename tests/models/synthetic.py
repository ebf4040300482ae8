"""A synthetic feature panel for the model tests: every indicator's value and fired flag, every
measure's value (noise),
risk driven by rep_dpd_30 and acc_failed_debits, a third of the account rows unavailable."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
from scipy.special import expit

from features.catalog import indicators, measures


def synthetic_panel(seed: int, dpd_weight: float, debits_weight: float, n: int = 12000) -> pl.DataFrame:
    """Rows in as-of order (100 per day from 2022-01-31) with `label` drawn from `true_risk`
    = -4 + dpd_weight·[rep_dpd_30 fired] + debits_weight·[acc_failed_debits fired]."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for ind in indicators():
        fired = (rng.random(n) < 0.1).astype(float)
        data[f"{ind}__fired"] = fired
        data[ind] = fired * 10 + rng.normal(size=n)
    for measure in measures():  # figures with no bearing on the risk
        data[measure] = rng.normal(size=n)
    unavailable = rng.random(n) < 0.33
    for name in ("acc_failed_debits", "acc_failed_debits__fired"):
        data[name] = np.where(unavailable, np.nan, data[name])
    logit = -4 + dpd_weight * data["rep_dpd_30__fired"] + debits_weight * np.nan_to_num(
        data["acc_failed_debits__fired"])
    data["label"] = rng.random(n) < expit(logit)
    data["true_risk"] = logit
    data["business_key"] = np.array([f"B{i:05d}" for i in range(n)])
    as_of = pl.Series("as_of", [date(2022, 1, 31) + timedelta(days=i // 100) for i in range(n)])
    return pl.DataFrame(data).with_columns(pl.col(pl.Float64).fill_nan(None), as_of)
