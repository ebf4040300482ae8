"""財務諸表 (financial statements): a sentence per sign from the figures features/sql/financials.sql
keeps (and, for the signs judged against their trade, features/peers.py's comparison)."""
from __future__ import annotations

from collections.abc import Callable

from webapp.sign_text.words import MINUS, Evidence, Missing, SignText, Table, Words, number
from yocho.contract import JSIC_DIVISIONS

JSIC_EN = "JSIC division"


def peer_note(e: Evidence, w: Words, fmt: Callable[[float], str]) -> tuple[str, ...]:
    """How an industry-relative sign was judged: against its trade's percentile, or on the
    flat threshold (too few businesses of the trade, or none on file)."""
    how = e.get("threshold")
    if how == "division":
        division = str(e.get("jsic_division") or "")
        name = JSIC_DIVISIONS.get(division, division)
        cut, peers, pct = e.opt_num("division_threshold"), e.opt_num("peers"), e.opt_num("division_percentile")
        if cut is None or peers is None:
            return ()
        top = 100 - (pct or 90)
        return (w.pick(f"同業種（{name}、{w.count(peers, 'business')}）の中で悪い方の{top:.0f}%に入っています（境目 {fmt(cut)}）。",
                       f"Among the worst {top:.0f}% of its trade ({JSIC_EN} {division}, {w.count(peers, 'business')}; "
                       f"cut-off {fmt(cut)})."),)
    if how == "flat":
        return (w.pick("同業種の比較対象が少ない（または業種が不明な）ため、一律の閾値で判定しています。",
                       "Judged on the flat threshold: too few businesses of its trade to compare with (or no trade on file)."),)
    return ()


def sales_decline_yoy(e: Evidence, w: Words) -> SignText:
    before, now = w.yen(e.need("previous_sales_jpy")), w.yen(e.need("sales_jpy"))
    change = e.opt_num("change_pct")
    if change is None:
        change = 100.0 * (e.num("sales_jpy") - e.num("previous_sales_jpy")) / e.num("previous_sales_jpy")
    return SignText(w.pick(
        f"{w.period(e.need('period_end'))}の売上高が前期比 {w.signed_pct(change)}（{before}→{now}）",
        f"Sales {w.signed_pct(change)} on the previous year in the {w.period(e.need('period_end'))} ({before} → {now})"))


def _series_table(e: Evidence, w: Words, ends_key: str, values_key: str, label: tuple[str, str]) -> Table:
    ends, values = e.need(ends_key), e.need(values_key)
    if not isinstance(ends, list) or not isinstance(values, list) or len(ends) != len(values):
        raise Missing(values_key)
    rows = tuple((w.period(end), w.yen(value)) for end, value in sorted(zip(ends, values, strict=True)))
    return Table((w.pick("決算期", "Period"), w.pick(*label)), rows)


def sales_decline_consecutive(e: Evidence, w: Words) -> SignText:
    years = e.num("years_of_decline")
    table = _series_table(e, w, "period_ends", "sales_jpy", ("売上高", "Sales"))
    trail = "→".join(row[1] for row in table.rows)
    return SignText(w.pick(f"売上高が{w.count(years, 'period')}連続で減少（{trail}）",
                           f"Sales fell {w.count(years, 'period')} in a row ({trail.replace('→', ' → ')})"), table)


def operating_loss(e: Evidence, w: Words) -> SignText:
    profit = e.num("operating_profit_jpy")
    sales = e.get("sales_jpy")
    tail = w.pick(f"（売上高 {w.yen(sales)}）", f" (sales {w.yen(sales)})") if number(sales) is not None else ""
    return SignText(w.pick(f"{w.period(e.need('period_end'))}の営業損益が {w.yen(profit)} の赤字{tail}",
                           f"Operating loss of {w.yen(profit)} in the {w.period(e.need('period_end'))}{tail}"))


def consecutive_operating_losses(e: Evidence, w: Words) -> SignText:
    years = e.num("years_of_loss")
    table = _series_table(e, w, "period_ends", "operating_profit_jpy", ("営業損益", "Operating profit"))
    listed = w.join(f"{period} {amount}" for period, amount in table.rows)
    return SignText(w.pick(f"営業赤字が{w.count(years, 'period')}連続（{listed}）",
                           f"Operating losses {w.count(years, 'period')} in a row ({listed})"), table)


def negative_net_assets(e: Evidence, w: Words) -> SignText:
    net = w.yen(e.need("net_assets_jpy"))
    assets, liabilities = e.get("total_assets_jpy"), e.get("total_liabilities_jpy")
    tail = ""
    if number(assets) is not None and number(liabilities) is not None:
        tail = w.pick(f"（総資産 {w.yen(assets)}、総負債 {w.yen(liabilities)}）",
                      f" (assets {w.yen(assets)}, liabilities {w.yen(liabilities)})")
    return SignText(w.pick(f"{w.period(e.need('period_end'))}に債務超過：純資産 {net}{tail}",
                           f"Negative net assets in the {w.period(e.need('period_end'))}: {net}{tail}"))


def current_ratio_low(e: Evidence, w: Words) -> SignText:
    ratio = e.opt_num("current_ratio")
    if ratio is None:
        ratio = e.num("current_assets_jpy") / e.num("current_liabilities_jpy")
    assets, liabilities = w.yen(e.need("current_assets_jpy")), w.yen(e.need("current_liabilities_jpy"))
    return SignText(w.pick(
        f"{w.period(e.need('period_end'))}の流動比率 {w.times(ratio)}（流動資産 {assets} ÷ 流動負債 {liabilities}）",
        f"Current ratio {w.times(ratio)} in the {w.period(e.need('period_end'))} "
        f"(current assets {assets} ÷ current liabilities {liabilities})"), notes=peer_note(e, w, w.times))


def borrowings_to_monthly_sales(e: Evidence, w: Words) -> SignText:
    multiple = e.num("months_of_sales")
    borrowings = e.num("short_term_borrowings_jpy") + e.num("long_term_borrowings_jpy")
    monthly = w.yen(e.need("monthly_sales_jpy"))
    return SignText(w.pick(
        f"{w.period(e.need('period_end'))}の借入金が月商の {w.months_of_sales(multiple)}（借入金 {w.yen(borrowings)} ÷ 月商 {monthly}）",
        f"Borrowings {w.months_of_sales(multiple)} of monthly sales in the {w.period(e.need('period_end'))} "
        f"(borrowings {w.yen(borrowings)} ÷ monthly sales {monthly})"), notes=peer_note(e, w, w.months_of_sales))


def borrowings_multiple_rising(e: Evidence, w: Words) -> SignText:
    before, now = e.num("previous_months_of_sales"), e.num("months_of_sales")
    rise = now - before
    rise_text = f"{'+' if rise >= 0 else MINUS}{abs(rise):.2f}"
    return SignText(w.pick(
        f"借入金月商倍率が {before:.2f}か月（{w.period(e.need('previous_period_end'))}）→ {now:.2f}か月"
        f"（{w.period(e.need('period_end'))}）に上昇（{rise_text}か月）",
        f"Borrowings rose from {before:.2f} months of sales ({w.period(e.need('previous_period_end'))}) to {now:.2f} "
        f"({w.period(e.need('period_end'))}), {rise_text} months"),
        Table((w.pick("決算期", "Period"), w.pick("借入金", "Borrowings"), w.pick("売上高", "Sales"),
               w.pick("月商倍率", "Months of sales")),
              ((w.period(e.need("previous_period_end")), w.yen(e.need("previous_borrowings_jpy")),
                w.yen(e.need("previous_sales_jpy")), w.months_of_sales(before)),
               (w.period(e.need("period_end")), w.yen(e.need("borrowings_jpy")), w.yen(e.need("sales_jpy")),
                w.months_of_sales(now)))))


def interest_coverage_low(e: Evidence, w: Words) -> SignText:
    ratio = e.opt_num("interest_coverage")
    if ratio is None:
        ratio = e.num("operating_profit_jpy") / e.num("interest_expense_jpy")
    profit, interest = w.yen(e.need("operating_profit_jpy")), w.yen(e.need("interest_expense_jpy"))
    return SignText(w.pick(
        f"{w.period(e.need('period_end'))}のインタレスト・カバレッジ・レシオ {w.times(ratio)}（営業利益 {profit} ÷ 支払利息 {interest}）",
        f"Interest coverage {w.times(ratio)} in the {w.period(e.need('period_end'))} "
        f"(operating profit {profit} ÷ interest {interest})"), notes=peer_note(e, w, w.times))


def _days_up(e: Evidence, w: Words, what: str, ja: str, en: str, amount: tuple[str, str]) -> SignText:
    before, now = e.num(f"previous_{what}_days"), e.num(f"{what}_days")
    change = 100.0 * (now - before) / before if before else None
    change_text = f"、{w.signed_pct(change)}" if change is not None and w.ja else (
        f", {w.signed_pct(change)}" if change is not None else "")
    sentence = w.pick(
        f"{ja}が {w.days(before)}（{w.period(e.need('previous_period_end'))}）→ {w.days(now)}"
        f"（{w.period(e.need('period_end'))}）に長期化（{w.days(now - before)}増{change_text}）",
        f"{en} lengthened from {w.days(before)} ({w.period(e.need('previous_period_end'))}) to {w.days(now)} "
        f"({w.period(e.need('period_end'))}): {w.days(now - before)} more{change_text}")
    table = Table((w.pick("決算期", "Period"), w.pick(amount[0], amount[1]), w.pick("売上高", "Sales"), w.pick(ja, en)),
                  ((w.period(e.need("previous_period_end")), w.yen(e.need(f"previous_{amount[2]}")),
                    w.yen(e.need("previous_sales_jpy")), w.days(before)),
                   (w.period(e.need("period_end")), w.yen(e.need(amount[2])), w.yen(e.need("sales_jpy")),
                    w.days(now))))
    return SignText(sentence, table, peer_note(e, w, lambda v: w.signed_pct(v)))


def receivable_days_up(e: Evidence, w: Words) -> SignText:
    return _days_up(e, w, "receivable", "売上債権回転日数", "Receivable days", ("売上債権", "Receivables", "receivables_jpy"))


def inventory_days_up(e: Evidence, w: Words) -> SignText:
    return _days_up(e, w, "inventory", "棚卸資産回転日数", "Inventory days", ("棚卸資産", "Inventory", "inventory_jpy"))


def cash_decline(e: Evidence, w: Words) -> SignText:
    before, now = e.num("previous_cash_jpy"), e.num("cash_jpy")
    change = 100.0 * (now - before) / before
    return SignText(w.pick(
        f"{w.period(e.need('period_end'))}の現預金が前期比 {w.signed_pct(change)}（{w.yen(before)}→{w.yen(now)}）",
        f"Cash {w.signed_pct(change)} on the previous year in the {w.period(e.need('period_end'))} "
        f"({w.yen(before)} → {w.yen(now)})"))


def statements_overdue(e: Evidence, w: Words) -> SignText:
    months = w.count(e.num("months_since"), "month")
    latest = e.get("latest_annual_period_end")
    if latest:
        received = e.get("latest_annual_received_on")
        got = w.pick(f"（{w.day(received)}受領）", f" (received {w.day(received)})") if received else ""
        return SignText(w.pick(f"最新の決算書は{w.period(latest)}{got}で、その期末から{months}経過",
                               f"The latest annual statements are for the {w.period(latest)}{got}: {months} since its end"))
    start = e.need("first_trial_balance_period_start")
    return SignText(w.pick(f"決算書の提出がなく、最初の試算表の期間（{w.month(start)}〜）から{months}経過",
                           f"No annual statements received; {months} since the first trial balance "
                           f"(from {w.month(start)})"))


def quarterly_sales_decline(e: Evidence, w: Words) -> SignText:
    before, now = w.yen(e.need("previous_sales_jpy")), w.yen(e.need("sales_jpy"))
    change = e.opt_num("change_pct")
    if change is None:
        change = 100.0 * (e.num("sales_jpy") - e.num("previous_sales_jpy")) / e.num("previous_sales_jpy")
    span = w.span(e.need("period_start"), e.need("period_end"))
    return SignText(w.pick(f"試算表の売上高（{span}）が前年同期比 {w.signed_pct(change)}（{before}→{now}）",
                           f"Trial-balance sales for {span} {w.signed_pct(change)} on the same months a year earlier "
                           f"({before} → {now})"))


TEMPLATES: dict[str, Callable[[Evidence, Words], SignText]] = {
    "fin_sales_decline_yoy": sales_decline_yoy,
    "fin_sales_decline_consecutive": sales_decline_consecutive,
    "fin_operating_loss": operating_loss,
    "fin_consecutive_operating_losses": consecutive_operating_losses,
    "fin_negative_net_assets": negative_net_assets,
    "fin_current_ratio_low": current_ratio_low,
    "fin_borrowings_to_monthly_sales": borrowings_to_monthly_sales,
    "fin_borrowings_multiple_rising": borrowings_multiple_rising,
    "fin_interest_coverage_low": interest_coverage_low,
    "fin_receivable_days_up": receivable_days_up,
    "fin_inventory_days_up": inventory_days_up,
    "fin_cash_decline": cash_decline,
    "fin_statements_overdue": statements_overdue,
    "fin_quarterly_sales_decline": quarterly_sales_decline,
}
