"""Month arithmetic on dates, shared by the cool-down (store) and the dismissal look-back
(watchlist): a day moved by whole months, clamped to the end of a shorter month."""
from __future__ import annotations

from datetime import date


def add_months(day: date, months: int) -> date:
    """`day` moved by `months` (negative: back), e.g. 31 March − 1 month = 28/29 February."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")
