"""The catalog of warning signs (予兆管理の着眼点): what an indicator is, and the registry.

Each family module (financials, repayment, accounts, guarantee, qualitative,
cross_institution) declares its indicators once, as `INDICATORS`, next to the SQL file
that computes them (features/sql/<family>.sql). Everything else -- the documentation
page, the panel's columns, the evidence shown to reviewers -- reads this registry.

A family may also declare `MEASURES`: continuous figures a credit analyst reads (自己資本比率,
ROA, 債務償還年数 ...) that the risk models learn from but that are never warning signs: they
have no threshold, never fire and are never shown to a reviewer as a sign. The family's SQL
returns them in the same rows as its indicators (value and available; fired and evidence
NULL), so they follow the same point-in-time choice of statements; they are stored with
severity `measure` and enter the panel as one value column each.

A family's SQL reads its monthly history once for all its indicators, `$lookback_months`
months back from the as-of date (`family_lookback_months`). That look-back follows from the
declarations: a threshold that is a number of months of that history, counted back from the
as-of date, says so (`reaches_back=True`), and an indicator whose window is a sum of such
months (a window ending at its latest month, itself within the last `recent_months`) declares
the sum (`lookback=lambda t: t["recent_months"] + t["window_months"]`). Adding an indicator
means editing its declaration, its SQL and its test, never a list of look-backs.
"""
from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache


class Family(StrEnum):
    FINANCIALS = "financials"
    REPAYMENT = "repayment"
    ACCOUNTS = "accounts"
    GUARANTEE = "guarantee"
    QUALITATIVE = "qualitative"
    CROSS_INSTITUTION = "cross_institution"


FAMILY_NAMES: dict[Family, tuple[str, str]] = {
    Family.FINANCIALS: ("財務諸表", "Financial statements"),
    Family.REPAYMENT: ("返済状況", "Loan repayment"),
    Family.ACCOUNTS: ("預金口座の動き", "Deposit-account activity"),
    Family.GUARANTEE: ("保証協会の情報", "Guarantee-association signals"),
    Family.QUALITATIVE: ("定性情報", "Qualitative observations"),
    Family.CROSS_INSTITUTION: ("他機関での兆候", "Cross-institution"),
}


class Severity(StrEnum):
    # critical: on its own enough to open a case; high: strong sign; medium/low: context.
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True)
class Threshold:
    name: str
    default: float
    reason: str
    # a number of months of the family's history the indicator reads, counted back from the
    # as-of date: the family's look-back (`family_lookback_months`) covers it
    reaches_back: bool = False


class Direction(StrEnum):
    # which end of a sign's value is the bad one
    ABOVE = "above"
    BELOW = "below"


# Columns of the business master a relative threshold may compare within (features/peers.py).
PEER_GROUPS = ("jsic_division",)


@dataclass(frozen=True)
class PeerThreshold:
    """An industry-relative threshold (features/peers.py): the sign fires when the value is
    beyond the `percentile`-th percentile, at its bad end (`direction`), of the values of the
    monitored businesses of the same `relative_to` group (JSIC division) as of the same date.
    With fewer than `min_peers` such values the sign's flat thresholds decide, and its
    evidence says so. `default` says whether the relative threshold is in force unless the
    settings say otherwise (`<id>.relative` 1 or 0); `reason` says why, from measurements.
    Flags, percentile and peer minimum are configurable like any threshold
    (`<id>.relative`, `<id>.percentile`, `<id>.min_peers`)."""
    relative_to: str
    direction: Direction
    default: bool
    reason: str
    percentile: float = 90
    min_peers: int = 30
    percentile_reason: str = (
        "A business beyond its own trade's top tenth stands out from businesses run the same way; a flat line "
        "instead separates trades (construction, real estate, hotels carry more debt and longer terms as a matter "
        "of course).")
    min_peers_reason: str = (
        "A 90th percentile of fewer than 30 values rests on the top two or three businesses, so one outlier "
        "moves it; below that the flat threshold is the steadier judgement.")

    def __post_init__(self):
        if self.relative_to not in PEER_GROUPS:
            raise ValueError(f"relative_to must be one of {PEER_GROUPS}, got {self.relative_to!r}")
        if not 50 <= self.percentile < 100 or self.min_peers < 2:
            raise ValueError("percentile must be in [50, 100) and min_peers at least 2")

    def thresholds(self) -> tuple[Threshold, ...]:
        """The relative threshold's settings, listed and overridden like thresholds."""
        return (
            Threshold("relative", 1.0 if self.default else 0.0, self.reason),
            Threshold("percentile", self.percentile, self.percentile_reason),
            Threshold("min_peers", self.min_peers, self.min_peers_reason),
        )


@dataclass(frozen=True)
class Declared:
    """What every catalog entry says about itself: names, family, feeds, definition, unit."""
    id: str
    ja: str
    en: str
    family: Family
    feeds: tuple[str, ...]
    definition: str
    unit: str


@dataclass(frozen=True)
class Indicator(Declared):
    """A warning sign: it fires on its thresholds and is shown to reviewers with evidence."""
    severity: Severity
    thresholds: tuple[Threshold, ...] = ()
    # an industry-relative threshold offered next to the flat ones (PeerThreshold)
    peers: PeerThreshold | None = None
    # months of the family's history the indicator reads back from the as-of date, from its
    # thresholds by name, when that is more than its longest `reaches_back` threshold (a sum:
    # a window reaching back from the latest month, which is itself up to `recent_months` old)
    lookback: Callable[[Mapping[str, float]], float] | None = None

    def param(self, threshold: str) -> str:
        """Name of the SQL parameter carrying one of this indicator's thresholds."""
        return f"{self.id}__{threshold}"

    def lookback_months(self, values: Mapping[str, float] | None = None) -> float:
        """Months of its family's history this indicator reads back from the as-of date, with
        the thresholds in `values` (SQL parameters, as `threshold_values` gives them; the
        defaults where absent): its `lookback`, else its longest `reaches_back` threshold, else 0."""
        values = values or {}
        mine = {t.name: float(values.get(self.param(t.name), t.default)) for t in self.thresholds}
        if self.lookback is not None:
            return float(self.lookback(mine))
        return max((mine[t.name] for t in self.thresholds if t.reaches_back), default=0.0)


# The `severity` stored for a measure's rows in indicator_values: not a sign's severity.
MEASURE = "measure"


@dataclass(frozen=True)
class Measure(Declared):
    """A continuous figure for the models; never a sign (module docstring)."""


def _declared(attribute: str) -> dict:
    found: dict = {}
    for family in Family:
        module = importlib.import_module(f"features.{family.value}")
        for item in getattr(module, attribute, ()):
            if item.family is not family:
                raise ValueError(f"{item.id} is declared in {family} but says {item.family}")
            if item.id in found:
                raise ValueError(f"{item.id} declared twice")
            found[item.id] = item
    return found


@cache
def indicators() -> dict[str, Indicator]:
    """Every indicator (warning sign), by id, in family order."""
    return _declared("INDICATORS")


@cache
def measures() -> dict[str, Measure]:
    """Every measure (continuous figure for the models, never a sign), by id, in family order."""
    found = _declared("MEASURES")
    clash = found.keys() & indicators().keys()
    if clash:
        raise ValueError(f"declared both as indicator and as measure: {sorted(clash)}")
    return found


def by_family(family: Family) -> list[Indicator]:
    return [i for i in indicators().values() if i.family is family]


def measures_of(family: Family) -> list[Measure]:
    return [m for m in measures().values() if m.family is family]


def threshold_values(overrides: dict[str, float] | None = None) -> dict[str, float]:
    """SQL parameters for every threshold: the default, or an override keyed
    "<indicator id>.<threshold name>". Unknown override keys are refused, so a typo in a
    configuration file cannot silently leave a default in force."""
    overrides = dict(overrides or {})
    values: dict[str, float] = {}
    for indicator in indicators().values():
        for t in indicator.thresholds + (indicator.peers.thresholds() if indicator.peers else ()):
            values[indicator.param(t.name)] = float(overrides.pop(f"{indicator.id}.{t.name}", t.default))
    if overrides:
        raise ValueError(f"unknown indicator thresholds in settings: {', '.join(sorted(overrides))}")
    return values


def family_lookback_months(family: Family, thresholds: Mapping[str, float] | None = None) -> int:
    """How many months back from the as-of date the family's SQL reads its history (the SQL
    parameter `$lookback_months`): the longest look-back of its indicators with these
    thresholds (SQL parameters, as `threshold_values` gives them; None: the defaults), in
    whole months, rounded up so that no indicator's window is cut short."""
    return math.ceil(max((i.lookback_months(thresholds) for i in by_family(family)), default=0.0))
