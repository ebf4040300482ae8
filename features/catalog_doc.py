"""Render the indicator catalog as docs/indicators.md (Japanese and English)."""
from __future__ import annotations

from features.catalog import FAMILY_NAMES, Family, by_family


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
        "Severity: **critical** — enough on its own to open a case; **high** — a strong sign; **medium**/**low** — context.",
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
            if i.thresholds:
                out += ["| threshold | default | why |", "|---|---|---|"]
                out += [f"| `{t.name}` | {t.default:g} | {t.reason} |" for t in i.thresholds]
                out.append("")
    return "\n".join(out)
