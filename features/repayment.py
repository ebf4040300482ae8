"""Loan repayment (返済状況): what the lending banks see on the business's loans month by month.

A business may borrow from several banks; `business_keys` merges them by 法人番号, so every
indicator here looks across all of the business's loans. A loan is (bank, loan number); as of
T each loan-month is the latest version of that row received by T. "The latest month" of a
loan is its most recent month received by T, counted only when it lies within the last
`recent_months` calendar months before T (loan rows arrive a few weeks after month end, so
with 3 the last two months are normally visible); a business whose loans have no such month
is no longer a current borrower as far as the feed shows, and the loan indicators are
unavailable for it.

Every feed is read through the point-in-time layer (yocho/warehouse/pit.py), where "the latest
version received by T" is written once. A debtor classification is the record (bank, local_id,
判定日); a bank's view of the business is its classification with the latest 判定日, and where the
bank holds the business under several local ids and classified them on the same day, the one
preferred by `pit_preference` (the latest received, then the lowest institution id) -- the same
choice as the cross-institution family. The worst classification across banks is the highest
rank, then the latest 判定日, then `pit_preference` again.
"""
from features.catalog import Family, Indicator, Severity, Threshold

_RECENT = Threshold(
    "recent_months", 3,
    "Loan rows arrive 2-3 weeks after month end, so the last two calendar months are normally "
    "visible; a loan with no month in the last three has stopped reporting and its status is stale.",
    reaches_back=True,
)


def _dpd(id_: str, ja: str, en: str, min_days: int, reason: str, severity: Severity) -> Indicator:
    return Indicator(
        id=id_, ja=ja, en=en, family=Family.REPAYMENT, feeds=("loans",),
        definition="Largest days past due (延滞日数) over the business's loans, each loan at its latest month "
        "received by the as-of date within the last `recent_months` months. Fires when it is at least "
        "`min_days`. Unavailable when no loan of the business has a month in that window.",
        unit="days", severity=severity,
        thresholds=(Threshold("min_days", min_days, reason), _RECENT),
    )


INDICATORS = (
    _dpd("rep_dpd_any", "延滞発生", "Any repayment past due", 1,
         "Any arrear at month end is 延滞 in bank practice; even a few days' slip on a contractual "
         "instalment is usually the first repayment sign a bank sees.", Severity.MEDIUM),
    _dpd("rep_dpd_30", "延滞1ヶ月以上", "30+ days past due", 30,
         "30 days is one whole missed monthly instalment: no longer a timing slip but a failure to pay, "
         "and the point at which guaranteed loans are reported to the association as 事故 (延滞).",
         Severity.HIGH),
    _dpd("rep_dpd_90", "延滞3ヶ月以上", "90+ days past due", 90,
         "3ヶ月以上延滞債権 under 金融再生法/リスク管理債権: a loan 90 days past due makes the borrower 要管理先 "
         "or worse and usually leads to a subrogation request.", Severity.CRITICAL),
    Indicator(
        id="rep_partial_payment",
        ja="約定返済の一部不足",
        en="Instalments paid short",
        family=Family.REPAYMENT,
        feeds=("loans",),
        definition="Number of months, among the last `window_months` months up to and including the business's "
        "latest loan month (its most recent month received by the as-of date within the last `recent_months` "
        "months), in which at least one loan with a scheduled repayment (約定返済額 > 0) was paid less than "
        "scheduled. Fires when at least `min_months`. Unavailable when no loan row with a scheduled repayment "
        "falls in that window (no latest month, or overdraft lines only).",
        unit="months",
        severity=Severity.MEDIUM,
        thresholds=(
            Threshold("window_months", 3, "A quarter: recent enough to be the current cash position, long enough "
                      "to catch a shortfall that the borrower made good the next month.", reaches_back=True),
            Threshold("min_months", 1, "Paying part of an instalment (内入れ) is already a request for forbearance in "
                      "practice; businesses pay in full until they cannot."),
            _RECENT,
        ),
        # the window ends at the latest month, itself within the last recent_months
        lookback=lambda t: t["recent_months"] + t["window_months"],
    ),
    Indicator(
        id="rep_restructured",
        ja="条件変更（リスケ）",
        en="Loan restructured",
        family=Family.REPAYMENT,
        feeds=("loans",),
        definition="Number of the business's loans flagged restructured (条件変更/リスケ in force) in any month "
        "within the last `window_months` months received by the as-of date: restructurings still in force at "
        "the latest month and those agreed (or ended) within the window. Fires when at least one. Evidence "
        "names the loans, how many are still in force and the latest month a loan turned restructured. "
        "Unavailable when no loan of the business has a month in the last `recent_months` months.",
        unit="loans",
        severity=Severity.HIGH,
        thresholds=(
            Threshold("window_months", 12, "A restructuring in the last year is still being serviced on relaxed terms; "
                      "banks treat a borrower as 要注意先 at least until a year of performance under the new plan.",
                      reaches_back=True),
            _RECENT,
        ),
    ),
    Indicator(
        id="rep_overdraft_near_limit",
        ja="当座貸越の極度額接近",
        en="Overdraft near its limit",
        family=Family.REPAYMENT,
        feeds=("loans",),
        definition="Highest utilisation (利用額 ÷ 極度額) over the business's overdraft lines (当座貸越極度額 > 0), "
        "each line at its latest month received by the as-of date within the last `recent_months` months. "
        "Fires when at least `min_utilisation`. Unavailable without an overdraft line in that window.",
        unit="ratio",
        severity=Severity.MEDIUM,
        thresholds=(
            Threshold("min_utilisation", 0.9, "With less than a tenth of the line left the business has no headroom for "
                      "a late receipt or a payroll date; a line used to the limit at month end is being used as "
                      "permanent working capital (張り付き), not as a buffer."),
            _RECENT,
        ),
    ),
    Indicator(
        id="rep_overdraft_rising",
        ja="当座貸越利用率の上昇",
        en="Overdraft use rising",
        family=Family.REPAYMENT,
        feeds=("loans",),
        definition="Largest rise, in percentage points, of an overdraft line's utilisation (利用額 ÷ 極度額) between "
        "the line's latest month (received by the as-of date, within the last `recent_months` months) and the "
        "same line `compare_months` months earlier. Fires when a line rose by at least `min_rise_points` points, "
        "or rose month on month in each of its last `rising_months` months (consecutive months, limit > 0 "
        "throughout) by at least `min_streak_points` points in all. Only lines with a row `compare_months` months before their latest month are judged; "
        "unavailable when there is none.",
        unit="percentage points",
        severity=Severity.MEDIUM,
        thresholds=(
            Threshold("compare_months", 6, "Half a year spans the seasonal swings of most trades' working capital "
                      "without waiting a full year to see a trend.", reaches_back=True),
            Threshold("min_rise_points", 20, "A fifth of the line drawn additionally and not repaid in half a year is "
                      "a structural funding gap rather than seasonal use."),
            Threshold("rising_months", 3, "Three consecutive monthly rises rule out a one-off payment date; the line "
                      "is being drawn to cover recurring shortfalls.", reaches_back=True),
            Threshold("min_streak_points", 10, "Month-on-month drift of a point or two is noise in how receipts fall "
                      "around month end; a tenth of the line in a quarter is money the business keeps needing."),
            _RECENT,
        ),
        # both comparisons reach back from the line's latest month, itself within the last recent_months
        lookback=lambda t: t["recent_months"] + max(t["compare_months"], t["rising_months"]),
    ),
    Indicator(
        id="rep_borrowing_up_inflow_down",
        ja="借入増加と入金減少",
        en="Borrowing up while receipts fall",
        family=Family.REPAYMENT,
        feeds=("loans", "accounts"),
        definition="Growth of the business's total loan balance (all loans and overdraft lines, all banks) over "
        "`compare_months` months, as a ratio: for each bank, the balance at the business's latest month there "
        "(within the last `recent_months` months; a bank whose loans stopped reporting counts 0 at the bank's "
        "latest month) against the month `compare_months` earlier (0 where the bank reported that month for "
        "other customers but not this one; a bank that did not report it at all is left out). Fires when it "
        "is at least `min_balance_growth` while deposit inflows (入金額, accounts feed) over the business's "
        "latest `inflow_months` months at each bank fell by at least `min_inflow_decline` against the same "
        "calendar months a year earlier (a bank counts only with all those months on both sides). "
        "Unavailable without both feeds, when no loan of the business has a month in the last `recent_months` "
        "months, without a positive balance a year earlier or without positive inflows a year earlier.",
        unit="ratio",
        severity=Severity.HIGH,
        thresholds=(
            Threshold("compare_months", 12, "A year-on-year comparison removes seasonal borrowing (賞与資金, 年末資金).",
                      reaches_back=True),
            Threshold("min_balance_growth", 0.10, "Scheduled amortisation reduces a healthy borrower's balance each year; "
                      "10% more debt despite it means new money was raised."),
            Threshold("inflow_months", 3, "A quarter of receipts smooths the timing of individual customer payments."),
            Threshold("min_inflow_decline", 0.10, "Sales receipts down a tenth while borrowing grows means the new money "
                      "funds losses or existing repayments (借入で返済), not growth."),
            _RECENT,
        ),
        # the balance a year before each bank's latest month, itself within the last recent_months
        # (inflow_months bounds the SQL's own read of the deposit accounts, not the loan months)
        lookback=lambda t: t["recent_months"] + t["compare_months"],
    ),
    Indicator(
        id="rep_more_lenders",
        ja="借入先金融機関の増加",
        en="Borrowing from more lenders",
        family=Family.REPAYMENT,
        feeds=("loans", "guarantees"),
        definition="Increase in the number of distinct lenders between the last `recent_months` months and the "
        "same months `compare_months` months earlier. Lenders in a window: banks whose loans to the business "
        "(loans feed) have, at their latest month in the window, a positive balance or an overdraft line, "
        "plus the lending banks (lender_bank_code) of the business's guarantees with a positive balance and "
        "status neither 完済 nor 代位弁済済 at their latest month in the window. Fires when the increase is at "
        "least `min_increase` and the business now borrows from at least `min_lenders` lenders. "
        "Unavailable unless loan or guarantee rows exist in both windows.",
        unit="lenders",
        severity=Severity.MEDIUM,
        thresholds=(
            Threshold("compare_months", 12, "A year-on-year comparison: lender relationships change slowly.",
                      reaches_back=True),
            Threshold("min_increase", 1, "Taking on a new lender while existing banks stay is what a business does when "
                      "its main bank will not lend more (メイン行離れ, 借入先の分散)."),
            Threshold("min_lenders", 3, "Adding a second bank is ordinary diversification for a small business; a third "
                      "or later lender is where 多行取引 begins to signal shopping for credit."),
            _RECENT,
        ),
        # the earlier window: recent_months, compare_months before the last recent_months
        lookback=lambda t: t["recent_months"] + t["compare_months"],
    ),
    Indicator(
        id="rep_bank_class_watch",
        ja="債務者区分 要注意先以下",
        en="Bank classifies the debtor as watch or worse",
        family=Family.REPAYMENT,
        feeds=("classifications",),
        definition="Worst debtor classification (債務者区分) across the business's banks, each bank's latest "
        "classification (latest 判定日, latest version received by the as-of date) made within the last "
        "`max_age_months` months, as a rank: 0 正常先, 1 要注意先, 2 要管理先, 3 破綻懸念先, 4 実質破綻先, 5 破綻先. "
        "Fires when the rank is at least `min_rank`. Unavailable without such a classification.",
        unit="rank",
        severity=Severity.HIGH,
        thresholds=(
            Threshold("min_rank", 1, "要注意先 is the bank's own judgement that the borrower needs watching (業況不安, "
                      "延滞, 条件変更); it precedes 要管理先 and worse by months."),
            # bounds the SQL's own read of the classifications, not the loan months: not reaches_back
            Threshold("max_age_months", 18, "Banks reclassify at each 自己査定 (at least yearly, usually half-yearly); "
                      "a classification older than a year and a half no longer describes the borrower."),
        ),
    ),
)
