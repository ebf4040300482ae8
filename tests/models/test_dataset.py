"""Training rows and the time split: no label reaches across the boundary."""
from __future__ import annotations

from datetime import date

import polars as pl

from models.dataset import time_split, training_frame
from tests.models.conftest import DATES, A


def test_training_rows_exclude_incomplete_and_already_in_event(tiny):
    frame = training_frame(tiny.con, until=date(2026, 12, 31))
    # A is already restructured at 2025-09-30: that row goes; B keeps all four dates.
    assert frame.filter(pl.col("business_key") == A)["as_of"].to_list() == list(DATES[:3])
    assert frame.height == 7
    assert {"signs_fired", "cga_incident_reported", "label"} <= set(frame.columns)


def test_split_embargoes_the_horizon_before_the_test_period():
    frame = pl.DataFrame({
        "as_of": [date(2023, 12, 31), date(2024, 5, 31), date(2024, 6, 30), date(2025, 1, 31), date(2025, 6, 30)],
        "label": [False, True, False, True, False],
    })
    split = time_split(frame, test_from=date(2025, 6, 1))
    # horizon 12 months: training dates must be before 2024-06-01
    assert split.train_until == date(2024, 6, 1)
    assert split.train["as_of"].to_list() == [date(2023, 12, 31), date(2024, 5, 31)]
    assert split.test["as_of"].to_list() == [date(2025, 6, 30)]
    assert split.train["as_of"].max() < split.train_until <= split.test["as_of"].min()
