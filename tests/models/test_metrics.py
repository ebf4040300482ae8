"""Score metrics on hand-made scores, worked out by hand."""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from models.metrics import calibration_table, discrimination, lead_times, median_lead_months, recall_at_budget

M1, M2 = date(2025, 1, 31), date(2025, 2, 28)


def _scored() -> pl.DataFrame:
    # 100 businesses in each of two months; probability = 1 - i/100, so b000 is riskiest.
    keys = [f"b{i:03d}" for i in range(100)]
    rows = []
    for as_of in (M1, M2):
        for i, key in enumerate(keys):
            rows.append({"business_key": key, "as_of": as_of, "probability": 1 - i / 100,
                         # positives: b000, b002 (top 3) and b050 (middle), in both months
                         "label": key in ("b000", "b002", "b050"),
                         "event_on": date(2025, 7, 10) if key in ("b000", "b002", "b050") else None})
    return pl.DataFrame(rows)


def test_recall_at_budget_counts_each_months_top_share():
    got = recall_at_budget(_scored(), (0.01, 0.03, 0.05)).rows(named=True)
    # 6 positive rows in all. Top 1% = 1 row a month (b000): 2 caught. Top 3% = b000..b002: 4 caught.
    assert [(g["flagged"], g["caught"]) for g in got] == [(2, 2), (6, 4), (10, 4)]
    assert [g["recall"] for g in got] == pytest.approx([2 / 6, 4 / 6, 4 / 6])
    assert got[1]["precision"] == pytest.approx(4 / 6)


def test_lead_time_is_from_the_first_flag_to_the_event():
    scored = _scored()
    leads = lead_times(scored, 0.03)
    # b000 and b002 first flagged in January 2025, event in July 2025: 6 months. b050 never flagged.
    assert leads.select("business_key", "lead_months").rows() == [("b000", 6), ("b002", 6)]
    assert median_lead_months(scored, 0.03) == 6.0
    assert median_lead_months(scored.with_columns(event_on=pl.lit(None, dtype=pl.Date)), 0.03) is None


def test_discrimination_and_calibration():
    label = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8])
    got = discrimination(label, p)
    # pairs (pos, neg): (0.35>0.1) (0.35<0.4) (0.8>0.1) (0.8>0.4): 3 of 4
    assert got["roc_auc"] == pytest.approx(0.75)
    # brier: (0.01 + 0.16 + 0.4225 + 0.04) / 4
    assert got["brier"] == pytest.approx(0.158125)
    table = calibration_table(label, p, bins=2)
    # low bin: 0.1, 0.35 -> predicted 0.225, observed 0.5; high bin: 0.4, 0.8 -> 0.6, 0.5
    assert table.select("n", "predicted", "observed").rows() == [(2, pytest.approx(0.225), 0.5), (2, pytest.approx(0.6), 0.5)]
