"""Render the indicator catalog as docs/indicators.md (Japanese and English)."""
from __future__ import annotations

from features.catalog import FAMILY_NAMES, Direction, Family, Indicator, by_family


def _peer_sentence(i: Indicator) -> str:
    """How a sign's industry-relative threshold works (catalog.PeerThreshold)."""
    p = i.peers
    if p.direction is Direction.ABOVE:
        where = f"above the {p.percentile:g}th percentile (`percentile`)"
    else:
        where = f"below the {100 - p.percentile:g}th percentile (100 − `percentile`)"
    state = "in force by default (`relative` = 1)" if p.default else "offered, off by default (`relative` = 0)"
    return (
        f"Industry-relative threshold, {state}: the sign fires when the value is {where} of the values of the "
        f"monitored businesses of the same {p.relative_to} as of the same date. With fewer than `min_peers` such "
        f"values, or no {p.relative_to} on file, the flat threshold decides, and the evidence says so; the evidence "
        f"gives the value, the division's percentile threshold and the number of peers."
    )


def render_markdown() -> str:
    out = [
        "# 予兆管理の着眼点 — Warning-sign indicator catalog",
        "",
        "<!-- Rendered from features/ by `yocho indicators`; a test keeps this page in sync. -->",
        "",
        "Every indicator is computed for every business known on an as-of date T, using only rows received",
        "on or before T (the latest version of a corrected row). An indicator whose feeds have no data for the",
        "business by T is *unavailable*: no value, neither fired nor not fired. Thresholds are configurable",
        "(`features.thresholds` in the settings, keyed `<indicator id>.<threshold name>`); the defaults and the",
        "reasons for them are listed with each indicator. Businesses are identified across institutions by",
        "法人番号; a sole proprietor (no 法人番号) is followed per institution.",
        "",
        "Severity: **critical** — a deterioration event under way; **high** — a strong sign; **medium**/**low** — context.",
        "Which signs open a case on their own, whatever the score, is the flag policy's `signals.critical_signs`,",
        "chosen by their measured 12-month precision (docs/signals.md, \"Which signs are critical\").",
        "",
        "## Adding an indicator",
        "",
        "An indicator is its declaration in `features/<family>.py` (`INDICATORS`: names, definition, thresholds",
        "with the reason for each default), its rows in `features/sql/<family>.sql` and its test in",
        "`tests/features/`; this page is rendered from the declarations (`yocho indicators`).",
        "",
        "How far back a family reads its monthly history follows from the declarations: nothing else to edit.",
        "The family SQL reads the months after `$lookback_months` months before the as-of date, and",
        "`features.catalog.family_lookback_months` makes that the longest look-back of the family's indicators,",
        "for the thresholds in force. Mark each threshold that is a number of months of that history reaching back",
        "from the as-of date with `reaches_back=True`; when the indicator's window is a sum (a window ending at",
        "the latest month, itself within the last `recent_months`), say so on the indicator, e.g.",
        "`lookback=lambda t: t[\"recent_months\"] + t[\"window_months\"]` (deposit-account windows also add",
        "`_REFERENCE_LAG`: they end at the reference month). A window that bounds a read of its own (a query of",
        "another feed filtered by that threshold) needs no mark. A test checks that each family's look-back covers",
        "every window its indicators declare.",
        "",
    ]
    for family in Family:
        ja, en = FAMILY_NAMES[family]
        members = by_family(family)
        out += [f"## {ja} — {en}", ""]
        if not members:
            out += ["(none yet)", ""]
            continue
        out += ["| id | 指標 | indicator | severity | unit | feeds |", "|---|---|---|---|---|---|"]
        out += [
            f"| `{i.id}` | {i.ja} | {i.en} | {i.severity.value} | {i.unit} | {', '.join(i.feeds)} |"
            for i in members
        ]
        out.append("")
        for i in members:
            out += [f"### `{i.id}` — {i.ja} / {i.en}", "", i.definition, ""]
            if i.peers:
                out += [_peer_sentence(i), ""]
            shown = i.thresholds + (i.peers.thresholds() if i.peers else ())
            if shown:
                out += ["| threshold | default | why |", "|---|---|---|"]
                out += [f"| `{t.name}` | {t.default:g} | {t.reason} |" for t in shown]
                out.append("")
    return "\n".join(out)
