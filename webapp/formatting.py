"""Numbers and dates as the pages show them (`Formatter`, `f` in every template) and as forms
and query strings send them (`parse_date`)."""
from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
UNITS = {  # catalog units, as a value's suffix
    "%": ("%", "%"), "days": ("日", " days"), "months": ("か月", " months"), "years": ("期", " years"),
    "JPY": ("円", " JPY"), "ratio": ("倍", "×"), "debits": ("件", " debits"), "loans": ("件", " loans"),
    "lenders": ("行", " lenders"), "banks": ("行", " banks"), "institutions": ("機関", " institutions"),
    "guarantees": ("件", " guarantees"), "reports": ("件", " reports"), "percentage points": ("pt", " pt"),
}


class Formatter:
    """Number and date formats of one request's language (templates: `f.pct(x)`)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def pct(self, value: float | None, digits: int = 1) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return f"{value * 100:.{digits}f}%"

    def num(self, value: Any, digits: int = 3) -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return "✓" if value else "—"
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float):
            if math.isnan(value):
                return "—"
            if value.is_integer() and abs(value) < 1e15:
                return f"{int(value):,}"
            if abs(value) >= 1000:
                return f"{value:,.0f}"
            return f"{value:.{digits}g}"
        return str(value)

    def date(self, value: date | str | None) -> str:
        if value is None or value == "":
            return "—"
        return value.isoformat() if isinstance(value, date) else str(value)[:10]

    def long_date(self, value: date | None) -> str:
        """A date in words: 2026年11月20日, or 20 Nov 2026."""
        if value is None:
            return "—"
        return f"{value.year}年{value.month}月{value.day}日" if self.lang == "ja" else value.strftime("%-d %b %Y")

    def datetime(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")

    def day(self, value: datetime | None) -> str:
        """The date of a timestamp in Japan."""
        return "—" if value is None else value.astimezone(TOKYO).date().isoformat()

    def yesno(self, value: bool | None) -> str:
        if value is None:
            return "—"
        return ("はい" if value else "いいえ") if self.lang == "ja" else ("yes" if value else "no")

    def unit_value(self, value: Any, unit: str | None) -> str:
        text = self.num(value)
        if text == "—" or not unit:
            return text
        ja, en = UNITS.get(unit, ("", ""))
        if self.lang != "en":
            return text + ja
        if text == "1" and en.endswith("s") and en.startswith(" "):  # 1 month, 1 debit (not "1 months")
            en = en[:-1]
        return text + en


def parse_date(value: str | None) -> date | None:
    """An ISO date typed in a form or a query string; None when empty or not a date."""
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None
