"""Deposit-account activity (預金口座の動き): what the business's own accounts show month by month.

How the months are put together (the same for every indicator of the family):

- An account is (bank, customer number). As of T each account-month is the latest version of
  that row received by T (read through the point-in-time layer, yocho/warehouse/pit.py). A business may bank at several banks (merged by 法人番号 in
  `business_keys`); its figures for a month are the sums over its accounts.
- A month is *complete* when every account alive in that month (between its first and its
  latest month received by T) has reported it. Sums over an incomplete month would
  understate the business, so amounts, balances and "nothing paid" are read only from
  complete months. Facts that need no total (a failed debit, a payment that was made) are
  read from any row received.
- The *reference month* is the latest month every still-reporting account has delivered:
  the smallest latest-month over the business's accounts, leaving out accounts whose latest
  month is more than 2 months behind the business's most recent one (those have stopped
  reporting, e.g. a closed account). Without this, a month one bank has delivered and the
  other not yet would look like a collapse. Windows ("the last 3 months") end at it.
- Every indicator is unavailable for a business with no account rows received by T, or
  whose reference month is more than 3 calendar months before the month of T (the account
  data is stale: monthly rows normally arrive 2-3 weeks after month end).
- Year-over-year comparisons pair each calendar month with the same month a year earlier
  (seasonality: 決算月, 賞与, 年末), using only pairs where both months are complete.
"""
from features.catalog import Family, Indicator, Severity, Threshold

_FEEDS = ("accounts",)
# Windows end at the reference month, and an indicator is available only while the reference
# month is at most 3 calendar months before the month of T: each window reaches back 4 months
# more from T than from the reference month (Indicator.lookback, catalog.family_lookback_months).
_REFERENCE_LAG = 4

INDICATORS = (
    Indicator(
        id="acc_inflow_decline_yoy",
        ja="入金額の減少（前年同月比）",
        en="Inflows down year on year",
        family=Family.ACCOUNTS,
        feeds=_FEEDS,
        definition="Change, in percent, of total inflows (入金額, mostly sales receipts) over the last 3 months up to "
        "the reference month against the same calendar months a year earlier, summed over the months where both "
        "the month and its year-earlier month are complete. Fires when the change is at most `max_change_pct`. "
        "Unavailable with fewer than 2 such month pairs, or when the year-earlier inflows are zero.",
        unit="%",
        severity=Severity.MEDIUM,
        thresholds=(
            Threshold("max_change_pct", -20, "A fifth of sales receipts gone for a quarter, season for season, "
                      "exceeds ordinary fluctuation and is the usual 売上減少 line banks use to ask why "
                      "(the same 20% 前年同期比 line as セーフティネット保証 4号)."),
        ),
        lookback=lambda t: _REFERENCE_LAG + 3 + 12,  # the last 3 months and a year before them
    ),
    Indicator(
        id="acc_balance_decline",
        ja="預金残高の減少傾向",
        en="Balances trending down",
        family=Family.ACCOUNTS,
        feeds=_FEEDS,
        definition="Change, in percent, of the average balance (平均残高, summed over the accounts) over the last 3 "
        "months up to the reference month against the 3 months before them, each side the mean over its complete "
        "months. Fires when the change is at most `max_change_pct`. Unavailable with fewer than 2 complete months "
        "on either side, or when the earlier average is zero or negative (already overdrawn: see acc_near_zero_months).",
        unit="%",
        severity=Severity.MEDIUM,
        thresholds=(
            Threshold("max_change_pct", -30, "A third of the cash cushion used up within a quarter means the "
                      "business is funding losses or repayments from deposits; smaller moves are normal "
                      "timing of receipts and payments."),
        ),
        lookback=lambda t: _REFERENCE_LAG + 3 + 3,  # the last 3 months and the 3 before them
    ),
    Indicator(
        id="acc_near_zero_months",
        ja="月末残高の枯渇",
        en="Month-end balance near zero",
        family=Family.ACCOUNTS,
        feeds=_FEEDS,
        definition="Number of complete months among the last `window_months` months up to the reference month whose "
        "month-end balance (月末残高, summed over the accounts) is below `floor_ratio` times that month's outflows "
        "(出金額), or negative. Fires when it is at least `min_months`. Unavailable with fewer than 3 complete "
        "months in the window.",
        unit="months",
        severity=Severity.HIGH,
        thresholds=(
            Threshold("window_months", 6, "Half a year shows whether thin month-ends are a habit or a one-off "
                      "(e.g. a large tax or bonus payment) without reaching back to an older situation.", reaches_back=True),
            Threshold("floor_ratio", 0.10, "Less than a tenth of monthly outgoings is about three days of "
                      "payments: the business meets its bills only out of the next receipts (資金繰りの逼迫)."),
            Threshold("min_months", 2, "One thin month-end can be timing; a repeat means there is no cash cushion."),
        ),
        lookback=lambda t: _REFERENCE_LAG + t["window_months"],
    ),
    Indicator(
        id="acc_failed_debits",
        ja="口座振替不能",
        en="Failed direct debits",
        family=Family.ACCOUNTS,
        feeds=_FEEDS,
        definition="Number of direct debits that failed for lack of funds (振替不能) on the business's accounts in "
        "the last `window_months` months up to its most recent month received by T (any account; a failed debit "
        "is a fact even if another bank's month is not in yet). Fires when it is at least `min_count`. The feed "
        "does not say what was debited, so a failed tax, social-insurance or loan debit cannot be told apart from a "
        "utility bill: one indicator, severity high.",
        unit="debits",
        severity=Severity.HIGH,
        thresholds=(
            Threshold("window_months", 3, "A failed debit is retried or settled within weeks; after a quarter "
                      "without another it says little about today's liquidity.", reaches_back=True),
            Threshold("min_count", 2, "One 振替不能 in a quarter is often a timing slip (a transfer made a day "
                      "late); a second within three months means the account is repeatedly short of cash."),
        ),
        lookback=lambda t: _REFERENCE_LAG + t["window_months"],  # from the latest month, not older than the reference month
    ),
    Indicator(
        id="acc_payroll_decline_yoy",
        ja="給与振込の減少（前年同月比）",
        en="Payroll down year on year",
        family=Family.ACCOUNTS,
        feeds=_FEEDS,
        definition="Change, in percent, of payroll paid (給与振込額) over the last 3 months up to the reference month "
        "against the same calendar months a year earlier, over the month pairs where both months are complete and "
        "report payroll. Fires when the change is at most `max_change_pct`. Unavailable with fewer than 2 such "
        "pairs, or when no payroll was paid from the accounts in the year-earlier months.",
        unit="%",
        severity=Severity.MEDIUM,
        thresholds=(
            Threshold("max_change_pct", -30, "Bonus timing moves payroll by a month, not by a third season "
                      "on season; a cut of 30% means staff leaving or wages unpaid (従業員の減少・給与遅配)."),
        ),
        lookback=lambda t: _REFERENCE_LAG + 3 + 12,  # the last 3 months and a year before them
    ),
    Indicator(
        id="acc_payroll_stopped",
        ja="給与振込の停止",
        en="Payroll stopped",
        family=Family.ACCOUNTS,
        feeds=_FEEDS,
        definition="Number of complete months among the last 3 up to the reference month with no payroll paid "
        "(給与振込額 = 0), not counting a month whose following month, where received, paid at least "
        "`catch_up_ratio` times the regular payroll (a payday slipped into the next month and was made up). Fires "
        "when it is at least 1 and the business paid payroll in each of the `regular_months` months before the "
        "last 3 (all complete). Unavailable when none of the last 3 months is complete with payroll reported, or "
        "the business paid no payroll from these accounts in the last 3 + `regular_months` months (nothing to stop).",
        unit="months",
        severity=Severity.HIGH,
        thresholds=(
            Threshold("regular_months", 6, "Six straight months of payroll show an employer paying through "
                      "these accounts; a gap after that is wages unpaid or moved elsewhere, not a seasonal "
                      "business.", reaches_back=True),
            Threshold("catch_up_ratio", 1.5, "A payday falling on a weekend or holiday at month end shows as "
                      "one empty month and a double one; a following month under 1.5x the usual payroll means "
                      "the wages were not made up (給与遅配・未払い)."),
        ),
        lookback=lambda t: _REFERENCE_LAG + 3 + t["regular_months"],
    ),
    Indicator(
        id="acc_tax_stopped",
        ja="納税の停止",
        en="Tax payments stopped",
        family=Family.ACCOUNTS,
        feeds=_FEEDS,
        definition="Months from the last tax payment (納税額 > 0) to the reference month. Fires when nothing was paid "
        "in the last `quiet_months` months up to the reference month (or in any later month already received) "
        "while tax was paid in at least `min_paid_months` of the `lookback_months` months before them. "
        "Unavailable unless all of the last `quiet_months` months are complete and report tax, or when the business "
        "paid no tax from these accounts in the `quiet_months` + `lookback_months` months (it pays elsewhere).",
        unit="months",
        severity=Severity.HIGH,
        thresholds=(
            Threshold("quiet_months", 4, "Withholding tax (源泉所得税) is due monthly, or twice a year under "
                      "納期の特例, and consumption/corporate tax interim payments fall within any 4-6 months; "
                      "a regular payer silent for 4 months is falling into arrears (税金滞納).", reaches_back=True),
            Threshold("lookback_months", 12, "One year covers every tax calendar once (annual 確定申告 and "
                      "中間納付), so the paying habit is judged without seasonality.", reaches_back=True),
            Threshold("min_paid_months", 3, "Paying in 3 or more months a year marks a business that pays its "
                      "periodic taxes through these accounts; an annual-only payer cannot be judged by a 4-month gap."),
        ),
        lookback=lambda t: _REFERENCE_LAG + t["quiet_months"] + t["lookback_months"],
    ),
    Indicator(
        id="acc_social_insurance_stopped",
        ja="社会保険料納付の停止",
        en="Social-insurance payments stopped",
        family=Family.ACCOUNTS,
        feeds=_FEEDS,
        definition="Months from the last social-insurance payment (社会保険料納付額 > 0) to the reference month. Fires "
        "when nothing was paid in the last `quiet_months` months up to the reference month (or in any later month "
        "already received) while it was paid in at least `min_paid_months` of the `lookback_months` months before "
        "them. Unavailable unless all of the last `quiet_months` months are complete and report social insurance, "
        "or when the business paid none from these accounts in the `quiet_months` + `lookback_months` months.",
        unit="months",
        severity=Severity.HIGH,
        thresholds=(
            Threshold("quiet_months", 2, "Social-insurance premiums (健康保険・厚生年金) are debited every month "
                      "(end of the following month); two missed months is arrears that the 年金事務所 will "
                      "pursue, often ahead of tax.", reaches_back=True),
            Threshold("lookback_months", 12, "A year of monthly premiums establishes the habit and covers the "
                      "annual 算定基礎 revision.", reaches_back=True),
            Threshold("min_paid_months", 10, "Premiums are due 12 times a year; 10 allows for a debit moved by "
                      "a holiday or a month not yet in, while excluding businesses that pay irregularly or elsewhere."),
        ),
        lookback=lambda t: _REFERENCE_LAG + t["quiet_months"] + t["lookback_months"],
    ),
)
