"""預金口座の動き (deposit-account activity): a sentence per sign from the figures
features/sql/accounts.sql keeps. Amounts are summed over the business's accounts at the
reporting banks; months are calendar months of the account statements."""
from __future__ import annotations

import re
from collections.abc import Callable

from webapp.sign_text.words import Evidence, SignText, Table, Words, number

_BY_MONTH = re.compile(r"^\s*(\d{4}-\d{1,2})\s*:\s*(\d+)\s*$")


def _year_on_year(e: Evidence, w: Words, amount_key: str, ja: str, en: str) -> SignText:
    months = e.need("months")
    now, before = w.yen(e.need(amount_key)), w.yen(e.need("same_months_a_year_earlier_jpy"))
    change = e.opt_num("change_pct")
    if change is None:
        change = 100.0 * (e.num(amount_key) - e.num("same_months_a_year_earlier_jpy")) / e.num(
            "same_months_a_year_earlier_jpy")
    span = w.months(months)
    return SignText(w.pick(f"{span}の{ja}が前年同月比 {w.signed_pct(change)}（{before}→{now}）",
                           f"{en} for {span} {w.signed_pct(change)} on the same months a year earlier ({before} → {now})"))


def inflow_decline_yoy(e: Evidence, w: Words) -> SignText:
    return _year_on_year(e, w, "inflow_jpy", "入金額", "Inflows")


def payroll_decline_yoy(e: Evidence, w: Words) -> SignText:
    return _year_on_year(e, w, "payroll_jpy", "給与振込額", "Payroll")


def balance_decline(e: Evidence, w: Words) -> SignText:
    earlier, recent = e.need("earlier_months"), e.need("recent_months")
    before, now = w.yen(e.need("earlier_average_balance_jpy")), w.yen(e.need("recent_average_balance_jpy"))
    change = e.opt_num("change_pct")
    if change is None:
        change = 100.0 * (e.num("recent_average_balance_jpy") - e.num("earlier_average_balance_jpy")) / e.num(
            "earlier_average_balance_jpy")
    return SignText(w.pick(
        f"月末預金残高の平均が {before}（{w.months(earlier)}）→ {now}（{w.months(recent)}）に {w.signed_pct(change)}",
        f"Average month-end deposits {w.signed_pct(change)}: {before} ({w.months(earlier)}) → {now} ({w.months(recent)})"))


def near_zero_months(e: Evidence, w: Words) -> SignText:
    months = e.records("months")
    window = e.opt_num("complete_months_in_window")
    floor = e.opt_num("floor_ratio")
    listed = w.months(r.get("month") for r in months)
    of = w.pick(f"直近{w.count(window, 'month')}のうち", f" of the last {w.count(window, 'month')}") if window else ""
    sentence = w.pick(f"{of}{w.count(len(months), 'month')}で月末残高がほぼ枯渇（{listed}）",
                      f"Month-end balance near zero in {w.count(len(months), 'month')}{of} ({listed})")
    notes = ()
    if floor is not None:
        notes = (w.pick(f"「ほぼ枯渇」は月末残高がその月の出金額の{floor * 100:.0f}%未満の月です。",
                        f"Near zero: a month-end balance below {floor * 100:.0f}% of that month's outflows."),)
    table = Table((w.pick("月", "Month"), w.pick("月末残高", "Month-end balance"), w.pick("出金額", "Outflows")),
                  tuple((w.month(r.get("month")), w.yen(r.get("month_end_balance_jpy")), w.yen(r.get("outflow_jpy")))
                        for r in months)) if len(months) > 1 else None
    return SignText(sentence, table, notes)


def failed_debits(e: Evidence, w: Words) -> SignText:
    total = e.num("failed_debits")
    by_month = []
    for item in e.get("by_month") or []:
        found = _BY_MONTH.match(str(item))
        if found:
            by_month.append((found.group(1), int(found.group(2))))
    if not by_month:
        return SignText(w.pick(f"口座振替不能が計{w.count(total, 'debit')}", f"{w.count(total, 'debit')} in all"))
    listed = w.months(m for m, _ in by_month)
    table = Table((w.pick("月", "Month"), w.pick("振替不能", "Failed debits")),
                  tuple((w.month(m), w.count(n, "debit")) for m, n in by_month)) if len(by_month) > 1 else None
    return SignText(w.pick(f"{listed}に口座振替不能が計{w.count(total, 'debit')}",
                           f"{w.count(total, 'debit')} in {listed}"), table)


def payroll_stopped(e: Evidence, w: Words) -> SignText:
    months = e.need("months_without_payroll")
    regular = e.opt_num("regular_months_before")
    average = e.get("average_payroll_before_jpy")
    before = ""
    if regular is not None and number(average) is not None:
        before = w.pick(f"（それまでの{w.count(regular, 'month')}は毎月、平均 {w.yen(average)}）",
                        f" (paid every month of the {w.count(regular, 'month')} before, {w.yen(average)} on average)")
    return SignText(w.pick(f"{w.months(months)}に給与振込がない{before}", f"No payroll paid in {w.months(months)}{before}"))


def _stopped(e: Evidence, w: Words, ja: str, en: str) -> SignText:
    last, reference = e.need("last_paid_month"), e.need("reference_month")
    amount = e.get("last_paid_jpy")
    paid = e.opt_num("months_paid_in_lookback")
    amount_text = w.pick(f"（{w.yen(amount)}）", f" ({w.yen(amount)})") if number(amount) is not None else ""
    before = w.pick(f"（それ以前の期間は{w.count(paid, 'month')}納付）", f" (paid in {w.count(paid, 'month')} before that)"
                    ) if paid else ""
    return SignText(w.pick(f"最後の{ja}は{w.month(last)}{amount_text}で、{w.month(reference)}まで納付がない{before}",
                           f"The last {en} was in {w.month(last)}{amount_text}; none up to {w.month(reference)}{before}"))


def tax_stopped(e: Evidence, w: Words) -> SignText:
    return _stopped(e, w, "納税", "tax payment")


def social_insurance_stopped(e: Evidence, w: Words) -> SignText:
    return _stopped(e, w, "社会保険料の納付", "social-insurance payment")


TEMPLATES: dict[str, Callable[[Evidence, Words], SignText]] = {
    "acc_inflow_decline_yoy": inflow_decline_yoy,
    "acc_balance_decline": balance_decline,
    "acc_near_zero_months": near_zero_months,
    "acc_failed_debits": failed_debits,
    "acc_payroll_decline_yoy": payroll_decline_yoy,
    "acc_payroll_stopped": payroll_stopped,
    "acc_tax_stopped": tax_stopped,
    "acc_social_insurance_stopped": social_insurance_stopped,
}
