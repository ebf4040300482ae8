"""Dates as the evidence documents carry them: `date` objects, or ISO strings once a document
has been through JSON (month-ends as "2026-07-31", months as "2026-07")."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})")
_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")


def month_of(value: Any) -> tuple[int, int] | None:
    """(year, month) of a date or an ISO string; None for anything else."""
    if isinstance(value, date):
        return value.year, value.month
    if isinstance(value, str):
        found = _MONTH.match(value.strip())
        if found and 1 <= int(found.group(2)) <= 12:
            return int(found.group(1)), int(found.group(2))
    return None


def day_of(value: Any) -> date | None:
    """The date of a date or an ISO day string; None for anything else or an impossible day."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        found = _DAY.match(value.strip())
        if found:
            try:
                return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
            except ValueError:
                return None
    return None
