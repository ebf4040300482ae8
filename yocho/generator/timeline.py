"""Months of simulated history, the extract cut-off and Japanese fiscal years."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

# Months simulated before the first month written: statements received in the window
# describe fiscal years that began up to a year and a half earlier, and decline that
# ends in an early event started before the window.
PRE_MONTHS = 18
# Months simulated after the last written month, only to place events whose decline is
# already visible at the end of the window (right-censored, unlabelled deterioration).
POST_MONTHS = 18


@dataclass(frozen=True)
class Timeline:
    months: int               # months written
    end_month: date

    @property
    def pre(self) -> int:
        return PRE_MONTHS

    @property
    def T(self) -> int:
        """Months simulated up to the end of the window (state arrays are n x T)."""
        return PRE_MONTHS + self.months

    @property
    def horizon(self) -> int:
        """Months over which events are placed, T plus the post-window months."""
        return self.T + POST_MONTHS

    @property
    def first_month(self) -> np.datetime64:
        return np.datetime64(self.end_month.strftime("%Y-%m"), "M") - (self.T - 1)

    def month_start(self, t: np.ndarray | int) -> np.ndarray:
        return (self.first_month + np.asarray(t)).astype("datetime64[D]")

    def month_end(self, t: np.ndarray | int) -> np.ndarray:
        return (self.first_month + np.asarray(t) + 1).astype("datetime64[D]") - np.timedelta64(1, "D")

    def on_day(self, t: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Day `day` (1-28, valid in every month) of month index t."""
        return self.month_start(t) + (np.asarray(day) - 1).astype("timedelta64[D]")

    def calendar_month(self, t: np.ndarray | int) -> np.ndarray:
        return (self.first_month + np.asarray(t)).astype(int) % 12 + 1

    @property
    def cutoff(self) -> np.datetime64:
        """The extract date: rows received after it have not arrived yet and are not written."""
        return self.month_start(self.T) + np.timedelta64(20, "D")

    @property
    def window_start(self) -> np.datetime64:
        return self.month_start(self.pre)


def fiscal_year(days: np.ndarray) -> np.ndarray:
    """Japanese fiscal year (April-March) of datetime64 dates, named by its starting year."""
    months = days.astype("datetime64[M]").astype(int)
    return (months - 3) // 12 + 1970
