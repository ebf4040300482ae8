"""返済状況 (loan repayment): a sentence per sign from the figures features/sql/repayment.sql keeps."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from webapp.sign_text.words import Evidence, Missing, SignText, Table, Words, month_of, number
from yocho.contract import DEBTOR_CLASSES

DEBTOR_CLASSES_EN = {
    "normal": "normal", "watch": "watch", "special_attention": "special attention", "doubtful": "doubtful",
    "de_facto_bankrupt": "de facto bankrupt", "bankrupt": "bankrupt",
}


def debtor_class(w: Words, code: Any) -> str:
    code = str(code or "")
    return w.pick(DEBTOR_CLASSES.get(code, code), DEBTOR_CLASSES_EN.get(code, code))


def _loan_label(w: Words, record: Mapping[str, Any]) -> tuple[str, str]:
    return w.institution(record.get("bank")), str(record.get("loan_id") or "—")


def past_due(e: Evidence, w: Words) -> SignText:
    loans = [r for r in e.data.get("loans") or [] if isinstance(r, Mapping) and number(r.get("days_past_due")) is not None]
    worst = e.opt_num("max_days_past_due")
    if worst is None:
        if not loans:
            raise Missing("max_days_past_due")
        worst = max(number(r["days_past_due"]) or 0 for r in loans)
    months = [r.get("month") for r in loans if number(r.get("days_past_due")) == worst and month_of(r.get("month"))]
    when = w.pick(f"{w.month(max(months))}時点で", f"in {w.month(max(months))}") if months else ""
    if len(loans) == 1:
        bank, loan = _loan_label(w, loans[0])
        sentence = w.pick(f"{when}最長{w.days(worst, 0)}の延滞（{bank} 貸出番号 {loan}）",
                          f"Up to {w.days(worst, 0)} past due {when} ({bank}, loan {loan})")
    elif loans:
        sentence = w.pick(f"{when}最長{w.days(worst, 0)}の延滞（延滞中の貸出 {w.count(len(loans), 'loan')}）",
                          f"Up to {w.days(worst, 0)} past due {when} ({w.count(len(loans), 'loan')} past due)")
    else:
        sentence = w.pick(f"{when}最長{w.days(worst, 0)}の延滞", f"Up to {w.days(worst, 0)} past due {when}")
    table = None
    if len(loans) > 1:
        table = Table((w.pick("機関", "Institution"), w.pick("貸出番号", "Loan"), w.pick("月", "Month"),
                       w.pick("延滞日数", "Days past due")),
                      tuple((*_loan_label(w, r), w.month(r.get("month")), w.days(r.get("days_past_due"), 0))
                            for r in loans))
    return SignText(sentence.replace("  ", " ").strip(), table)


def partial_payment(e: Evidence, w: Words) -> SignText:
    shortfalls = e.records("shortfalls")
    months = e.get("months") or [r.get("month") for r in shortfalls]
    count = e.opt_num("months_short") or len({str(m)[:7] for m in months})
    scheduled = sum(number(r.get("scheduled_jpy")) or 0 for r in shortfalls)
    paid = sum(number(r.get("paid_jpy")) or 0 for r in shortfalls)
    sentence = w.pick(
        f"{w.months(months)}の{w.count(count, 'month')}、約定返済が不足（約定 計{w.yen(scheduled)}に対し入金 計{w.yen(paid)}）",
        f"Instalments paid short in {w.count(count, 'month')}, {w.months(months)} "
        f"({w.yen(paid)} paid of {w.yen(scheduled)} due)")
    table = None
    if len(shortfalls) > 1:
        table = Table((w.pick("機関", "Institution"), w.pick("貸出番号", "Loan"), w.pick("月", "Month"),
                       w.pick("約定額", "Due"), w.pick("入金額", "Paid")),
                      tuple((*_loan_label(w, r), w.month(r.get("month")), w.yen(r.get("scheduled_jpy")),
                             w.yen(r.get("paid_jpy"))) for r in shortfalls))
    return SignText(sentence, table)


def restructured(e: Evidence, w: Words) -> SignText:
    loans = [str(x) for x in e.need("loans")]
    in_force = e.opt_num("in_force_at_latest_month")
    count = in_force if in_force else len(loans)
    parts = [w.pick(f"条件変更（リスケ）中の貸出 {w.count(count, 'loan')}",
                    f"{w.count(count, 'loan')} restructured")]
    if e.get("newly_restructured_month"):
        parts.append(w.pick(f"{w.month(e.get('newly_restructured_month'))}に新たに条件変更",
                            f"newly restructured in {w.month(e.get('newly_restructured_month'))}"))
    if e.get("first_restructured_month_in_window"):
        parts.append(w.pick(f"期間内で最初の条件変更は{w.month(e.get('first_restructured_month_in_window'))}",
                            f"first restructured in the window in {w.month(e.get('first_restructured_month_in_window'))}"))
    table = None
    if len(loans) > 1:
        rows = []
        for loan in loans:
            institution, _, loan_id = loan.partition(":")
            rows.append((w.institution(institution), loan_id or "—"))
        table = Table((w.pick("機関", "Institution"), w.pick("貸出番号", "Loan")), tuple(rows))
    return SignText(w.join(parts), table)


def overdraft_near_limit(e: Evidence, w: Words) -> SignText:
    use = w.share(e.num("utilisation"))
    limit, used = w.yen(e.need("limit_jpy")), w.yen(e.need("used_jpy"))
    bank = w.institution(e.get("bank")) if e.get("bank") else ""
    at = w.pick(f"、{bank}", f", {bank}") if bank else ""
    return SignText(w.pick(f"{w.month(e.need('month'))}の当座貸越の利用率 {use}（極度額 {limit} のうち {used} を利用{at}）",
                           f"Overdraft {use} drawn in {w.month(e.need('month'))} ({used} of a {limit} limit{at})"))


def overdraft_rising(e: Evidence, w: Words) -> SignText:
    lines = e.records("lines")
    top = max(lines, key=lambda r: number(r.get("rise_points")) or 0)
    sentence = w.pick(
        f"当座貸越の利用率が {w.share(top.get('base_utilisation'))}（{w.month(top.get('base_month'))}）→ "
        f"{w.share(top.get('utilisation'))}（{w.month(top.get('month'))}）に上昇（{w.points(top.get('rise_points'))}）",
        f"Overdraft use rose from {w.share(top.get('base_utilisation'))} ({w.month(top.get('base_month'))}) to "
        f"{w.share(top.get('utilisation'))} ({w.month(top.get('month'))}), {w.points(top.get('rise_points'))}")
    table = None
    if len(lines) > 1:
        table = Table((w.pick("機関", "Institution"), w.pick("貸越番号", "Line"), w.pick("比較月", "Then"),
                       w.pick("利用率", "Use then"), w.pick("最新月", "Now"), w.pick("利用率", "Use now"),
                       w.pick("上昇幅", "Rise")),
                      tuple((*_loan_label(w, r), w.month(r.get("base_month")), w.share(r.get("base_utilisation")),
                             w.month(r.get("month")), w.share(r.get("utilisation")), w.points(r.get("rise_points")))
                            for r in lines))
    return SignText(sentence, table)


def borrowing_up_inflow_down(e: Evidence, w: Words) -> SignText:
    growth, change = e.num("balance_growth") * 100, e.num("inflow_change") * 100
    then_b, now_b = w.yen(e.need("balance_year_ago_jpy")), w.yen(e.need("balance_jpy"))
    then_i, now_i = w.yen(e.need("inflow_year_ago_jpy")), w.yen(e.need("inflow_jpy"))
    month, inflow_month = w.month(e.need("balance_month")), w.month(e.need("inflow_latest_month"))
    return SignText(w.pick(
        f"借入残高が前年同月比 {w.signed_pct(growth)}（{then_b}→{now_b}、{month}）、"
        f"同じ頃の入金額は前年比 {w.signed_pct(change)}（{then_i}→{now_i}、{inflow_month}までの直近月）",
        f"Loan balance {w.signed_pct(growth)} on a year earlier ({then_b} → {now_b}, {month}) while receipts fell "
        f"{w.signed_pct(change)} ({then_i} → {now_i}, latest months to {inflow_month})"))


def more_lenders(e: Evidence, w: Words) -> SignText:
    now, then = list(e.need("lenders_now")), list(e.get("lenders_year_ago") or [])
    increase = e.opt_num("increase")
    increase = len(now) - len(then) if increase is None else increase
    named = w.join(w.institution(code) for code in now)
    return SignText(w.pick(
        f"借入先の金融機関が1年前の{w.count(len(then), 'lender')}から{w.count(len(now), 'lender')}に増加（+{increase:.0f}行：{named}）",
        f"Borrowing from {w.count(len(now), 'lender')}, up from {len(then)} a year earlier (+{increase:.0f}: {named})"))


def bank_class_watch(e: Evidence, w: Words) -> SignText:
    worst = debtor_class(w, e.need("worst_class"))
    bank, on = e.get("bank"), e.get("classified_on")
    detail = w.join([w.institution(bank) if bank else "", w.pick(f"{w.day(on)}判定", f"decided {w.day(on)}") if on else ""])
    sentence = w.pick(f"債務者区分が{worst}" + (f"（{detail}）" if detail else ""),
                      f"Debtor classification: {worst}" + (f" ({detail})" if detail else ""))
    banks = [r for r in e.data.get("banks") or [] if isinstance(r, Mapping)]
    table = None
    if len(banks) > 1:
        table = Table((w.pick("機関", "Institution"), w.pick("債務者区分", "Classification"), w.pick("判定日", "Decided")),
                      tuple((w.institution(r.get("bank")), debtor_class(w, r.get("debtor_class")), w.day(r.get("classified_on")))
                            for r in banks))
    return SignText(sentence, table)


TEMPLATES: dict[str, Callable[[Evidence, Words], SignText]] = {
    "rep_dpd_any": past_due,
    "rep_dpd_30": past_due,
    "rep_dpd_90": past_due,
    "rep_partial_payment": partial_payment,
    "rep_restructured": restructured,
    "rep_overdraft_near_limit": overdraft_near_limit,
    "rep_overdraft_rising": overdraft_rising,
    "rep_borrowing_up_inflow_down": borrowing_up_inflow_down,
    "rep_more_lenders": more_lenders,
    "rep_bank_class_watch": bank_class_watch,
}
