"""Financial statements (財務諸表): what the annual 決算 and the quarterly 試算表 show.

How statements are chosen (the same for every indicator of the family):

- As of T only statements received by T count, each in its latest version received by T
  (the point-in-time layer, yocho/warehouse/pit.py). A statement sent by several
  institutions (same business, type and period_end) counts once: the one preferred by
  `pit_preference`, the latest received, then the lowest institution_id.
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
from features.catalog import Direction, Family, Indicator, Measure, PeerThreshold, Severity, Threshold

_FEEDS = ("financials",)


def _fin(id: str, ja: str, en: str, definition: str, unit: str, severity: Severity, *thresholds: Threshold,
         peers: PeerThreshold | None = None) -> Indicator:
    return Indicator(id=id, ja=ja, en=en, family=Family.FINANCIALS, feeds=_FEEDS, definition=definition,
                     unit=unit, severity=severity, thresholds=thresholds, peers=peers)


def _division(direction: Direction, default: bool, reason: str) -> PeerThreshold:
    """An industry-relative threshold against the JSIC division (features/peers.py)."""
    return PeerThreshold(relative_to="jsic_division", direction=direction, default=default, reason=reason)


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
        peers=_division(
            Direction.BELOW, False,
            "Flat by default. The flat ratio 1 fires for more than half of the healthy businesses of some "
            "trades (M 宿泊・飲食 58%, P 医療・福祉 54%, N 生活関連 51%; 21% overall), but its lift (1.17) is higher than "
            "that of the division's 10th percentile (1.08, firing for 9.4% of healthy business-months) on the"
            " demo portfolio: offered (`relative` = 1), not the default."),
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
        peers=_division(
            Direction.ABOVE, True,
            "Relative by default. On the demo portfolio (20,000 businesses, 36 months) the flat 6 months "
            "fired for 31% of healthy business-months (25-41% in every division) with a lift of 1.05 six to "
            "twelve months before a first deterioration event; the division's 90th percentile fires for 9.7% "
            "of healthy business-months with a lift of 1.14 (docs/indicators.md, industry-relative "
            "thresholds)."),
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
        peers=_division(
            Direction.BELOW, True,
            "Relative by default. The flat ratio 1 fired for 31% of healthy business-months (A 農林 58%, K 不動産 "
            "55%, M 宿泊・飲食 53%) with a lift of 1.24; the division's 10th percentile fires for 9.2% with a lift"
            " of 1.27 on the demo portfolio."),
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
        peers=_division(
            Direction.ABOVE, False,
            "Flat by default. The change already compares the business with its own past: the flat thresholds"
            " fire for 11% of healthy business-months, at most 20% in any division (D 建設), and the division's"
            " 90th percentile separates no better on the demo portfolio (lift 0.86 against 0.93)."),
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
        peers=_division(
            Direction.ABOVE, False,
            "Flat by default. The flat thresholds fire for 5% of healthy business-months, 17% in "
            "manufacturing (E) where stock matters and almost never in services, as `min_increase_days` "
            "intends; the division's 90th percentile fires for a tenth of every trade, small stocks included,"
            " with a lift of 0.99 against 1.06 on the demo portfolio."),
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


def _measure(id: str, ja: str, en: str, definition: str, unit: str) -> Measure:
    return Measure(id=id, ja=ja, en=en, family=Family.FINANCIALS, feeds=_FEEDS, definition=definition, unit=unit)


_CHANGE = ("Change from the previous annual statement to the latest (latest − previous, in the unit of the "
           "figure). Unavailable without a previous statement of the fiscal year just before, or without the "
           "figure in either.")

# Continuous figures a credit analyst reads off the statements, for the risk models (catalog.Measure):
# ratios, never raw yen, so a model ranks by how a business is doing rather than by its size
# (size itself enters once, as a logarithm).
MEASURES = (
    _measure("fin_equity_ratio", "自己資本比率", "Equity ratio",
             "Net assets (純資産) over total assets (総資産) of the latest annual statement, in percent; negative "
             "under 債務超過. Unavailable without both, or with no total assets.", "%"),
    _measure("fin_equity_ratio_change", "自己資本比率の前期差", "Equity ratio, change on the year", _CHANGE, "points"),
    _measure("fin_roa", "総資産経常利益率（ROA）", "Return on assets (ordinary profit)",
             "Ordinary profit (経常利益) over total assets of the latest annual statement, in percent. Where the "
             "statement does not show ordinary profit, operating profit (営業利益) stands in. Unavailable without "
             "either, or without total assets.", "%"),
    _measure("fin_roa_change", "ROAの前期差", "Return on assets, change on the year", _CHANGE, "points"),
    _measure("fin_net_income_to_assets", "総資産当期純利益率", "Net income to total assets",
             "Net income (当期純利益) over total assets of the latest annual statement, in percent.", "%"),
    _measure("fin_net_income_to_assets_change", "総資産当期純利益率の前期差", "Net income to total assets, change",
             _CHANGE, "points"),
    _measure("fin_operating_margin", "売上高営業利益率", "Operating margin",
             "Operating profit over sales of the latest annual statement, in percent. Unavailable without sales.",
             "%"),
    _measure("fin_operating_margin_change", "売上高営業利益率の前期差", "Operating margin, change on the year",
             _CHANGE, "points"),
    _measure("fin_debt_service_years", "債務償還年数", "Years to repay borrowings",
             "Borrowings (短期 + 長期借入金) less cash (現預金, 0 where not shown) over the simple cash flow (当期純利益 + "
             "減価償却費, depreciation 0 where not shown) of the latest annual statement, in years. 0 without net "
             "borrowings; capped at 50, which is also the value where the cash flow is not positive (the debt "
             "cannot be repaid from operations). Unavailable without borrowings or net income.", "years"),
    _measure("fin_debt_service_years_change", "債務償還年数の前期差", "Years to repay borrowings, change",
             _CHANGE, "years"),
    _measure("fin_current_ratio_change", "流動比率の前期差", "Current ratio, change on the year", _CHANGE, "ratio"),
    _measure("fin_retained_earnings_to_assets", "利益剰余金対総資産比率", "Retained earnings to total assets",
             "Retained earnings (利益剰余金; negative: 繰越欠損) over total assets of the latest annual statement, in "
             "percent: the profits kept over the business's life. Unavailable without retained earnings.", "%"),
    _measure("fin_retained_earnings_to_assets_change", "利益剰余金対総資産比率の前期差",
             "Retained earnings to total assets, change", _CHANGE, "points"),
    _measure("fin_log_total_assets", "規模（総資産の対数）", "Size: log10 of total assets",
             "Base-10 logarithm of total assets of the latest annual statement (in yen: 8 = 1億円).", "log10 JPY"),
    _measure("fin_log_sales", "規模（年商の対数）", "Size: log10 of annual sales",
             "Base-10 logarithm of the latest annual statement's sales, put on a 12-month basis.", "log10 JPY"),
    _measure("fin_total_assets_growth", "総資産の増減率", "Total assets, change on the year",
             "Change of total assets from the previous annual statement to the latest, in percent.", "%"),
)
