-- Financial statements. See features/financials.py for how statements are chosen.
-- Statements are read through the point-in-time layer (yocho/warehouse/pit.py): as of T each
-- statement (institution, local_id, type, period_end) is its latest version received by T.
WITH stmts AS (
    -- each statement once per business, type, period and as-of date: where several institutions
    -- (or several local ids) sent the same period, the one preferred by pit_preference (latest
    -- received, then lowest institution_id)
    SELECT f.business_key, f.as_of, f.statement_type, f.period_start, f.period_end, f.received_on,
           date_diff('month', f.period_start, f.period_end) + 1 AS months,
           date_diff('day', f.period_start, f.period_end) + 1 AS days,
           f.sales_jpy AS sales, f.operating_profit_jpy AS op, f.net_assets_jpy AS net_assets,
           f.total_assets_jpy AS total_assets, f.total_liabilities_jpy AS total_liabilities,
           f.current_assets_jpy AS current_assets, f.current_liabilities_jpy AS current_liabilities,
           f.short_term_borrowings_jpy AS short_b, f.long_term_borrowings_jpy AS long_b,
           CASE WHEN f.short_term_borrowings_jpy IS NOT NULL OR f.long_term_borrowings_jpy IS NOT NULL
                THEN coalesce(f.short_term_borrowings_jpy, 0) + coalesce(f.long_term_borrowings_jpy, 0) END AS borrowings,
           f.interest_expense_jpy AS interest, f.receivables_jpy AS receivables,
           f.inventory_jpy AS inventory, f.cash_jpy AS cash,
           -- 経常利益, with 営業利益 standing in where a statement does not show it
           coalesce(f.ordinary_profit_jpy, f.operating_profit_jpy) AS ordinary,
           f.net_income_jpy AS net_income, f.depreciation_jpy AS depreciation,
           f.retained_earnings_jpy AS retained
    FROM pit_financials(60) f  -- period_end within 5 years before T
    QUALIFY row_number() OVER (
        PARTITION BY f.business_key, f.as_of, f.statement_type, f.period_end
        ORDER BY pit_preference(f.received_on, f.institution_id), f.local_id) = 1
),
filed AS (
    -- what was ever submitted by T, however old (for the overdue check)
    SELECT f.business_key, f.as_of,
           max(f.period_end) FILTER (WHERE f.statement_type = 'annual') AS last_annual_end,
           max(f.received_on) FILTER (WHERE f.statement_type = 'annual') AS last_annual_received,
           min(f.period_start) FILTER (WHERE f.statement_type = 'quarterly') AS first_trial_start
    FROM pit_financials(1200) f  -- yocho.warehouse.pit.ALL_HISTORY_MONTHS
    GROUP BY ALL
),
ann AS (
    SELECT *, row_number() OVER (PARTITION BY business_key, as_of ORDER BY period_end DESC) AS rn
    FROM stmts WHERE statement_type = 'annual'
),
-- the latest four annual statements, each earlier one kept only when it is the fiscal
-- year just before the next (period_end 11 to 13 months earlier, same period length)
years AS (
    SELECT s1.business_key, s1.as_of,
           s1.period_end AS end1, s1.months AS months1, s1.days AS days1, s1.sales AS sales1, s1.op AS op1,
           s1.net_assets, s1.total_assets, s1.total_liabilities, s1.current_assets, s1.current_liabilities,
           s1.short_b, s1.long_b, s1.borrowings AS borrowings1, s1.interest,
           s1.receivables AS receivables1, s1.inventory AS inventory1, s1.cash AS cash1,
           s2.period_end AS end2, s2.months AS months2, s2.days AS days2, s2.sales AS sales2, s2.op AS op2,
           s2.borrowings AS borrowings2, s2.receivables AS receivables2, s2.inventory AS inventory2, s2.cash AS cash2,
           s1.ordinary AS ordinary1, s1.net_income AS net_income1, s1.depreciation AS depreciation1,
           s1.retained AS retained1,
           s2.net_assets AS net_assets2, s2.total_assets AS total_assets2, s2.current_assets AS current_assets2,
           s2.current_liabilities AS current_liabilities2, s2.ordinary AS ordinary2, s2.net_income AS net_income2,
           s2.depreciation AS depreciation2, s2.retained AS retained2,
           s3.period_end AS end3, s3.sales AS sales3, s3.op AS op3,
           s4.period_end AS end4, s4.sales AS sales4
    FROM ann s1
    LEFT JOIN ann s2 ON s2.business_key = s1.business_key AND s2.as_of = s1.as_of AND s2.rn = 2
         AND s2.period_end BETWEEN s1.period_end - INTERVAL 13 MONTH AND s1.period_end - INTERVAL 11 MONTH
         AND s2.months = s1.months
    LEFT JOIN ann s3 ON s3.business_key = s1.business_key AND s3.as_of = s1.as_of AND s3.rn = 3
         AND s3.period_end BETWEEN s2.period_end - INTERVAL 13 MONTH AND s2.period_end - INTERVAL 11 MONTH
         AND s3.months = s2.months
    LEFT JOIN ann s4 ON s4.business_key = s1.business_key AND s4.as_of = s1.as_of AND s4.rn = 4
         AND s4.period_end BETWEEN s3.period_end - INTERVAL 13 MONTH AND s3.period_end - INTERVAL 11 MONTH
         AND s4.months = s3.months
    WHERE s1.rn = 1
),
quarters AS (
    SELECT *, row_number() OVER (PARTITION BY business_key, as_of ORDER BY period_end DESC) AS rn
    FROM stmts WHERE statement_type = 'quarterly'
),
quarter_pair AS (
    -- the latest trial balance and the one for the same months of the previous fiscal year
    SELECT q1.business_key, q1.as_of, q1.period_start AS q_start, q1.period_end AS q_end, q1.sales AS q_sales,
           q0.period_start AS q_start0, q0.period_end AS q_end0, q0.sales AS q_sales0
    FROM quarters q1
    JOIN quarters q0 ON q0.business_key = q1.business_key AND q0.as_of = q1.as_of
         AND q0.period_end BETWEEN q1.period_end - INTERVAL 13 MONTH AND q1.period_end - INTERVAL 11 MONTH
         AND q0.months = q1.months
    WHERE q1.rn = 1
    QUALIFY row_number() OVER (PARTITION BY q1.business_key, q1.as_of ORDER BY q0.period_end DESC) = 1
),
m AS (
    SELECT u.business_key, u.as_of,
           fl.business_key IS NOT NULL AS any_statement, fl.last_annual_end, fl.last_annual_received, fl.first_trial_start,
           y.business_key IS NOT NULL AS has_annual,
           y.end2 IS NOT NULL AS has_previous,
           y.* EXCLUDE (business_key, as_of),
           qp.* EXCLUDE (business_key, as_of),
           -- year-on-year comparisons, NULL where the earlier year is not on file
           y.sales1 < y.sales2 AS down1, y.sales2 < y.sales3 AS down2, y.sales3 < y.sales4 AS down3,
           y.op1 < 0 AS loss1, y.op2 < 0 AS loss2, y.op3 < 0 AS loss3,
           CASE WHEN y.sales1 > 0 THEN y.borrowings1 / (y.sales1 / y.months1) END AS multiple1,
           CASE WHEN y.sales2 > 0 THEN y.borrowings2 / (y.sales2 / y.months2) END AS multiple2,
           CASE WHEN y.sales1 > 0 THEN y.receivables1 * y.days1 / y.sales1 END AS rec_days1,
           CASE WHEN y.sales2 > 0 THEN y.receivables2 * y.days2 / y.sales2 END AS rec_days2,
           CASE WHEN y.sales1 > 0 THEN y.inventory1 * y.days1 / y.sales1 END AS inv_days1,
           CASE WHEN y.sales2 > 0 THEN y.inventory2 * y.days2 / y.sales2 END AS inv_days2,
           -- measures (features/financials.py MEASURES): ratios of the latest and previous statement
           100.0 * y.net_assets / CASE WHEN y.total_assets > 0 THEN y.total_assets END AS equity1,
           100.0 * y.net_assets2 / CASE WHEN y.total_assets2 > 0 THEN y.total_assets2 END AS equity2,
           100.0 * y.ordinary1 / CASE WHEN y.total_assets > 0 THEN y.total_assets END AS roa1,
           100.0 * y.ordinary2 / CASE WHEN y.total_assets2 > 0 THEN y.total_assets2 END AS roa2,
           100.0 * y.net_income1 / CASE WHEN y.total_assets > 0 THEN y.total_assets END AS ni_assets1,
           100.0 * y.net_income2 / CASE WHEN y.total_assets2 > 0 THEN y.total_assets2 END AS ni_assets2,
           100.0 * y.op1 / CASE WHEN y.sales1 > 0 THEN y.sales1 END AS op_margin1,
           100.0 * y.op2 / CASE WHEN y.sales2 > 0 THEN y.sales2 END AS op_margin2,
           100.0 * y.retained1 / CASE WHEN y.total_assets > 0 THEN y.total_assets END AS retained_assets1,
           100.0 * y.retained2 / CASE WHEN y.total_assets2 > 0 THEN y.total_assets2 END AS retained_assets2,
           y.current_assets / CASE WHEN y.current_liabilities > 0 THEN y.current_liabilities END::DOUBLE AS current1,
           y.current_assets2 / CASE WHEN y.current_liabilities2 > 0 THEN y.current_liabilities2 END::DOUBLE AS current2,
           -- 債務償還年数: net borrowings over the simple cash flow (net income + depreciation), in
           -- years, 0 without net borrowings, capped at 50 (also where the cash flow is not positive:
           -- the debt cannot be repaid from operations at all)
           CASE WHEN y.borrowings1 IS NULL OR y.net_income1 IS NULL THEN NULL
                WHEN y.borrowings1 - coalesce(y.cash1, 0) <= 0 THEN 0.0
                WHEN y.net_income1 + coalesce(y.depreciation1, 0) <= 0 THEN 50.0
                ELSE least(50.0, (y.borrowings1 - coalesce(y.cash1, 0)) / (y.net_income1 + coalesce(y.depreciation1, 0)))
           END AS dsy1,
           CASE WHEN y.borrowings2 IS NULL OR y.net_income2 IS NULL THEN NULL
                WHEN y.borrowings2 - coalesce(y.cash2, 0) <= 0 THEN 0.0
                WHEN y.net_income2 + coalesce(y.depreciation2, 0) <= 0 THEN 50.0
                ELSE least(50.0, (y.borrowings2 - coalesce(y.cash2, 0)) / (y.net_income2 + coalesce(y.depreciation2, 0)))
           END AS dsy2,
           CASE WHEN y.total_assets > 0 THEN log10(y.total_assets) END AS log_assets1,
           CASE WHEN y.sales1 > 0 THEN log10(y.sales1 * 12.0 / y.months1) END AS log_sales1,
           100.0 * (y.total_assets - y.total_assets2) / CASE WHEN y.total_assets2 > 0 THEN y.total_assets2 END AS asset_growth,
           -- a business with trial balances only is measured from the end of the fiscal year before them
           coalesce(fl.last_annual_end, fl.first_trial_start - 1) AS overdue_since
    FROM universe u
    LEFT JOIN filed fl USING (business_key, as_of)
    LEFT JOIN years y USING (business_key, as_of)
    LEFT JOIN quarter_pair qp USING (business_key, as_of)
),
runs AS (
    -- runs of declines / losses ending with the latest year (up to 3); `open` when the run
    -- reaches back to a year not on file, so it may be longer than counted
    SELECT *,
           CASE WHEN down1 IS NULL THEN NULL WHEN NOT down1 THEN 0
                WHEN down2 IS NULL OR NOT down2 THEN 1
                WHEN down3 IS NULL OR NOT down3 THEN 2 ELSE 3 END AS declines,
           coalesce((down1 AND down2 IS NULL) OR (down1 AND down2 AND down3 IS NULL), false) AS declines_open,
           CASE WHEN loss1 IS NULL THEN NULL WHEN NOT loss1 THEN 0
                WHEN loss2 IS NULL OR NOT loss2 THEN 1
                WHEN loss3 IS NULL OR NOT loss3 THEN 2 ELSE 3 END AS losses,
           coalesce((loss1 AND loss2 IS NULL) OR (loss1 AND loss2 AND loss3 IS NULL), false) AS losses_open,
           date_diff('month', overdue_since, as_of) AS months_since
    FROM m
),
v AS (
    -- (indicator, available, value, hit, evidence) per business and date
    SELECT business_key, as_of, unnest([
        {'id': 'fin_sales_decline_yoy',
         'available': has_previous AND sales2 > 0,
         'value': 100.0 * (sales1 - sales2) / nullif(sales2, 0),
         'hit': 100.0 * (sales1 - sales2) / nullif(sales2, 0) <= $fin_sales_decline_yoy__max_change_pct,
         'evidence': json_object('period_end', end1, 'sales_jpy', sales1, 'previous_period_end', end2,
                                 'previous_sales_jpy', sales2,
                                 'change_pct', round(100.0 * (sales1 - sales2) / nullif(sales2, 0), 1))},
        {'id': 'fin_sales_decline_consecutive',
         'available': declines IS NOT NULL AND (NOT declines_open OR declines >= $fin_sales_decline_consecutive__min_years),
         'value': declines::DOUBLE,
         'hit': declines >= $fin_sales_decline_consecutive__min_years,
         'evidence': json_object('years_of_decline', declines,
                                 'period_ends', list_slice([end1, end2, end3, end4], 1, declines + 1),
                                 'sales_jpy', list_slice([sales1, sales2, sales3, sales4], 1, declines + 1))},
        {'id': 'fin_operating_loss',
         'available': op1 IS NOT NULL, 'value': op1::DOUBLE, 'hit': op1 < 0,
         'evidence': json_object('period_end', end1, 'operating_profit_jpy', op1, 'sales_jpy', sales1)},
        {'id': 'fin_consecutive_operating_losses',
         'available': losses IS NOT NULL AND (NOT losses_open OR losses >= $fin_consecutive_operating_losses__min_years),
         'value': losses::DOUBLE,
         'hit': losses >= $fin_consecutive_operating_losses__min_years,
         'evidence': json_object('years_of_loss', losses,
                                 'period_ends', list_slice([end1, end2, end3], 1, losses),
                                 'operating_profit_jpy', list_slice([op1, op2, op3], 1, losses))},
        {'id': 'fin_negative_net_assets',
         'available': net_assets IS NOT NULL, 'value': net_assets::DOUBLE, 'hit': net_assets < 0,
         'evidence': json_object('period_end', end1, 'net_assets_jpy', net_assets, 'total_assets_jpy', total_assets,
                                 'total_liabilities_jpy', total_liabilities)},
        {'id': 'fin_current_ratio_low',
         'available': current_assets IS NOT NULL AND current_liabilities > 0,
         'value': current_assets / nullif(current_liabilities, 0)::DOUBLE,
         'hit': current_assets / nullif(current_liabilities, 0)::DOUBLE < $fin_current_ratio_low__max_ratio,
         'evidence': json_object('period_end', end1, 'current_assets_jpy', current_assets,
                                 'current_liabilities_jpy', current_liabilities,
                                 'current_ratio', round(current_assets / nullif(current_liabilities, 0)::DOUBLE, 2))},
        {'id': 'fin_borrowings_to_monthly_sales',
         'available': multiple1 IS NOT NULL, 'value': multiple1,
         'hit': multiple1 > $fin_borrowings_to_monthly_sales__max_months,
         'evidence': json_object('period_end', end1, 'short_term_borrowings_jpy', short_b,
                                 'long_term_borrowings_jpy', long_b, 'sales_jpy', sales1,
                                 'monthly_sales_jpy', round(sales1 / months1), 'months_of_sales', round(multiple1, 2))},
        {'id': 'fin_borrowings_multiple_rising',
         'available': multiple1 IS NOT NULL AND multiple2 IS NOT NULL, 'value': multiple1 - multiple2,
         'hit': multiple1 - multiple2 >= $fin_borrowings_multiple_rising__min_rise_months,
         'evidence': json_object('period_end', end1, 'borrowings_jpy', borrowings1, 'sales_jpy', sales1,
                                 'months_of_sales', round(multiple1, 2),
                                 'previous_period_end', end2, 'previous_borrowings_jpy', borrowings2,
                                 'previous_sales_jpy', sales2, 'previous_months_of_sales', round(multiple2, 2))},
        {'id': 'fin_interest_coverage_low',
         'available': op1 IS NOT NULL AND interest IS NOT NULL,
         'value': op1 / nullif(interest, 0)::DOUBLE,
         'hit': op1 / nullif(interest, 0)::DOUBLE < $fin_interest_coverage_low__max_ratio,
         'evidence': json_object('period_end', end1, 'operating_profit_jpy', op1, 'interest_expense_jpy', interest,
                                 'interest_coverage', round(op1 / nullif(interest, 0)::DOUBLE, 2))},
        {'id': 'fin_receivable_days_up',
         'available': rec_days1 IS NOT NULL AND rec_days2 > 0,
         'value': 100.0 * (rec_days1 - rec_days2) / nullif(rec_days2, 0),
         'hit': 100.0 * (rec_days1 - rec_days2) / nullif(rec_days2, 0) >= $fin_receivable_days_up__min_change_pct
                AND rec_days1 - rec_days2 >= $fin_receivable_days_up__min_increase_days,
         'evidence': json_object('period_end', end1, 'receivables_jpy', receivables1, 'sales_jpy', sales1,
                                 'receivable_days', round(rec_days1, 1),
                                 'previous_period_end', end2, 'previous_receivables_jpy', receivables2,
                                 'previous_sales_jpy', sales2, 'previous_receivable_days', round(rec_days2, 1))},
        {'id': 'fin_inventory_days_up',
         'available': inv_days1 IS NOT NULL AND inv_days2 > 0,
         'value': 100.0 * (inv_days1 - inv_days2) / nullif(inv_days2, 0),
         'hit': 100.0 * (inv_days1 - inv_days2) / nullif(inv_days2, 0) >= $fin_inventory_days_up__min_change_pct
                AND inv_days1 - inv_days2 >= $fin_inventory_days_up__min_increase_days,
         'evidence': json_object('period_end', end1, 'inventory_jpy', inventory1, 'sales_jpy', sales1,
                                 'inventory_days', round(inv_days1, 1),
                                 'previous_period_end', end2, 'previous_inventory_jpy', inventory2,
                                 'previous_sales_jpy', sales2, 'previous_inventory_days', round(inv_days2, 1))},
        {'id': 'fin_cash_decline',
         'available': has_previous AND cash1 IS NOT NULL AND cash2 > 0,
         'value': 100.0 * (cash1 - cash2) / nullif(cash2, 0),
         'hit': 100.0 * (cash1 - cash2) / nullif(cash2, 0) <= $fin_cash_decline__max_change_pct,
         'evidence': json_object('period_end', end1, 'cash_jpy', cash1, 'previous_period_end', end2,
                                 'previous_cash_jpy', cash2)},
        {'id': 'fin_statements_overdue',
         'available': any_statement, 'value': months_since::DOUBLE,
         'hit': months_since > $fin_statements_overdue__max_months,
         'evidence': json_object('latest_annual_period_end', last_annual_end,
                                 'latest_annual_received_on', last_annual_received,
                                 'first_trial_balance_period_start',
                                 CASE WHEN last_annual_end IS NULL THEN first_trial_start END,
                                 'months_since', months_since)},
        {'id': 'fin_quarterly_sales_decline',
         'available': q_sales0 > 0 AND q_end > as_of - INTERVAL 12 MONTH AND (end1 IS NULL OR q_end > end1),
         'value': 100.0 * (q_sales - q_sales0) / nullif(q_sales0, 0),
         'hit': 100.0 * (q_sales - q_sales0) / nullif(q_sales0, 0) <= $fin_quarterly_sales_decline__max_change_pct,
         'evidence': json_object('period_start', q_start, 'period_end', q_end, 'sales_jpy', q_sales,
                                 'previous_period_start', q_start0, 'previous_period_end', q_end0,
                                 'previous_sales_jpy', q_sales0,
                                 'change_pct', round(100.0 * (q_sales - q_sales0) / nullif(q_sales0, 0), 1))},
        -- measures: no threshold, never fired (features/compute.py stores fired and evidence as NULL)
        {'id': 'fin_equity_ratio', 'available': equity1 IS NOT NULL, 'value': equity1, 'hit': NULL, 'evidence': NULL},
        {'id': 'fin_equity_ratio_change', 'available': has_previous AND equity1 IS NOT NULL AND equity2 IS NOT NULL,
         'value': equity1 - equity2, 'hit': NULL, 'evidence': NULL},
        {'id': 'fin_roa', 'available': roa1 IS NOT NULL, 'value': roa1, 'hit': NULL, 'evidence': NULL},
        {'id': 'fin_roa_change', 'available': has_previous AND roa1 IS NOT NULL AND roa2 IS NOT NULL,
         'value': roa1 - roa2, 'hit': NULL, 'evidence': NULL},
        {'id': 'fin_net_income_to_assets', 'available': ni_assets1 IS NOT NULL, 'value': ni_assets1, 'hit': NULL,
         'evidence': NULL},
        {'id': 'fin_net_income_to_assets_change',
         'available': has_previous AND ni_assets1 IS NOT NULL AND ni_assets2 IS NOT NULL,
         'value': ni_assets1 - ni_assets2, 'hit': NULL, 'evidence': NULL},
        {'id': 'fin_operating_margin', 'available': op_margin1 IS NOT NULL, 'value': op_margin1, 'hit': NULL,
         'evidence': NULL},
        {'id': 'fin_operating_margin_change',
         'available': has_previous AND op_margin1 IS NOT NULL AND op_margin2 IS NOT NULL,
         'value': op_margin1 - op_margin2, 'hit': NULL, 'evidence': NULL},
        {'id': 'fin_debt_service_years', 'available': dsy1 IS NOT NULL, 'value': dsy1, 'hit': NULL, 'evidence': NULL},
        {'id': 'fin_debt_service_years_change', 'available': has_previous AND dsy1 IS NOT NULL AND dsy2 IS NOT NULL,
         'value': dsy1 - dsy2, 'hit': NULL, 'evidence': NULL},
        {'id': 'fin_current_ratio_change', 'available': has_previous AND current1 IS NOT NULL AND current2 IS NOT NULL,
         'value': current1 - current2, 'hit': NULL, 'evidence': NULL},
        {'id': 'fin_retained_earnings_to_assets', 'available': retained_assets1 IS NOT NULL, 'value': retained_assets1,
         'hit': NULL, 'evidence': NULL},
        {'id': 'fin_retained_earnings_to_assets_change',
         'available': has_previous AND retained_assets1 IS NOT NULL AND retained_assets2 IS NOT NULL,
         'value': retained_assets1 - retained_assets2, 'hit': NULL, 'evidence': NULL},
        {'id': 'fin_log_total_assets', 'available': log_assets1 IS NOT NULL, 'value': log_assets1, 'hit': NULL,
         'evidence': NULL},
        {'id': 'fin_log_sales', 'available': log_sales1 IS NOT NULL, 'value': log_sales1, 'hit': NULL, 'evidence': NULL},
        {'id': 'fin_total_assets_growth', 'available': has_previous AND asset_growth IS NOT NULL,
         'value': asset_growth, 'hit': NULL, 'evidence': NULL}
    ]) AS i
    FROM runs
)
SELECT business_key, as_of, i.id AS indicator_id,
       CASE WHEN coalesce(i.available, false) THEN i.value END::DOUBLE AS value,
       coalesce(i.available, false) AS available,
       CASE WHEN coalesce(i.available, false) THEN coalesce(i.hit, false) END AS fired,
       -- the signs with an industry-relative threshold (features/peers.py decides them over
       -- the whole portfolio) keep their evidence on every available row: they may fire
       -- relative to their trade where the flat threshold did not
       CASE WHEN coalesce(i.available, false)
                 AND (i.hit OR i.id IN ('fin_borrowings_to_monthly_sales', 'fin_current_ratio_low',
                                        'fin_interest_coverage_low', 'fin_receivable_days_up',
                                        'fin_inventory_days_up'))
            THEN i.evidence::VARCHAR END AS evidence
FROM v
