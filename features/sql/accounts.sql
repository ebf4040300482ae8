-- Deposit-account activity. How accounts, complete months and the reference month are
-- defined is written out in features/accounts.py; in short: sums over the business's
-- accounts, only from months every live account has reported, windows ending at the latest
-- month all still-reporting accounts have delivered (k = months before that reference month).
-- Month lists are ordered with list_sort on items that begin with the month, not
-- list(... ORDER BY month): DuckDB sorts an ordered aggregate group by group, far slower over
-- every business. Months are kept as dates (structs) inside the aggregates and written out as
-- 'YYYY-MM' (or JSON) only for the few items listed: formatting every account-month first cost
-- more than the aggregates themselves.
WITH acct_rows AS (
    -- each account-month through the point-in-time layer (yocho/warehouse/pit.py: as of T its
    -- latest version received by T), as far back as any window reaches ($lookback_months,
    -- catalog.family_lookback_months, from the indicators' declarations)
    SELECT business_key, as_of, institution_id, local_id, month,
           inflow_jpy, outflow_jpy, month_end_balance_jpy, average_balance_jpy,
           payroll_jpy, tax_paid_jpy, social_insurance_paid_jpy, failed_debits
    FROM pit_accounts($lookback_months)
),
spans AS (
    -- each account's first and latest month received by T
    SELECT business_key, as_of, institution_id, local_id, min(month) AS first_m, max(month) AS last_m
    FROM acct_rows GROUP BY ALL
),
horizon AS (
    -- reference month: the smallest latest-month over the accounts still reporting (latest
    -- month no more than 2 months behind the business's most recent one)
    SELECT business_key, as_of, any_value(latest_m) AS latest_m,
           min(last_m) FILTER (WHERE last_m >= latest_m - INTERVAL 2 MONTH) AS ref_m
    FROM (SELECT *, max(last_m) OVER (PARTITION BY business_key, as_of) AS latest_m FROM spans)
    GROUP BY business_key, as_of
),
monthly AS (
    SELECT business_key, as_of, month, count(*) AS reported,
           sum(inflow_jpy) AS inflow, sum(outflow_jpy) AS outflow,
           sum(month_end_balance_jpy) AS end_balance, sum(average_balance_jpy) AS avg_balance,
           sum(payroll_jpy) AS payroll, sum(tax_paid_jpy) AS tax,
           sum(social_insurance_paid_jpy) AS si, sum(failed_debits) AS failed
    FROM acct_rows GROUP BY ALL
),
alive AS (
    -- accounts that should have reported each month (between their first and latest month)
    SELECT m.business_key, m.as_of, m.month, count(*) AS alive
    FROM monthly m
    JOIN spans s ON s.business_key = m.business_key AND s.as_of = m.as_of
                AND m.month BETWEEN s.first_m AND s.last_m
    GROUP BY ALL
),
months AS (
    SELECT m.*, h.ref_m, h.latest_m, date_diff('month', m.month, h.ref_m) AS k,
           m.reported = al.alive AND m.month <= h.ref_m AS complete
    FROM monthly m
    JOIN alive al USING (business_key, as_of, month)
    JOIN horizon h USING (business_key, as_of)
),
pay_zero AS (
    -- the last 3 complete months without payroll, each with the following month's payroll if
    -- received (a catch-up after a slipped payday). A join for these few months rather than a
    -- lead() window sorting every business's months.
    SELECT z.business_key, z.as_of, list_sort(list({'month': z.month, 'next_payroll': nx.payroll})) AS pay_zero_list
    FROM months z
    LEFT JOIN monthly nx
      ON nx.business_key = z.business_key AND nx.as_of = z.as_of AND nx.month = (z.month + INTERVAL 1 MONTH)::DATE
    WHERE z.complete AND z.k BETWEEN 0 AND 2 AND z.payroll = 0
    GROUP BY ALL
),
yoy AS (
    -- each of the last 3 months paired with the same calendar month a year earlier, both complete
    SELECT c.business_key, c.as_of,
           count(*) AS inflow_pairs, sum(c.inflow) AS inflow_now, sum(p.inflow) AS inflow_before,
           list_transform(list_sort(list(c.month)), m -> strftime(m, '%Y-%m')) AS inflow_months,
           count(*) FILTER (WHERE c.payroll IS NOT NULL AND p.payroll IS NOT NULL) AS payroll_pairs,
           sum(c.payroll) FILTER (WHERE c.payroll IS NOT NULL AND p.payroll IS NOT NULL) AS payroll_now,
           sum(p.payroll) FILTER (WHERE c.payroll IS NOT NULL AND p.payroll IS NOT NULL) AS payroll_before,
           list_transform(list_sort(list(c.month) FILTER (WHERE c.payroll IS NOT NULL AND p.payroll IS NOT NULL)),
                          m -> strftime(m, '%Y-%m')) AS payroll_months
    FROM months c
    JOIN months p ON p.business_key = c.business_key AND p.as_of = c.as_of AND p.k = c.k + 12
    WHERE c.k BETWEEN 0 AND 2 AND c.complete AND p.complete
    GROUP BY ALL
),
stats AS (
    SELECT business_key, as_of,
           -- balance trend: last 3 months vs the 3 before
           avg(avg_balance) FILTER (WHERE complete AND k BETWEEN 0 AND 2) AS bal_recent,
           count(*) FILTER (WHERE complete AND k BETWEEN 0 AND 2) AS bal_recent_n,
           list_transform(list_sort(list(month) FILTER (WHERE complete AND k BETWEEN 0 AND 2)),
                          m -> strftime(m, '%Y-%m')) AS bal_recent_months,
           avg(avg_balance) FILTER (WHERE complete AND k BETWEEN 3 AND 5) AS bal_earlier,
           count(*) FILTER (WHERE complete AND k BETWEEN 3 AND 5) AS bal_earlier_n,
           list_transform(list_sort(list(month) FILTER (WHERE complete AND k BETWEEN 3 AND 5)),
                          m -> strftime(m, '%Y-%m')) AS bal_earlier_months,
           -- month-end balance below a floor of the month's outflows
           count(*) FILTER (WHERE complete AND k BETWEEN 0 AND $acc_near_zero_months__window_months - 1) AS nz_seen,
           count(*) FILTER (WHERE complete AND k BETWEEN 0 AND $acc_near_zero_months__window_months - 1
                            AND end_balance < $acc_near_zero_months__floor_ratio * outflow) AS nz_months,
           list_transform(list_sort(list({'month': month, 'end_balance': end_balance, 'outflow': outflow})
               FILTER (WHERE complete AND k BETWEEN 0 AND $acc_near_zero_months__window_months - 1
                       AND end_balance < $acc_near_zero_months__floor_ratio * outflow)),
               x -> json_object('month', strftime(x.month, '%Y-%m'), 'month_end_balance_jpy', x.end_balance,
                                'outflow_jpy', x.outflow)) AS nz_which,
           -- failed debits up to the most recent month received (any account)
           sum(failed) FILTER (WHERE month > latest_m - to_months($acc_failed_debits__window_months::INTEGER)) AS failed,
           list_transform(list_sort(list({'month': month, 'failed': failed})
               FILTER (WHERE month > latest_m - to_months($acc_failed_debits__window_months::INTEGER) AND failed > 0)),
               x -> strftime(x.month, '%Y-%m') || ': ' || x.failed) AS failed_which,
           -- payroll stopping after regular payroll
           count(*) FILTER (WHERE complete AND k BETWEEN 0 AND 2 AND payroll IS NOT NULL) AS pay_seen,
           count(*) FILTER (WHERE complete AND k BETWEEN 3 AND 2 + $acc_payroll_stopped__regular_months
                            AND payroll > 0) AS pay_regular,
           avg(payroll) FILTER (WHERE complete AND k BETWEEN 3 AND 2 + $acc_payroll_stopped__regular_months
                                AND payroll > 0) AS pay_regular_avg,
           count(*) FILTER (WHERE k <= 2 + $acc_payroll_stopped__regular_months AND payroll > 0) AS pay_any,
           -- tax payments
           count(*) FILTER (WHERE complete AND k BETWEEN 0 AND $acc_tax_stopped__quiet_months - 1
                            AND tax IS NOT NULL) AS tax_quiet_seen,
           count(*) FILTER (WHERE k < $acc_tax_stopped__quiet_months AND tax > 0) AS tax_quiet_paid,
           count(*) FILTER (WHERE k >= $acc_tax_stopped__quiet_months
                            AND k < $acc_tax_stopped__quiet_months + $acc_tax_stopped__lookback_months
                            AND tax > 0) AS tax_before_paid,
           max(month) FILTER (WHERE k < $acc_tax_stopped__quiet_months + $acc_tax_stopped__lookback_months
                              AND tax > 0) AS tax_last_m,
           arg_max(tax, month) FILTER (WHERE k < $acc_tax_stopped__quiet_months + $acc_tax_stopped__lookback_months
                                       AND tax > 0) AS tax_last_jpy,
           -- social-insurance payments
           count(*) FILTER (WHERE complete AND k BETWEEN 0 AND $acc_social_insurance_stopped__quiet_months - 1
                            AND si IS NOT NULL) AS si_quiet_seen,
           count(*) FILTER (WHERE k < $acc_social_insurance_stopped__quiet_months AND si > 0) AS si_quiet_paid,
           count(*) FILTER (WHERE k >= $acc_social_insurance_stopped__quiet_months
                            AND k < $acc_social_insurance_stopped__quiet_months
                                    + $acc_social_insurance_stopped__lookback_months
                            AND si > 0) AS si_before_paid,
           max(month) FILTER (WHERE k < $acc_social_insurance_stopped__quiet_months
                                        + $acc_social_insurance_stopped__lookback_months AND si > 0) AS si_last_m,
           arg_max(si, month) FILTER (WHERE k < $acc_social_insurance_stopped__quiet_months
                                              + $acc_social_insurance_stopped__lookback_months AND si > 0) AS si_last_jpy
    FROM months GROUP BY business_key, as_of
),
base AS (
    SELECT u.business_key, u.as_of, h.ref_m,
           coalesce(h.ref_m >= date_trunc('month', u.as_of) - INTERVAL 3 MONTH, false) AS fresh,
           y.* EXCLUDE (business_key, as_of), s.* EXCLUDE (business_key, as_of), pz.pay_zero_list
    FROM universe u
    LEFT JOIN horizon h USING (business_key, as_of)
    LEFT JOIN yoy y USING (business_key, as_of)
    LEFT JOIN stats s USING (business_key, as_of)
    LEFT JOIN pay_zero pz USING (business_key, as_of)
),
measures AS (
    SELECT *,
           coalesce(fresh AND inflow_pairs >= 2 AND inflow_before > 0, false) AS inflow_ok,
           (inflow_now - inflow_before) * 100.0 / inflow_before AS inflow_pct,
           coalesce(fresh AND bal_recent_n >= 2 AND bal_earlier_n >= 2 AND bal_earlier > 0, false) AS bal_ok,
           (bal_recent - bal_earlier) * 100.0 / bal_earlier AS bal_pct,
           coalesce(fresh AND nz_seen >= 3, false) AS nz_ok,
           coalesce(fresh AND payroll_pairs >= 2 AND payroll_before > 0, false) AS payroll_ok,
           (payroll_now - payroll_before) * 100.0 / payroll_before AS payroll_pct,
           coalesce(fresh AND pay_seen >= 1 AND pay_any >= 1, false) AS stop_ok,
           -- months without payroll, leaving out a payday that slipped into the next month
           -- (the next month pays at least catch_up_ratio times the regular payroll)
           list_transform(list_filter(coalesce(pay_zero_list, []), lambda z: pay_regular_avg IS NULL
               OR coalesce(z.next_payroll, 0) < $acc_payroll_stopped__catch_up_ratio * pay_regular_avg), lambda z: strftime(z.month, '%Y-%m')) AS pay_zero_months,
           coalesce(fresh AND tax_quiet_seen = $acc_tax_stopped__quiet_months AND tax_last_m IS NOT NULL, false) AS tax_ok,
           coalesce(fresh AND si_quiet_seen = $acc_social_insurance_stopped__quiet_months AND si_last_m IS NOT NULL, false) AS si_ok
    FROM base
)
SELECT business_key, as_of, 'acc_inflow_decline_yoy' AS indicator_id,
       CASE WHEN inflow_ok THEN inflow_pct END::DOUBLE AS value, inflow_ok AS available,
       CASE WHEN inflow_ok THEN inflow_pct <= $acc_inflow_decline_yoy__max_change_pct END AS fired,
       CASE WHEN inflow_ok AND inflow_pct <= $acc_inflow_decline_yoy__max_change_pct THEN
           json_object('months', inflow_months, 'inflow_jpy', inflow_now,
                       'same_months_a_year_earlier_jpy', inflow_before, 'change_pct', round(inflow_pct, 1))::VARCHAR
       END AS evidence
FROM measures
UNION ALL
SELECT business_key, as_of, 'acc_balance_decline',
       CASE WHEN bal_ok THEN bal_pct END::DOUBLE, bal_ok,
       CASE WHEN bal_ok THEN bal_pct <= $acc_balance_decline__max_change_pct END,
       CASE WHEN bal_ok AND bal_pct <= $acc_balance_decline__max_change_pct THEN
           json_object('recent_months', bal_recent_months, 'recent_average_balance_jpy', round(bal_recent)::BIGINT,
                       'earlier_months', bal_earlier_months, 'earlier_average_balance_jpy', round(bal_earlier)::BIGINT,
                       'change_pct', round(bal_pct, 1))::VARCHAR
       END
FROM measures
UNION ALL
SELECT business_key, as_of, 'acc_near_zero_months',
       CASE WHEN nz_ok THEN nz_months END::DOUBLE, nz_ok,
       CASE WHEN nz_ok THEN nz_months >= $acc_near_zero_months__min_months END,
       CASE WHEN nz_ok AND nz_months >= $acc_near_zero_months__min_months THEN
           json_object('months', nz_which, 'complete_months_in_window', nz_seen,
                       'floor_ratio', $acc_near_zero_months__floor_ratio)::VARCHAR
       END
FROM measures
UNION ALL
SELECT business_key, as_of, 'acc_failed_debits',
       CASE WHEN fresh THEN coalesce(failed, 0) END::DOUBLE, fresh,
       CASE WHEN fresh THEN coalesce(failed, 0) >= $acc_failed_debits__min_count END,
       CASE WHEN fresh AND coalesce(failed, 0) >= $acc_failed_debits__min_count THEN
           json_object('failed_debits', failed, 'by_month', failed_which)::VARCHAR
       END
FROM measures
UNION ALL
SELECT business_key, as_of, 'acc_payroll_decline_yoy',
       CASE WHEN payroll_ok THEN payroll_pct END::DOUBLE, payroll_ok,
       CASE WHEN payroll_ok THEN payroll_pct <= $acc_payroll_decline_yoy__max_change_pct END,
       CASE WHEN payroll_ok AND payroll_pct <= $acc_payroll_decline_yoy__max_change_pct THEN
           json_object('months', payroll_months, 'payroll_jpy', payroll_now,
                       'same_months_a_year_earlier_jpy', payroll_before, 'change_pct', round(payroll_pct, 1))::VARCHAR
       END
FROM measures
UNION ALL
SELECT business_key, as_of, 'acc_payroll_stopped',
       CASE WHEN stop_ok THEN len(pay_zero_months) END::DOUBLE, stop_ok,
       CASE WHEN stop_ok THEN len(pay_zero_months) >= 1 AND pay_regular = $acc_payroll_stopped__regular_months END,
       CASE WHEN stop_ok AND len(pay_zero_months) >= 1 AND pay_regular = $acc_payroll_stopped__regular_months THEN
           json_object('months_without_payroll', pay_zero_months,
                       'regular_months_before', pay_regular,
                       'average_payroll_before_jpy', round(pay_regular_avg)::BIGINT)::VARCHAR
       END
FROM measures
UNION ALL
SELECT business_key, as_of, 'acc_tax_stopped',
       CASE WHEN tax_ok THEN greatest(0, date_diff('month', tax_last_m, ref_m)) END::DOUBLE, tax_ok,
       CASE WHEN tax_ok THEN tax_quiet_paid = 0 AND tax_before_paid >= $acc_tax_stopped__min_paid_months END,
       CASE WHEN tax_ok AND tax_quiet_paid = 0 AND tax_before_paid >= $acc_tax_stopped__min_paid_months THEN
           json_object('last_paid_month', strftime(tax_last_m, '%Y-%m'), 'last_paid_jpy', tax_last_jpy,
                       'reference_month', strftime(ref_m, '%Y-%m'),
                       'months_paid_in_lookback', tax_before_paid)::VARCHAR
       END
FROM measures
UNION ALL
SELECT business_key, as_of, 'acc_social_insurance_stopped',
       CASE WHEN si_ok THEN greatest(0, date_diff('month', si_last_m, ref_m)) END::DOUBLE, si_ok,
       CASE WHEN si_ok THEN si_quiet_paid = 0 AND si_before_paid >= $acc_social_insurance_stopped__min_paid_months END,
       CASE WHEN si_ok AND si_quiet_paid = 0 AND si_before_paid >= $acc_social_insurance_stopped__min_paid_months THEN
           json_object('last_paid_month', strftime(si_last_m, '%Y-%m'), 'last_paid_jpy', si_last_jpy,
                       'reference_month', strftime(ref_m, '%Y-%m'),
                       'months_paid_in_lookback', si_before_paid)::VARCHAR
       END
FROM measures
