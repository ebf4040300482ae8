"""Server-side SVG line charts of a business's monthly series, with markers on the months in
which a warning sign newly fired. No JavaScript: each chart is an inline <svg> the page embeds.

A flagged business usually shows the same signs month after month, so a mark on every month
with a sign would say nothing: a month is marked when a sign fired that had not fired the month
before (both months on record in the evidence's `sign_history`). A month without a figure is a
gap in the line — never drawn as zero.

The evidence snapshot carries the series as lists of {"month": "2026-03-01", "value": ...}
(signals/sql/evidence.sql); a mapping {month: value} is read too. Months are compared by
year and month only, so month-start dates (loans, accounts) and month-end as-of dates
(scores, sign history) line up.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from signals.evidence_dates import month_of as month_key

Month = tuple[int, int]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def series_values(raw: Any) -> dict[Month, float]:
    """{(year, month): value} from a list of {month, value} or a {month: value} mapping."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(raw, Mapping):
        items = raw.items()
    elif isinstance(raw, list):
        items = ((p.get("month"), p.get("value")) for p in raw if isinstance(p, Mapping))
    else:
        return {}
    values: dict[Month, float] = {}
    for month, value in items:
        key, number = month_key(month), _number(value)
        if key is not None and number is not None:
            values[key] = number
    return values


def previous_month(month: Month) -> Month:
    return (month[0] - 1, 12) if month[1] == 1 else (month[0], month[1] - 1)


def new_sign_months(history: Any) -> dict[Month, list[str]]:
    """{(year, month): [indicator ids]} of the months in which a sign fired that had not fired
    in the month before. The first month on record (or one after a month not on record) is
    not marked: whether its signs were new is not known."""
    fired = sign_months(history, keep_empty=True)
    new: dict[Month, list[str]] = {}
    for month, signs in fired.items():
        before = fired.get(previous_month(month))
        if before is None:
            continue
        started = [s for s in signs if s not in before]
        if started:
            new[month] = started
    return new


def sign_months(history: Any, *, keep_empty: bool = False) -> dict[Month, list[str]]:
    """{(year, month): [indicator ids]} of the months in which any sign fired (with
    `keep_empty`, also the months on record in which none did)."""
    found: dict[Month, list[str]] = {}
    if not isinstance(history, list):
        return found
    for entry in history:
        if not isinstance(entry, Mapping):
            continue
        key = month_key(entry.get("month"))
        signs = [str(s) for s in (entry.get("signs") or []) if s]
        if key is not None and (signs or keep_empty):
            found.setdefault(key, [])
            found[key] += [s for s in signs if s not in found[key]]
    return found


def month_axis(end: Month, count: int = 24) -> list[Month]:
    """The `count` months ending at `end`, oldest first."""
    index = end[0] * 12 + end[1] - 1
    return [(i // 12, i % 12 + 1) for i in range(index - count + 1, index + 1)]


def _nice_step(span: float, ticks: int = 4) -> float:
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


@dataclass(frozen=True)
class ChartStyle:
    width: int = 520
    height: int = 190
    left: int = 68
    right: int = 14
    top: int = 14
    bottom: int = 30
    line: str = "#1f5fa8"
    marker: str = "#c62828"


def line_chart(
    *,
    chart_id: str,
    title: str,
    values: Mapping[Month, float],
    months: list[Month],
    markers: Mapping[Month, str],
    tick_format: Callable[[float], str],
    value_format: Callable[[float], str],
    no_data: str,
    opened: tuple[Month, str] | None = None,
    style: ChartStyle = ChartStyle(),
) -> Markup:
    """One chart as an <svg>. markers: month -> tooltip text of the signs newly fired that month
    (a shaded column, and a red point on the line where the month has a figure; none where it
    has not, so a missing figure is never read as zero).
    opened: (month, label) of the month the case was opened, drawn as a dashed vertical line
    so a reviewer sees what the figures did before and after the flag."""
    s = style
    plot_w, plot_h = s.width - s.left - s.right, s.height - s.top - s.bottom
    title_id = f"{chart_id}-title"
    parts: list[str] = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {s.width} {s.height}" role="img" '
        f'aria-labelledby="{escape(title_id)}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
    ]
    present = [values[m] for m in months if m in values]
    if not months or not present:
        parts.append(f'<rect x="{s.left}" y="{s.top}" width="{plot_w}" height="{plot_h}" class="chart-empty"/>')
        parts.append(f'<text x="{s.left + plot_w / 2:.1f}" y="{s.top + plot_h / 2:.1f}" text-anchor="middle" '
                     f'class="chart-nodata">{escape(no_data)}</text></svg>')
        return Markup("".join(parts))

    low, high = min(0.0, min(present)), max(0.0, max(present))
    if high - low <= 0:
        high = low + 1.0
    step = _nice_step(high - low)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    n = len(months)
    slot = plot_w / n

    def x(i: int) -> float:
        return s.left + slot * (i + 0.5)

    def y(v: float) -> float:
        return s.top + plot_h - (v - low) / (high - low) * plot_h

    # grid and y ticks
    tick = low
    while tick <= high + step / 1000:
        ty = y(tick)
        parts.append(f'<line x1="{s.left}" x2="{s.left + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" '
                     f'class="{"chart-axis" if abs(tick) < step / 1000 else "chart-grid"}"/>')
        parts.append(f'<text x="{s.left - 6}" y="{ty + 4:.1f}" text-anchor="end" class="chart-tick">'
                     f'{escape(tick_format(tick))}</text>')
        tick += step
    # month ticks: a label at each January and July (and the first month)
    for i, (year, month) in enumerate(months):
        tx = x(i)
        parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{s.top + plot_h}" y2="{s.top + plot_h + 3}" '
                     'class="chart-axis"/>')
        if month in (1, 7) or (i == 0 and month not in (12, 6, 11, 5)):  # the first, unless it crowds the next
            label = f"{year}-{month:02d}"
            parts.append(f'<text x="{tx:.1f}" y="{s.top + plot_h + 16}" text-anchor="middle" '
                         f'class="chart-tick">{label}</text>')
    # months with signs: a shaded column under the marker
    for i, month in enumerate(months):
        if month in markers:
            parts.append(f'<rect x="{x(i) - slot / 2:.1f}" y="{s.top}" width="{slot:.1f}" height="{plot_h}" '
                         'class="chart-signband"/>')
    # the month the case was opened
    if opened is not None and opened[0] in months:
        ox = x(months.index(opened[0]))
        parts.append(f'<line x1="{ox:.1f}" x2="{ox:.1f}" y1="{s.top}" y2="{s.top + plot_h}" class="chart-opened">'
                     f'<title>{escape(opened[1])}</title></line>')
        anchor = "end" if ox > s.left + plot_w * 0.8 else "start"
        parts.append(f'<text x="{ox + (-3 if anchor == "end" else 3):.1f}" y="{s.top + 9}" text-anchor="{anchor}" '
                     f'class="chart-opened-label">{escape(opened[1])}</text>')
    # the line, broken where a month is missing
    run: list[str] = []
    for i, month in enumerate(months):
        if month in values:
            run.append(f"{x(i):.1f},{y(values[month]):.1f}")
        elif run:
            parts.append(_polyline(run, s.line))
            run = []
    if run:
        parts.append(_polyline(run, s.line))
    for i, month in enumerate(months):
        if month in values and month not in markers:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(values[month]):.1f}" r="2.2" fill="{s.line}">'
                         f'<title>{month[0]}-{month[1]:02d}: {escape(value_format(values[month]))}</title></circle>')
    # sign markers on top, on the line: only where the month has a figure (the shaded column
    # alone marks a month without one)
    for i, month in enumerate(months):
        if month in markers and month in values:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(values[month]):.1f}" r="4.5" fill="{s.marker}" '
                         f'stroke="#fff" stroke-width="1.5" class="chart-marker"><title>{escape(markers[month])}'
                         f' — {escape(value_format(values[month]))}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _polyline(points: list[str], color: str) -> str:
    if len(points) == 1:
        return ""
    return (f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="2" '
            'stroke-linejoin="round" stroke-linecap="round"/>')


# ---------------------------------------------------------------------------- formats

def yen_tick(lang: str) -> Callable[[float], str]:
    def fmt(v: float) -> str:
        if lang == "en":
            if abs(v) >= 1e9:
                return f"¥{v / 1e9:,.3g}bn"
            if abs(v) >= 1e6:
                return f"¥{v / 1e6:,.3g}M"
            if abs(v) >= 1e3:
                return f"¥{v / 1e3:,.3g}k"
            return f"¥{v:,.0f}"
        if abs(v) >= 1e8:
            return f"{v / 1e8:,.4g}億"
        if abs(v) >= 1e4:
            return f"{v / 1e4:,.0f}万"
        return f"{v:,.0f}"
    return fmt


def yen_value(lang: str) -> Callable[[float], str]:
    def fmt(v: float) -> str:
        if lang == "en":
            return f"¥{v:,.0f}"
        if abs(v) >= 1e4:
            return f"{v / 1e4:,.1f}万円"
        return f"{v:,.0f}円"
    return fmt


def days_format(lang: str) -> Callable[[float], str]:
    return (lambda v: f"{v:,.0f} d") if lang == "en" else (lambda v: f"{v:,.0f}日")


def count_format(lang: str) -> Callable[[float], str]:
    return (lambda v: f"{v:,.0f}") if lang == "en" else (lambda v: f"{v:,.0f}件")


def pct_format(v: float) -> str:
    return f"{v * 100:.0f}%" if abs(v) >= 0.1 or v == 0 else f"{v * 100:.1f}%"


SERIES = (
    # (series key in the evidence, title key, tick format, value format)
    ("loan_balance_jpy", "chart_loan_balance", yen_tick, yen_value),
    ("max_days_past_due", "chart_dpd", days_format, days_format),
    ("deposit_balance_jpy", "chart_deposit_balance", yen_tick, yen_value),
    ("inflow_jpy", "chart_inflow", yen_tick, yen_value),
    ("failed_debits", "chart_failed_debits", count_format, count_format),
    ("score", "chart_score", lambda lang: pct_format, lambda lang: pct_format),
)


def evidence_charts(
    evidence: Mapping[str, Any],
    *,
    lang: str,
    translate: Callable[..., str],
    indicator_name: Callable[[str], str],
    end: date | None,
    months: int = 24,
    opened_on: date | None = None,
) -> list[tuple[str, Markup]]:
    """The charts of a case page (loan balance, days past due, deposits, inflows, failed
    debits, score): [(title, svg)], over the `months` months ending at `end` (the snapshot's
    as-of date), markers on the months in which a sign newly fired, and the month of
    `opened_on` (the case's flag date) marked as the month the case was opened."""
    series = evidence.get("series") if isinstance(evidence.get("series"), Mapping) else {}
    assert isinstance(series, Mapping)
    parsed = {key: series_values(series.get(key)) for key, *_ in SERIES}
    signs = new_sign_months(evidence.get("sign_history"))
    last = month_key(end) if end else None
    if last is None:
        seen = [m for values in parsed.values() for m in values] + list(signs)
        last = max(seen) if seen else None
    axis = month_axis(last, months) if last else []
    tooltips: dict[Month, str] = {}
    for month in axis:
        if month in signs:
            names = [indicator_name(i) for i in signs[month]]
            shown = "、".join(names[:6]) if lang == "ja" else ", ".join(names[:6])
            if len(names) > 6:
                shown += " …"
            tooltips[month] = translate("chart_signs_in", month=f"{month[0]}-{month[1]:02d}", signs=shown)
    opened_month = month_key(opened_on) if opened_on else None
    opened = (opened_month, translate("chart_opened", month=f"{opened_month[0]}-{opened_month[1]:02d}")
              ) if opened_month else None
    charts = []
    for key, title_key, tick, value in SERIES:
        title = translate(title_key)
        charts.append((title, line_chart(
            chart_id=f"chart-{key.replace('_', '-')}", title=title, values=parsed[key], months=axis,
            markers=tooltips, tick_format=tick(lang), value_format=value(lang),
            no_data=translate("chart_no_data"), opened=opened,
        )))
    return charts
