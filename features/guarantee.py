"""Guarantee-association signals: what the 信用保証協会 itself sees.

Every feed is read through the point-in-time layer (yocho/warehouse/pit.py): as of T each
guarantee-month, incident report and subrogation is its latest version received by T, so a
report corrected under the same number (its type or date changed) counts once, as corrected.
"""
from features.catalog import Family, Indicator, Severity, Threshold

_FEEDS = ("guarantees", "incidents", "subrogations")

INDICATORS = (
    Indicator(
        id="cga_incident_reported",
        ja="事故報告あり",
        en="Incident report filed",
        family=Family.GUARANTEE,
        feeds=_FEEDS,
        definition="Number of incident reports (事故報告: 延滞, 条件変更申込, 不渡り, 所在不明, …) on the business's "
        "guarantees that occurred in the last `window_months` months and were received by the as-of date.",
        unit="reports",
        severity=Severity.HIGH,
        thresholds=(
            Threshold("window_months", 12, "A report older than a year has usually been resolved or escalated to subrogation."),
            Threshold("min_count", 1, "Lenders report only material incidents; one is already a sign."),
        ),
    ),
    Indicator(
        id="cga_subrogation_requested",
        ja="代位弁済請求",
        en="Subrogation requested",
        family=Family.GUARANTEE,
        feeds=_FEEDS,
        definition="Amount of subrogation (代位弁済) requested by a lender in the last `window_months` months, "
        "as received by the as-of date.",
        unit="JPY",
        severity=Severity.CRITICAL,
        thresholds=(
            Threshold("window_months", 36, "Subrogation stays relevant for re-challenge support and guarantor settlement for years."),
        ),
    ),
    Indicator(
        id="cga_guarantee_adverse_status",
        ja="保証の延滞・条件変更",
        en="Guarantee delinquent or restructured",
        family=Family.GUARANTEE,
        feeds=_FEEDS,
        definition="Number of the business's guarantees whose latest monthly status received by the as-of date "
        "(for a month within the last `recent_months` months) is 延滞 (delinquent) or 条件変更 (restructured).",
        unit="guarantees",
        severity=Severity.HIGH,
        thresholds=(
            Threshold("recent_months", 3, "Older statuses describe a guarantee that has since gone quiet or been repaid."),
        ),
    ),
)
