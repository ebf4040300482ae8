"""How good a risk score is, in the terms a guarantee association or bank plans with.

Besides the usual discrimination and calibration figures: how many of the businesses
that deteriorate would be caught if only the top k% of the portfolio could be reviewed
each month (an institution's review capacity), and how early.
"""
from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def discrimination(label: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    return {
        "roc_auc": float(roc_auc_score(label, probability)),
        "pr_auc": float(average_precision_score(label, probability)),
        "brier": float(brier_score_loss(label, probability)),
        "base_rate": float(np.mean(label)),
    }


def calibration_table(label: np.ndarray, probability: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Predicted against observed rates in equal-count bins of the probability."""
    frame = pl.DataFrame({"label": np.asarray(label, dtype=float), "p": np.asarray(probability, dtype=float)})
    ranks = frame["p"].rank("ordinal") - 1
    frame = frame.with_columns(bin=(ranks * bins // frame.height).cast(pl.Int32))
    return (
        frame.group_by("bin")
        .agg(
            n=pl.len(),
            predicted=pl.col("p").mean(),
            observed=pl.col("label").mean(),
            p_min=pl.col("p").min(),
            p_max=pl.col("p").max(),
        )
        .sort("bin")
    )


def calibration_error(table: pl.DataFrame) -> float:
    """Expected calibration error: the row-weighted mean gap between predicted and observed
    rates over the calibration table's bins."""
    return float((table["n"] * (table["predicted"] - table["observed"]).abs()).sum() / table["n"].sum())


def flag_top(scored: pl.DataFrame, budget: float) -> pl.DataFrame:
    """Mark the top `budget` share of businesses by probability within each as-of month:
    what a reviewer with that capacity would look at. Ties at the cut keep the order stable."""
    return scored.with_columns(
        flagged=(
            pl.col("probability").rank("ordinal", descending=True).over("as_of")
            <= (pl.len().over("as_of") * budget).ceil()
        )
    )


def recall_at_budget(scored: pl.DataFrame, budgets: tuple[float, ...] = (0.01, 0.03, 0.05)) -> pl.DataFrame:
    """Share of positive (business, month) rows caught in each month's top `budget`,
    with the precision of those flags. `scored`: as_of, probability, label."""
    rows = []
    positives = scored["label"].sum()
    for budget in budgets:
        flagged = flag_top(scored, budget).filter(pl.col("flagged"))
        caught = flagged["label"].sum()
        rows.append({
            "budget": budget,
            "flagged": flagged.height,
            "caught": int(caught),
            "recall": caught / positives if positives else None,
            "precision": caught / flagged.height if flagged.height else None,
        })
    return pl.DataFrame(rows)


def lead_times(scored: pl.DataFrame, budget: float) -> pl.DataFrame:
    """For each business with an event, months from its first flag (top `budget` in a
    month, on or before the event) to the event. `scored`: business_key, as_of,
    probability, event_on (the first event ahead, null if none)."""
    flagged = flag_top(scored, budget).filter(pl.col("flagged") & pl.col("event_on").is_not_null()
                                              & (pl.col("as_of") < pl.col("event_on")))
    first = flagged.group_by("business_key").agg(first_flag=pl.col("as_of").min(), event_on=pl.col("event_on").min())
    return first.with_columns(
        lead_months=(
            (pl.col("event_on").dt.year() - pl.col("first_flag").dt.year()) * 12
            + pl.col("event_on").dt.month() - pl.col("first_flag").dt.month()
        )
    ).sort("business_key")


def median_lead_months(scored: pl.DataFrame, budget: float) -> float | None:
    leads = lead_times(scored, budget)["lead_months"]
    return float(leads.median()) if leads.len() else None
