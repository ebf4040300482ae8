"""Cross-institution signs (他機関での兆候): the same business showing trouble at more than one
institution, or at one institution while others also deal with it.

The business is the 法人番号 (`business_key`); an institution "knows" the business by T when it
has sent at least one row of any feed except `events` about it received by T. Sole
proprietors have no 法人番号 and are keyed per institution, so they are known to one
institution only and these indicators are unavailable for them. Both indicators are available
only when at least two institutions know the business by T.

Every feed is read through the point-in-time layer (yocho/warehouse/pit.py): as of T each
record is its latest version received by T -- a loan-month, an account-month, an incident
report (a corrected report counts once, as in the guarantee family), a guarantee-month, a
debtor classification (institution, local_id, classified_on). A bank's view of the business
is its classification with the latest 判定日; where it classified the business under several
local ids that day, the one preferred by `pit_preference` (the latest received).
"""
from features.catalog import Family, Indicator, Severity, Threshold

INDICATORS = (
    Indicator(
        id="x_adverse_at_multiple_institutions",
        ja="複数機関で返済異常",
        en="Adverse repayment signs at several institutions",
        family=Family.CROSS_INSTITUTION,
        feeds=("loans", "accounts", "guarantees", "incidents"),
        definition="Number of institutions at which the business shows an adverse repayment sign as of the as-of "
        "date, from what each institution itself sent, received by then (latest version of each row): a loan "
        "whose latest month within the last `recent_months` months is at least `dpd_days` days past due or "
        "restructured (条件変更); failed direct debits (振替不能) in its deposit-account months within the last "
        "`recent_months` months; an incident report (事故報告) that occurred in the last `incident_window_months` "
        "months; or a guarantee whose latest month within the last `recent_months` months is 延滞, 条件変更 or "
        "代位弁済済. Fires when at least `min_institutions` institutions show one. Available only when at least two "
        "institutions know the business by the as-of date. Note: a guaranteed loan in arrears at a bank is also "
        "reported to the association, so one lender's trouble can appear at two institutions; the evidence names "
        "the lender of each incident.",
        unit="institutions",
        severity=Severity.HIGH,
        thresholds=(
            Threshold("min_institutions", 2,
                      "Trouble at one lender can be a dispute or an administrative slip; the same business in "
                      "arrears at two institutions means a general shortage of cash that each lender alone "
                      "cannot see."),
            Threshold("dpd_days", 30,
                      "30 days is one whole missed monthly instalment, the point at which guaranteed loans are "
                      "reported to the association as 事故 (延滞): no longer a timing slip."),
            Threshold("recent_months", 3,
                      "Monthly rows arrive 2-3 weeks after month end, so the last two calendar months are "
                      "normally visible; older statuses describe a loan or account that has since moved on."),
            Threshold("incident_window_months", 12,
                      "An incident report older than a year has usually been resolved or escalated to "
                      "subrogation, which the guarantee status then shows."),
        ),
    ),
    Indicator(
        id="x_watch_class_elsewhere",
        ja="他行で要注意先以下",
        en="Classified watch or worse by a bank",
        family=Family.CROSS_INSTITUTION,
        feeds=("classifications",),
        definition="Number of banks whose latest debtor classification (債務者区分) of the business received by the "
        "as-of date, decided within the last `max_age_months` months, is 要注意先 or worse (要注意先, 要管理先, "
        "破綻懸念先, 実質破綻先, 破綻先). Fires when at least `min_banks` banks do and at least one other "
        "institution that knows the business does not classify it so (so that it learns of it here). Available "
        "only when at least two institutions know the business by the as-of date and at least one bank has such "
        "a current classification of it.",
        unit="banks",
        severity=Severity.MEDIUM,
        thresholds=(
            Threshold("min_banks", 1,
                      "One bank's 自己査定 placing the business 要注意先 or below already means that bank sees "
                      "weak performance or repayment doubts, which the other lenders and the association "
                      "should know."),
            Threshold("max_age_months", 12,
                      "Banks reclassify every borrower at least at each 自己査定 (半期/期末); a classification "
                      "not renewed for a year is stale and no longer the bank's view."),
        ),
    ),
)
