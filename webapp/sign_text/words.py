"""How the sentences of webapp/sign_text write figures, in Japanese or English: yen (1億2,000万円 /
¥120.0M), signed percentages (−23.0%), months (2026年7月 / Jul 2026), runs of months, days,
financial periods (2026年3月期 / FY to Mar 2026), counts with their unit (3件 / 3 debits,
1 month / 2 months), and institutions by name.

`Evidence` wraps one sign's figures: `need(key)` stops a template (`Missing`) when a figure it
cannot do without is absent — as in a shared case, where another institution's figures are
withheld — so that the plain fallback is used instead of a sentence with a gap.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from signals.evidence_dates import day_of, month_of

MINUS = "−"  # U+2212: a minus sign, not a hyphen
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Missing(Exception):
    """A figure the template needs is not in the evidence."""


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class SignText:
    """One fired sign as a reviewer reads it: a sentence with its figures, a small table where
    there are several items, and notes (how the threshold was judged, what is withheld)."""
    sentence: str
    table: Table | None = None
    notes: tuple[str, ...] = ()


def number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        found = float(value)
    except (TypeError, ValueError):
        return None
    return found if math.isfinite(found) else None


class Evidence:
    """One sign's figures (the `evidence` object of the snapshot's sign)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def need(self, key: str) -> Any:
        value = self.data.get(key)
        if value is None or value == [] or value == "":
            raise Missing(key)
        return value

    def num(self, key: str) -> float:
        found = number(self.need(key))
        if found is None:
            raise Missing(key)
        return found

    def opt_num(self, key: str) -> float | None:
        return number(self.data.get(key))

    def records(self, key: str) -> list[Mapping[str, Any]]:
        """A list of records (dicts) under `key`; Missing when there are none."""
        found = [r for r in self.data.get(key) or [] if isinstance(r, Mapping)]
        if not found:
            raise Missing(key)
        return found


# Units a count is written with: (Japanese counter, English singular, English plural).
COUNTERS: dict[str, tuple[str, str, str]] = {
    "month": ("か月", "month", "months"),
    "period": ("期", "year", "years"),
    "day": ("日", "day", "days"),
    "case": ("件", "case", "cases"),
    "debit": ("件", "failed debit", "failed debits"),
    "loan": ("件", "loan", "loans"),
    "guarantee": ("件", "guarantee", "guarantees"),
    "report": ("件", "report", "reports"),
    "request": ("件", "request", "requests"),
    "record": ("件", "record", "records"),
    "lender": ("行", "lender", "lenders"),
    "bank": ("行", "bank", "banks"),
    "institution": ("機関", "institution", "institutions"),
    "line": ("口", "line", "lines"),
    "business": ("社", "business", "businesses"),
}


class Words:
    """Figures written in one language; `names` maps institution ids to their names."""

    def __init__(self, lang: str, names: Mapping[str, str] | None = None) -> None:
        self.lang = lang
        self.names = dict(names or {})

    @property
    def ja(self) -> bool:
        return self.lang != "en"

    def pick(self, ja: str, en: str) -> str:
        return ja if self.ja else en

    # -- numbers ----------------------------------------------------------------------

    def yen(self, value: Any) -> str:
        amount = number(value)
        if amount is None:
            raise Missing("yen")
        sign = MINUS if round(amount) < 0 else ""
        a = abs(round(amount))
        if self.ja:
            man = (a + 5_000) // 10_000  # half up, not to even: 5,646.5万 is 5,647万円
            if a >= 1e4 and man < 10_000:
                return f"{sign}{man:,}万円"
            if a >= 1e4:
                oku, rest = divmod(man, 10_000)
                return f"{sign}{oku:,}億{rest:,}万円" if rest else f"{sign}{oku:,}億円"
            return f"{sign}{a:,}円"
        if a >= 1e9:
            return f"{sign}¥{a / 1e9:,.2f}bn"
        if a >= 1e6:
            return f"{sign}¥{a / 1e6:,.1f}M"
        return f"{sign}¥{a:,}"

    def pct(self, value: Any, digits: int = 1) -> str:
        """A share in percent from a percentage (23.4 → 23.4%)."""
        found = number(value)
        if found is None:
            raise Missing("pct")
        return f"{found:.{digits}f}%".replace("-", MINUS)

    def signed_pct(self, value: Any, digits: int = 1) -> str:
        """A change in percent, signed (−23.0%, +4.5%)."""
        found = number(value)
        if found is None:
            raise Missing("pct")
        sign = "+" if found > 0 else MINUS if found < 0 else "±"
        return f"{sign}{abs(found):.{digits}f}%"

    def share(self, value: Any, digits: int = 1) -> str:
        """A ratio 0..1 as a percentage (0.952 → 95.2%)."""
        found = number(value)
        if found is None:
            raise Missing("share")
        return self.pct(found * 100, digits)

    def points(self, value: Any) -> str:
        found = number(value)
        if found is None:
            raise Missing("points")
        sign = "+" if found > 0 else MINUS if found < 0 else "±"
        return f"{sign}{abs(found):.1f}" + self.pick("ポイント", " points")

    def times(self, value: Any, digits: int = 2) -> str:
        """A ratio: 0.75倍 / 0.75×."""
        found = number(value)
        if found is None:
            raise Missing("ratio")
        return f"{found:.{digits}f}".replace("-", MINUS) + self.pick("倍", "×")

    def count(self, value: Any, unit: str) -> str:
        """A count with its unit: 3件 / 3 failed debits, 1 month / 2 months."""
        found = number(value)
        if found is None:
            raise Missing("count")
        shown = f"{found:,.0f}" if float(found).is_integer() else f"{found:,.1f}"
        ja, one, many = COUNTERS[unit]
        if self.ja:
            return f"{shown}{ja}"
        return f"{shown} {one if found == 1 else many}"

    def months_of_sales(self, value: Any) -> str:
        found = number(value)
        if found is None:
            raise Missing("months")
        return self.pick(f"{found:.2f}か月分", f"{found:.2f} months")

    def days(self, value: Any, digits: int = 1) -> str:
        found = number(value)
        if found is None:
            raise Missing("days")
        text = f"{found:,.{digits}f}" if not float(found).is_integer() else f"{found:,.0f}"
        return self.pick(f"{text}日", f"{text} days")

    # -- dates ------------------------------------------------------------------------

    def month(self, value: Any) -> str:
        found = month_of(value)
        if found is None:
            raise Missing("month")
        year, month = found
        return f"{year}年{month}月" if self.ja else f"{MONTHS_EN[month - 1]} {year}"

    def months(self, values: Iterable[Any]) -> str:
        """Months in order, runs of consecutive months as a range: 2026年7月〜9月と2026年11月
        (Jul–Sep 2026 and Nov 2026)."""
        found = sorted({m for m in (month_of(v) for v in values) if m is not None})
        if not found:
            raise Missing("months")
        runs: list[list[tuple[int, int]]] = []
        for m in found:
            if runs and (runs[-1][-1][0] * 12 + runs[-1][-1][1]) + 1 == m[0] * 12 + m[1]:
                runs[-1].append(m)
            else:
                runs.append([m])
        parts = [self._run(run[0], run[-1]) for run in runs]
        if len(parts) == 1:
            return parts[0]
        if self.ja:
            return "、".join(parts[:-1]) + "と" + parts[-1]
        return ", ".join(parts[:-1]) + " and " + parts[-1]

    def span(self, first: Any, last: Any) -> str:
        """The months from `first` to `last`: 2026年1月〜3月 / Jan–Mar 2026."""
        start, end = month_of(first), month_of(last)
        if start is None or end is None:
            raise Missing("span")
        return self._run(start, end)

    def _run(self, first: tuple[int, int], last: tuple[int, int]) -> str:
        if first == last:
            return self.month(f"{first[0]}-{first[1]}")
        if self.ja:
            tail = f"{last[1]}月" if first[0] == last[0] else f"{last[0]}年{last[1]}月"
            return f"{first[0]}年{first[1]}月〜{tail}"
        head = MONTHS_EN[first[1] - 1] + ("" if first[0] == last[0] else f" {first[0]}")
        return f"{head}–{MONTHS_EN[last[1] - 1]} {last[0]}"

    def day(self, value: Any) -> str:
        found = day_of(value)
        if found is None:
            raise Missing("day")
        return (f"{found.year}年{found.month}月{found.day}日" if self.ja
                else f"{found.day} {MONTHS_EN[found.month - 1]} {found.year}")

    def period(self, value: Any) -> str:
        """A financial period by its end: 2026年3月期 / FY to Mar 2026."""
        found = month_of(value)
        if found is None:
            raise Missing("period")
        year, month = found
        return f"{year}年{month}月期" if self.ja else f"FY to {MONTHS_EN[month - 1]} {year}"

    # -- institutions -----------------------------------------------------------------

    def institution(self, value: Any) -> str:
        """An institution by name: an id (bank_0116, cga_13) or a bank code (0116)."""
        key = str(value or "")
        if key.isdigit():
            key = f"bank_{key}"
        if key in self.names:
            return self.names[key]
        if key.startswith("bank_"):
            return self.pick(f"金融機関コード{key[5:]}", f"bank {key[5:]}")
        if key.startswith("cga_"):
            return self.pick(f"信用保証協会（{key[4:]}）", f"guarantee association {key[4:]}")
        return key or self.pick("不明な機関", "unknown institution")

    def join(self, items: Iterable[str]) -> str:
        listed = [i for i in items if i]
        return ("、" if self.ja else ", ").join(listed)
