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
        WORKED_EXAMPLE,
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


WORKED_EXAMPLE = """### Worked example: incident reports from several lenders

A guarantee association wants a sign for incident reports (事故報告) on one business from two or more
lenders within a year: one lender's report can be a dispute with that lender, two is trouble with both.
Three edits, nothing else (this example was made on a copy of the repository and its tests passed).

1. **The declaration**, appended to `INDICATORS` in `features/guarantee.py`:

   ```python
   Indicator(
       id="cga_incidents_several_lenders",
       ja="複数金融機関からの事故報告",
       en="Incident reports from several lenders",
       family=Family.GUARANTEE,
       feeds=_FEEDS,
       definition="Number of different lenders (金融機関コード) whose incident reports on the business's "
       "guarantees occurred in the last `window_months` months and were received by the as-of date.",
       unit="lenders",
       severity=Severity.HIGH,
       thresholds=(
           Threshold("window_months", 12, "The same year as a single incident report."),
           Threshold("min_lenders", 2, "One lender's report can be a dispute with that lender; two is trouble with both."),
       ),
   ),
   ```

2. **The SQL**, in `features/sql/guarantee.sql`: one more read of the incident reports through the
   point-in-time layer (the version of each report in force at each as-of date, within the window;
   nothing about `received_on` or corrections is written here), joined into `base`, and one more
   `UNION ALL` branch returning the family's columns. Thresholds arrive as `$<id>__<name>`:

   ```sql
   lenders AS (
       SELECT business_key, as_of, count(DISTINCT lender_bank_code) AS n,
              list(DISTINCT lender_bank_code ORDER BY lender_bank_code) AS codes
       FROM pit_incidents($cga_incidents_several_lenders__window_months)
       GROUP BY ALL
   ),
   -- in base: coalesce(le.n, 0) AS lenders, le.codes AS lender_codes ... LEFT JOIN lenders le USING (business_key, as_of)
   ...
   UNION ALL
   SELECT business_key, as_of, 'cga_incidents_several_lenders',
          CASE WHEN available THEN lenders END::DOUBLE, available,
          CASE WHEN available THEN lenders >= $cga_incidents_several_lenders__min_lenders END,
          CASE WHEN available AND lenders >= $cga_incidents_several_lenders__min_lenders THEN
              json_object('lenders', lender_codes)::VARCHAR END
   FROM base
   ```

3. **The test**, in `tests/features/test_guarantee.py`, on hand-made rows with the answer worked out
   by hand (a report received after the as-of date must not count):

   ```python
   def test_incident_reports_from_two_lenders_fire_several_lenders(tiny: Tiny):
       tiny.add("incidents", "cga_01",
                _incident("I1", date(2025, 3, 3), date(2025, 3, 20)),
                dict(_incident("I2", date(2025, 4, 1), date(2025, 4, 10)), lender_bank_code="0005"),
                dict(_incident("I3", date(2025, 5, 1), date(2025, 7, 10)), lender_bank_code="0009"))
       row = tiny.run(T, family=Family.GUARANTEE)[(CN, T, "cga_incidents_several_lenders")]
       assert (row["value"], row["fired"]) == (2.0, True)
       assert json.loads(row["evidence"]) == {"lenders": ["0005", "0116"]}
   ```

Then `yocho indicators > docs/indicators.md` renders this page again (a test keeps it in sync). What
follows by itself: the family's look-back (from the declared windows), the check that the SQL returns
every declared indicator once per business and date, the scan, the panel's new columns, the sign's
quality figures in the next training report. The champion model keeps its own input columns until a
retrain: scan the history again (`yocho scan`), then retrain (docs/models.md).
"""
