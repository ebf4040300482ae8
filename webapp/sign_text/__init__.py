"""Each fired warning sign of a case's evidence as a reviewer reads it: a short sentence in the
page's language with its figures, their units and periods (「2026年7月と9月に口座振替不能が計3件」,
「2026年3月期の売上高が前期比 −23.0%（1億2,000万円→9,240万円）」), a small table where there
are several items, and notes on how it was judged.

One module per indicator family holds a template per sign, written against the keys of the
sign's `evidence` as the family's SQL stores them (features/sql/<family>.sql, and
features/peers.py for the signs judged against their trade); `TEMPLATES` joins them. A sign
without a template, or whose figures are not all there (in a shared case another institution's
figures are withheld: signals/sharing.py), gets a plain sentence with the figures that are
there, labelled — never the raw document. A sign that did not fire gets nothing: it is not a
warning sign.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from signals.sharing import OTHERS, REPORTED
from webapp.sign_text import accounts, cross_institution, financials, guarantee, qualitative, repayment
from webapp.sign_text.words import Evidence, Missing, SignText, Table, Words, number

TEMPLATES: dict[str, Callable[[Evidence, Words], SignText]] = {
    **financials.TEMPLATES, **repayment.TEMPLATES, **accounts.TEMPLATES, **guarantee.TEMPLATES,
    **qualitative.TEMPLATES, **cross_institution.TEMPLATES,
}

# Labels of the figures the plain sentence may show, by the evidence's key; a key not listed
# here is left out rather than shown as it is stored.
FIGURE_LABELS: dict[str, tuple[str, str]] = {
    "period_end": ("決算期", "Period"),
    "sales_jpy": ("売上高", "Sales"),
    "operating_profit_jpy": ("営業損益", "Operating profit"),
    "net_assets_jpy": ("純資産", "Net assets"),
    "cash_jpy": ("現預金", "Cash"),
    "max_days_past_due": ("最長延滞日数", "Days past due (max)"),
    "months_short": ("約定返済が不足した月数", "Months paid short"),
    "failed_debits": ("口座振替不能の件数", "Failed direct debits"),
    "amount_jpy": ("金額", "Amount"),
    "reports": ("報告件数", "Reports"),
    "month": ("月", "Month"),
    "change_pct": ("増減率", "Change"),
    "months_since": ("経過月数", "Months since"),
    "classified_on": ("判定日", "Decided on"),
    "latest_on": ("最新の日付", "Latest on"),
}
WITHHELD_NOTE = ("表示しているのは自機関の記録だけです。他の機関からも報告あり（詳細は共有ルールにより非表示）。",
                 "Only your institution's records are shown; another institution reports this sign too, and its details "
                 "are withheld by the sharing rules.")


def _figure(w: Words, key: str, value: Any) -> str | None:
    if value is None or isinstance(value, (list, dict)):
        return None
    try:
        if key.endswith("_jpy"):
            return w.yen(value)
        if key.endswith("_pct"):
            return w.signed_pct(value)
        if key == "period_end":
            return w.period(value)
        if key.endswith("_on"):
            return w.day(value)
        if key == "month":
            return w.month(value)
        if key.startswith("months"):
            return w.count(value, "month")
        if key == "max_days_past_due":
            return w.days(value, 0)
    except Missing:
        return None
    found = number(value)
    return None if found is None else f"{found:,.0f}" if float(found).is_integer() else f"{found:,.2f}"


def plain(name: str, data: Mapping[str, Any], value_text: str | None, w: Words) -> SignText:
    """The sentence of a sign without a template (or without all its figures): its name, its
    value with the unit, and the labelled figures that are there."""
    rows = tuple((w.pick(*FIGURE_LABELS[k]), shown) for k, v in data.items()
                 if k in FIGURE_LABELS and (shown := _figure(w, k, v)) is not None)
    has_value = value_text and value_text != "—"
    sentence = w.pick(f"「{name}」が発生" + (f"（値：{value_text}）" if has_value else ""),
                      f"{name}" + (f": {value_text}" if has_value else ""))
    return SignText(sentence, Table((w.pick("項目", "Figure"), w.pick("値", "Value")), rows) if rows else None)


def sign_text(indicator_id: str, evidence: Any, *, name: str, lang: str, names: Mapping[str, str] | None = None,
              fired: bool | None = True, value_text: str | None = None) -> SignText | None:
    """The sentence of one sign of a snapshot; None when it did not fire. `name`: the sign's
    name in the page's language; `value_text`: its value with its unit, for the plain
    sentence; `names`: institution ids to names."""
    if fired is False:
        return None
    w = Words(lang, names)
    data = dict(evidence) if isinstance(evidence, Mapping) else {}
    # the sharing rules' mark (signals/sharing.py); x_watch_class_elsewhere has a list of its own under that key
    withheld = data.get(OTHERS) == REPORTED
    if withheld:
        del data[OTHERS]
    notes: tuple[str, ...] = (w.pick(*WITHHELD_NOTE),) if withheld else ()
    template = TEMPLATES.get(indicator_id)
    if template is not None and data:
        try:
            found = template(Evidence(data), w)
        except (Missing, KeyError, TypeError, ValueError, ZeroDivisionError):
            pass
        else:
            return SignText(found.sentence, found.table, found.notes + notes)
    fallback = plain(name, data, None if withheld else value_text, w)
    return SignText(fallback.sentence, fallback.table, notes)


__all__ = ["TEMPLATES", "SignText", "Table", "sign_text"]
