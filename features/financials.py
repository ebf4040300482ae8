"""Financial statements (財務諸表): what the annual 決算 and the quarterly 試算表 show.

How statements are chosen (the same for every indicator of the family):

- As of T only statements received by T count; a statement sent again (same business,
  type and period_end, possibly by another institution) counts once, in its latest
  version received by T.
- The *latest* annual statement is the one with the latest period_end among those whose
  period_end is at most 5 years before T; the *previous* one is the annual statement
  whose period_end is 11 to 13 months earlier (the preceding fiscal year) and which
  covers a period of the same length. Year-over-year indicators are unavailable without
  it: comparing with a statement two years back, or across a change of fiscal year end
  (変則決算), would mislead.
- Flows are put on a monthly or daily basis by the length of the period they cover
  (monthly sales = sales / months of the period), so a shortened transition year does not
  distort a ratio.
- A figure a statement leaves empty is unknown, not zero: an indicator that needs it is
  unavailable (borrowings: unknown only when both short- and long-term are empty).
"""
from features.catalog import Family, Indicator, Severity, Threshold

_FEEDS = ("financials",)


def _fin(id: str, ja: str, en: str, definition: str, unit: str, severity: Severity, *thresholds: Threshold) -> Indicator:
    return Indicator(id=id, ja=ja, en=en, family=Family.FINANCIALS, feeds=_FEEDS, definition=definition,
                     unit=unit, severity=severity, thresholds=thresholds)


INDICATORS = (
    _fin(
        "fin_sales_decline_yoy", "売上高の減少（前期比）", "Sales down on the previous year",
        "Change, in percent, of sales (売上高) in the latest annual statement against the previous one "
        "(100 × (sales − previous sales) / previous sales). Fires when the change is at most `max_change_pct`. "
        "Unavailable without a previous statement or with zero previous sales.",
        "%", Severity.MEDIUM,
        Threshold("max_change_pct", -10, "A tenth of annual sales lost is beyond normal fluctuation for most SMEs and "
                  "is where lenders start asking for the reasons and a plan (経営改善の要否)."),
    ),
    _fin(
        "fin_sales_decline_consecutive", "売上高の連続減少", "Sales falling year after year",
        "Number of consecutive annual statements, ending with the latest, in which sales fell against the statement "
        "of the fiscal year before (counted up to 3). Fires when it is at least `min_years`. Unavailable without a "
        "previous statement, and while the run of declines reaches back to the oldest statement on file before "
        "reaching `min_years` (whether the year before also fell cannot be told).",
        "years", Severity.MEDIUM,
        Threshold("min_years", 2, "One bad year can be a lost contract; two in a row is a trend that a 収益力改善 "
                  "plan should address."),
    ),
    _fin(
        "fin_operating_loss", "営業赤字", "Operating loss",
        "Operating profit (営業利益) of the latest annual statement. Fires when it is below zero: the core business "
        "does not pay for itself. Unavailable without an annual statement showing operating profit.",
        "JPY", Severity.MEDIUM,
    ),
    _fin(
        "fin_consecutive_operating_losses", "営業赤字の連続（2期連続赤字）", "Consecutive operating losses",
        "Number of consecutive annual statements, ending with the latest, each the fiscal year after the other, with "
        "an operating loss (counted up to 3). Fires when it is at least `min_years`. Unavailable without an annual "
        "statement, and while the run of losses reaches back to the oldest statement on file before reaching "
        "`min_years` (a first loss-making year on file may or may not follow another).",
        "years", Severity.MEDIUM,
        Threshold("min_years", 2, "Two consecutive losses (2期連続赤字) is the classic line at which banks review "
                  "the debtor classification (要注意先 and below)."),
    ),
    _fin(
        "fin_negative_net_assets", "債務超過", "Negative net assets (債務超過)",
        "Net assets (純資産) of the latest annual statement. Fires when below zero: liabilities exceed assets on the "
        "books. Unavailable without an annual statement showing net assets.",
        "JPY", Severity.HIGH,
    ),
    _fin(
        "fin_current_ratio_low", "流動比率の低下", "Current ratio below 1",
        "Current assets divided by current liabilities (流動比率) in the latest annual statement. Fires when below "
        "`max_ratio`. Unavailable without an annual statement showing both, or with no current liabilities.",
        "ratio", Severity.MEDIUM,
        Threshold("max_ratio", 1.0, "Below 1, the debts due within a year exceed what can be turned into cash "
                  "within a year: a short-term funding gap."),
    ),
    _fin(
        "fin_borrowings_to_monthly_sales", "借入金月商倍率の高さ", "Borrowings high against monthly sales",
        "Short- plus long-term borrowings (短期借入金 + 長期借入金) divided by monthly sales (sales / months covered "
        "by the statement, i.e. annual sales / 12) in the latest annual statement: 借入金月商倍率. Fires when above "
        "`max_months`. Unavailable without an annual statement with sales and at least one borrowings figure.",
        "months", Severity.MEDIUM,
        Threshold("max_months", 6, "Lenders commonly treat borrowings above about six months of sales (3 months is "
                  "healthy for most trades) as more than operations can repay in a normal term; only "
                  "capital-intensive trades (real estate, hotels) routinely carry more."),
    ),
    _fin(
        "fin_borrowings_multiple_rising", "借入金月商倍率の上昇", "Borrowings multiple rising",
        "Change of the borrowings-to-monthly-sales multiple from the previous to the latest annual statement, in "
        "months. Fires when it rose by at least `min_rise_months`. Unavailable without both statements with sales "
        "and borrowings.",
        "months", Severity.MEDIUM,
        Threshold("min_rise_months", 1, "A month of sales more debt in one year means borrowing is outgrowing the "
                  "business, typically new loans covering losses or refinancing old ones."),
    ),
    _fin(
        "fin_interest_coverage_low", "インタレスト・カバレッジ・レシオの低下", "Interest coverage below 1",
        "Operating profit divided by interest expense (支払利息) in the latest annual statement (ICR; interest and "
        "dividend income is not in the feed, so operating profit alone is the numerator). Fires when below "
        "`max_ratio`. Unavailable without an annual statement showing operating profit and interest expense; a "
        "business that paid no interest has nothing to cover: no value, does not fire.",
        "ratio", Severity.MEDIUM,
        Threshold("max_ratio", 1.0, "Below 1, operations do not even earn the interest on the debt; the line the BOJ "
                  "and FSA use for zombie firms (persistently, with a weak business)."),
    ),
    _fin(
        "fin_receivable_days_up", "売上債権回転日数の長期化", "Receivable days lengthening",
        "Change, in percent, of receivable days (売上債権回転日数 = receivables / sales × days covered by the "
        "statement) from the previous to the latest annual statement: receivables growing faster than sales. Fires "
        "when they grew by at least `min_change_pct` and by at least `min_increase_days` days. Unavailable without "
        "both statements showing sales and receivables, or with no previous receivables.",
        "%", Severity.MEDIUM,
        Threshold("min_change_pct", 30, "Customers paying a third slower points to a customer in difficulty, or to "
                  "sales booked that will never be collected (also a sign of 粉飾)."),
        Threshold("min_increase_days", 15, "Half a month more credit is what a credit officer notices in 回転期間; "
                  "below that, a big percentage on a small base (cash trades) is noise."),
    ),
    _fin(
        "fin_inventory_days_up", "棚卸資産回転日数の長期化", "Inventory days lengthening",
        "Change, in percent, of inventory days (棚卸資産回転日数 = inventory / sales × days covered by the "
        "statement) from the previous to the latest annual statement: stock growing faster than sales. Fires when "
        "they grew by at least `min_change_pct` and by at least `min_increase_days` days. Unavailable without both "
        "statements showing sales and inventory, or with no previous inventory.",
        "%", Severity.MEDIUM,
        Threshold("min_change_pct", 30, "Stock growing a third faster than sales means goods not selling, or "
                  "inventory inflated to flatter profit (在庫の水増し)."),
        Threshold("min_increase_days", 15, "Half a month more stock on hand is material for the cash tied up; below "
                  "that, a big percentage on a small base (services) is noise."),
    ),
    _fin(
        "fin_cash_decline", "現預金の減少", "Cash falling",
        "Change, in percent, of cash and deposits (現預金) from the previous to the latest annual statement. Fires "
        "when it fell by at least |`max_change_pct`| (change ≤ `max_change_pct`). Unavailable without both "
        "statements showing cash, or with no previous cash.",
        "%", Severity.MEDIUM,
        Threshold("max_change_pct", -30, "A third of the cash cushion gone in a year shortens how long the business "
                  "can absorb a bad quarter, and often precedes requests for new money."),
    ),
    _fin(
        "fin_statements_overdue", "決算書の提出遅延", "Statements late or missing",
        "Months from the period_end of the latest annual statement received by T (however old) to T. A business "
        "that has so far sent only trial balances counts from the day before the earliest trial balance's "
        "period_start (the end of the fiscal year before the one it covers). Fires when more than `max_months`. "
        "Unavailable for a business that never submitted any statement (annual or quarterly) by T.",
        "months", Severity.HIGH,
        Threshold("max_months", 18, "Annual statements normally arrive 2-6 months after the year end, so the next "
                  "one is due by 18 months after the latest period_end; later than that, it is more than half a year "
                  "overdue, which often means bad news not yet shown or nobody left to prepare it."),
    ),
    _fin(
        "fin_quarterly_sales_decline", "試算表売上の減少（前年同期比）", "Trial-balance sales down on last year",
        "Change, in percent, of year-to-date sales in the latest quarterly trial balance (試算表) against the trial "
        "balance for the same period of the previous fiscal year (period_end 11 to 13 months earlier, same number "
        "of months). Fires when at most `max_change_pct`. Unavailable without both trial balances, when the latest "
        "one ends more than 12 months before T or not after the latest annual statement (which then tells more), "
        "or with zero previous sales.",
        "%", Severity.MEDIUM,
        Threshold("max_change_pct", -15, "A trial balance shows this year's decline months before the annual "
                  "statement does; year-to-date figures are noisier than a full year, so a wider margin than the "
                  "annual 10%."),
    ),
)
