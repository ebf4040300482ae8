-- Loan repayment (返済状況). Every feed is read through the point-in-time layer
-- (yocho/warehouse/pit.py), where the rule is written once: as of T a record (a loan-month, an
-- account-month, a guarantee-month, a debtor classification) is its latest version received by
-- T. Loan months are read back as far as the longest window any indicator needs
-- ($lookback_months, catalog.family_lookback_months, from the indicators' declarations); a read
-- specific to one indicator (deposit inflows, guarantees, classifications) uses that
-- indicator's own window.
-- Evidence lists are put in order with list_sort over {'o': the order, 'v': the item} (then
-- list_transform back to the items), not list(... ORDER BY ...): DuckDB sorts each group of an
-- ordered aggregate on its own, several times slower over hundreds of thousands of groups.
WITH loan_rows AS (
    SELECT business_key, as_of, institution_id, loan_id, month,
           balance_jpy, scheduled_jpy, paid_jpy, days_past_due, restructured,
           coalesce(overdraft_limit_jpy, 0) AS od_limit, coalesce(overdraft_used_jpy, 0) AS od_used,
           CASE WHEN coalesce(overdraft_limit_jpy, 0) > 0
                THEN coalesce(overdraft_used_jpy, 0) / overdraft_limit_jpy END AS util
    FROM pit_loans($lookback_months)
),
loan_watched AS (
    -- the loans a month-on-month change is read of: restructured or an overdraft line in some
    -- month of the look-back (about a fifth of all loans; the window below is the family's
    -- costliest step, so it runs over these loans only)
    SELECT as_of, institution_id, loan_id
    FROM loan_rows
    GROUP BY ALL
    HAVING bool_or(restructured) OR bool_or(od_limit > 0)
),
loan_hist AS (
    -- month-on-month changes of the same loan: restructuring newly in force, overdraft use
    -- rising. Every month of a watched loan is here, so its previous month is its own.
    SELECT r.*,
           restructured AND NOT coalesce(lag(restructured) OVER w, true) AS newly_restructured,
           coalesce(util > lag(util) OVER w AND lag(month) OVER w = (month - INTERVAL 1 MONTH)::DATE, false) AS rose
    FROM loan_rows r
    SEMI JOIN loan_watched USING (as_of, institution_id, loan_id)
    WINDOW w AS (PARTITION BY as_of, institution_id, loan_id ORDER BY month)
),
loan_latest AS (
    -- each loan at its latest month (no month-on-month columns: those are read from loan_hist)
    SELECT * FROM loan_rows
    QUALIFY row_number() OVER (PARTITION BY as_of, institution_id, loan_id ORDER BY month DESC) = 1
),
-- days past due ---------------------------------------------------------------------------
dpd_spec AS (
    SELECT * FROM (VALUES
        ('rep_dpd_any', $rep_dpd_any__recent_months, $rep_dpd_any__min_days),
        ('rep_dpd_30', $rep_dpd_30__recent_months, $rep_dpd_30__min_days),
        ('rep_dpd_90', $rep_dpd_90__recent_months, $rep_dpd_90__min_days)
    ) s(indicator_id, recent_months, min_days)
),
dpd AS (
    SELECT l.business_key, l.as_of, s.indicator_id, s.min_days,
           max(l.days_past_due) AS days,
           list_transform(list_sort(list({'o': (-l.days_past_due, l.loan_id),
                'v': struct_pack(bank := l.institution_id, loan_id := l.loan_id, month := l.month,
                                 days_past_due := l.days_past_due)})
               FILTER (WHERE l.days_past_due >= s.min_days)), e -> e.v) AS loans
    FROM loan_latest l
    JOIN dpd_spec s ON l.month > l.as_of - to_months(s.recent_months::INTEGER)
    GROUP BY ALL
),
dpd_out AS (
    SELECT u.business_key, u.as_of, s.indicator_id, d.days IS NOT NULL AS available, d.days, d.loans,
           d.days >= s.min_days AS hit
    FROM universe u CROSS JOIN dpd_spec s
    LEFT JOIN dpd d ON d.business_key = u.business_key AND d.as_of = u.as_of AND d.indicator_id = s.indicator_id
),
-- partial payments ------------------------------------------------------------------------
partial_anchor AS (
    SELECT business_key, as_of, max(month) AS latest
    FROM loan_rows
    WHERE month > as_of - to_months($rep_partial_payment__recent_months::INTEGER)
    GROUP BY ALL
),
partial AS (
    SELECT r.business_key, r.as_of, p.latest,
           count(DISTINCT r.month) FILTER (WHERE r.paid_jpy < r.scheduled_jpy) AS months_short,
           list_sort(list_distinct(list(r.month) FILTER (WHERE r.paid_jpy < r.scheduled_jpy))) AS which_months,
           list_transform(list_sort(list({'o': (r.month, r.loan_id),
                'v': struct_pack(bank := r.institution_id, loan_id := r.loan_id, month := r.month,
                                 scheduled_jpy := r.scheduled_jpy, paid_jpy := r.paid_jpy)})
               FILTER (WHERE r.paid_jpy < r.scheduled_jpy)), e -> e.v) AS shortfalls
    FROM loan_rows r
    JOIN partial_anchor p USING (business_key, as_of)
    WHERE r.scheduled_jpy > 0
      AND r.month <= p.latest
      AND r.month > p.latest - to_months($rep_partial_payment__window_months::INTEGER)
    GROUP BY ALL
),
-- restructuring ---------------------------------------------------------------------------
restructured_current AS (
    SELECT business_key, as_of, count(*) FILTER (WHERE restructured) AS in_force
    FROM loan_latest
    WHERE month > as_of - to_months($rep_restructured__recent_months::INTEGER)
    GROUP BY ALL
),
restructured AS (
    -- read from the watched loans only: a loan never restructured adds nothing here
    SELECT business_key, as_of,
           count(DISTINCT institution_id || '/' || loan_id) FILTER (WHERE restructured) AS loans,
           list_sort(list_distinct(list(institution_id || ':' || loan_id) FILTER (WHERE restructured))) AS which,
           min(month) FILTER (WHERE restructured) AS first_month,
           max(month) FILTER (WHERE newly_restructured) AS newly_month
    FROM loan_hist
    WHERE month > as_of - to_months($rep_restructured__window_months::INTEGER)
    GROUP BY ALL
),
-- overdraft lines -------------------------------------------------------------------------
od_now AS (
    SELECT business_key, as_of, max(util) AS util,
           arg_max(struct_pack(bank := institution_id, loan_id := loan_id, month := month,
                               limit_jpy := od_limit, used_jpy := od_used),
                   -- ties (several lines fully drawn) resolved the same way every run
                   struct_pack(u := util, used := od_used, bank := institution_id, loan := loan_id)) AS line,
           count(*) AS lines
    FROM loan_latest
    WHERE od_limit > 0 AND month > as_of - to_months($rep_overdraft_near_limit__recent_months::INTEGER)
    GROUP BY ALL
),
od_lines AS (
    -- each overdraft line at its latest month, with the same line compare_months earlier and
    -- the number of month-on-month rises among its last rising_months months
    SELECT n.business_key, n.as_of, n.institution_id, n.loan_id, n.month, n.util, b.month AS base_month,
           b.util AS base_util, round(100 * (n.util - b.util), 1) AS rise_points,
           count(s.month) = $rep_overdraft_rising__rising_months
               AND 100 * (any_value(n.util) - any_value(st.util)) >= $rep_overdraft_rising__min_streak_points AS streak,
           any_value(st.month) AS streak_start_month, any_value(st.util) AS streak_start_util
    FROM loan_latest n
    JOIN loan_hist b
      ON b.as_of = n.as_of AND b.institution_id = n.institution_id AND b.loan_id = n.loan_id
     AND b.month = (n.month - to_months($rep_overdraft_rising__compare_months::INTEGER))::DATE
     AND b.od_limit > 0
    LEFT JOIN loan_hist s
      ON s.as_of = n.as_of AND s.institution_id = n.institution_id AND s.loan_id = n.loan_id AND s.rose
     AND s.month <= n.month AND s.month > n.month - to_months($rep_overdraft_rising__rising_months::INTEGER)
    LEFT JOIN loan_hist st
      ON st.as_of = n.as_of AND st.institution_id = n.institution_id AND st.loan_id = n.loan_id
     AND st.month = (n.month - to_months($rep_overdraft_rising__rising_months::INTEGER))::DATE
    WHERE n.od_limit > 0 AND n.month > n.as_of - to_months($rep_overdraft_rising__recent_months::INTEGER)
    GROUP BY ALL
),
od_rising AS (
    SELECT business_key, as_of, max(rise_points) AS rise_points,
           bool_or(rise_points >= $rep_overdraft_rising__min_rise_points OR streak) AS hit,
           list_transform(list_sort(list({'o': (-rise_points, loan_id),
                'v': struct_pack(bank := institution_id, loan_id := loan_id, month := month,
                                 utilisation := round(util, 4), base_month := base_month,
                                 base_utilisation := round(base_util, 4), rise_points := rise_points,
                                 rising_months_running := streak, streak_start_month := streak_start_month,
                                 streak_start_utilisation := round(streak_start_util, 4))})
               FILTER (WHERE rise_points >= $rep_overdraft_rising__min_rise_points OR streak)), e -> e.v) AS lines
    FROM od_lines
    GROUP BY ALL
),
-- borrowing up while receipts fall --------------------------------------------------------
loan_coverage AS (
    -- the months each bank reported (for any customer) by the as-of date
    SELECT DISTINCT as_of, institution_id, month FROM loan_rows
),
bank_latest AS (
    SELECT as_of, institution_id, max(month) AS latest
    FROM loan_coverage
    WHERE month > as_of - to_months($rep_borrowing_up_inflow_down__recent_months::INTEGER)
    GROUP BY ALL
),
bal_anchor AS (
    -- per business and bank: its latest month there, or the bank's latest month when the
    -- business's loans at that bank stopped reporting (balance 0 now)
    SELECT p.business_key, p.as_of, p.institution_id, p.own_latest, coalesce(p.own_latest, bl.latest) AS now_month,
           (coalesce(p.own_latest, bl.latest) - to_months($rep_borrowing_up_inflow_down__compare_months::INTEGER))::DATE
               AS base_month
    FROM (
        SELECT business_key, as_of, institution_id,
               max(month) FILTER (WHERE month > as_of - to_months($rep_borrowing_up_inflow_down__recent_months::INTEGER))
                   AS own_latest
        FROM loan_rows GROUP BY ALL
    ) p
    JOIN bank_latest bl USING (as_of, institution_id)
),
bank_month_balance AS (
    SELECT business_key, as_of, institution_id, month, sum(balance_jpy) AS balance_jpy
    FROM loan_rows GROUP BY ALL
),
bal_bank AS (
    SELECT a.business_key, a.as_of, a.institution_id, a.own_latest, a.now_month, a.base_month,
           coalesce(n.balance_jpy, 0) AS now_jpy, coalesce(b.balance_jpy, 0) AS base_jpy
    FROM bal_anchor a
    JOIN loan_coverage c ON c.as_of = a.as_of AND c.institution_id = a.institution_id AND c.month = a.base_month
    LEFT JOIN bank_month_balance n
      ON n.business_key = a.business_key AND n.as_of = a.as_of AND n.institution_id = a.institution_id
     AND n.month = a.now_month
    LEFT JOIN bank_month_balance b
      ON b.business_key = a.business_key AND b.as_of = a.as_of AND b.institution_id = a.institution_id
     AND b.month = a.base_month
),
bal AS (
    SELECT business_key, as_of, sum(now_jpy) AS now_jpy, sum(base_jpy) AS base_jpy,
           max(now_month) AS now_month, max(base_month) AS base_month
    FROM bal_bank GROUP BY ALL
    HAVING bool_or(own_latest IS NOT NULL)   -- a current borrower somewhere
),
account_rows AS (
    -- deposit inflows: the latest inflow_months at each bank and the same months a year earlier
    SELECT business_key, as_of, institution_id, month, inflow_jpy
    FROM pit_accounts(
        $rep_borrowing_up_inflow_down__recent_months + $rep_borrowing_up_inflow_down__inflow_months + 12)
),
inflow_anchor AS (
    SELECT business_key, as_of, institution_id, max(month) AS latest
    FROM account_rows
    WHERE month > as_of - to_months($rep_borrowing_up_inflow_down__recent_months::INTEGER)
    GROUP BY ALL
),
inflow_bank AS (
    -- the latest inflow_months months at each bank against the same calendar months a year earlier
    SELECT i.business_key, i.as_of, i.institution_id, i.latest,
           sum(r.inflow_jpy) FILTER (WHERE r.month > i.latest - to_months($rep_borrowing_up_inflow_down__inflow_months::INTEGER))
               AS now_jpy,
           sum(r.inflow_jpy) FILTER (WHERE r.month <= i.latest - INTERVAL 12 MONTH) AS base_jpy,
           count(*) FILTER (WHERE r.month > i.latest - to_months($rep_borrowing_up_inflow_down__inflow_months::INTEGER))
               AS now_n,
           count(*) FILTER (WHERE r.month <= i.latest - INTERVAL 12 MONTH) AS base_n
    FROM inflow_anchor i
    JOIN account_rows r
      ON r.business_key = i.business_key AND r.as_of = i.as_of AND r.institution_id = i.institution_id
     AND (r.month > i.latest - to_months($rep_borrowing_up_inflow_down__inflow_months::INTEGER)
          OR (r.month <= i.latest - INTERVAL 12 MONTH
              AND r.month > i.latest - INTERVAL 12 MONTH
                            - to_months($rep_borrowing_up_inflow_down__inflow_months::INTEGER)))
    GROUP BY ALL
),
inflow AS (
    SELECT business_key, as_of, sum(now_jpy) AS now_jpy, sum(base_jpy) AS base_jpy, max(latest) AS latest
    FROM inflow_bank
    WHERE now_n = $rep_borrowing_up_inflow_down__inflow_months AND base_n = $rep_borrowing_up_inflow_down__inflow_months
    GROUP BY ALL
),
borrowing AS (
    SELECT b.business_key, b.as_of, b.now_jpy AS balance_jpy, b.base_jpy AS balance_year_ago_jpy,
           b.now_month, b.base_month,
           b.now_jpy / b.base_jpy - 1 AS growth,
           i.now_jpy AS inflow_jpy, i.base_jpy AS inflow_year_ago_jpy, i.latest AS inflow_latest_month,
           i.now_jpy / i.base_jpy - 1 AS inflow_change
    FROM bal b JOIN inflow i USING (business_key, as_of)
    WHERE b.base_jpy > 0 AND i.base_jpy > 0
),
-- lenders ---------------------------------------------------------------------------------
guarantee_rows AS (
    SELECT business_key, as_of, institution_id, guarantee_id, month, lender_bank_code,
           balance_jpy > 0 AND status NOT IN ('repaid', 'subrogated') AS active
    FROM pit_guarantees($rep_more_lenders__recent_months + $rep_more_lenders__compare_months)
),
credit_rows AS (
    -- every loan and guarantee month in either window, tagged with its window
    SELECT business_key, as_of, 'loan:' || institution_id || ':' || loan_id AS credit, month,
           replace(institution_id, 'bank_', '') AS lender, balance_jpy > 0 OR od_limit > 0 AS active
    FROM loan_rows
    UNION ALL
    SELECT business_key, as_of, 'guarantee:' || institution_id || ':' || guarantee_id, month, lender_bank_code, active
    FROM guarantee_rows
),
credit_latest AS (
    -- each credit at its latest month in each window (now, a year ago): an aggregate, which
    -- DuckDB runs in one hash table, rather than a row_number() window sorting every row
    SELECT business_key, as_of, credit, is_now,
           arg_max({'lender': lender, 'active': active}, month) AS latest
    FROM (
        SELECT *, month > as_of - to_months($rep_more_lenders__recent_months::INTEGER) AS is_now
        FROM credit_rows
        WHERE month > as_of - to_months($rep_more_lenders__recent_months::INTEGER)
           OR (month <= as_of - to_months($rep_more_lenders__compare_months::INTEGER)
               AND month > as_of - to_months(($rep_more_lenders__compare_months + $rep_more_lenders__recent_months)::INTEGER))
    )
    GROUP BY ALL
),
lenders AS (
    SELECT business_key, as_of,
           coalesce(list_sort(list_distinct(list(latest.lender) FILTER (WHERE is_now AND latest.active))), [])
               AS now_lenders,
           coalesce(list_sort(list_distinct(list(latest.lender) FILTER (WHERE NOT is_now AND latest.active))), [])
               AS then_lenders
    FROM credit_latest
    GROUP BY ALL
    HAVING bool_or(is_now) AND bool_or(NOT is_now)
),
-- bank debtor classification --------------------------------------------------------------
-- A classification is the record (institution, local_id, classified_on). A bank's view of the
-- business is its classification with the latest 判定日 made by T within max_age_months; where
-- it holds the business under several local ids and classified them on the same day, the one
-- preferred by pit_preference (the latest received), as in cross_institution.sql. The worst
-- across banks is the highest rank, then the latest 判定日, then pit_preference again.
classification AS (
    SELECT business_key, as_of, institution_id, classified_on, debtor_class, received_on,
           CASE debtor_class WHEN 'normal' THEN 0 WHEN 'watch' THEN 1 WHEN 'special_attention' THEN 2
                WHEN 'doubtful' THEN 3 WHEN 'de_facto_bankrupt' THEN 4 WHEN 'bankrupt' THEN 5 END AS rank
    FROM pit_classifications($rep_bank_class_watch__max_age_months)
    WHERE classified_on <= as_of
    QUALIFY row_number() OVER (
        PARTITION BY institution_id, business_key, as_of
        ORDER BY classified_on DESC, pit_preference(received_on, institution_id), local_id) = 1
),
classes AS (
    SELECT business_key, as_of, max(rank) AS rank,
           first(struct_pack(bank := institution_id, debtor_class := debtor_class, classified_on := classified_on)
                 ORDER BY rank DESC, classified_on DESC, pit_preference(received_on, institution_id)) AS worst,
           list_sort(list(struct_pack(bank := institution_id, debtor_class := debtor_class,
                                      classified_on := classified_on))) AS banks  -- one per bank: in bank order
    FROM classification GROUP BY ALL
),
-- one row per universe row per indicator --------------------------------------------------
base AS (
    SELECT u.business_key, u.as_of,
           p.latest AS partial_latest, p.months_short, p.which_months, p.shortfalls,
           rc.in_force IS NOT NULL AS restructured_available, r.loans AS restructured_loans,
           r.which AS restructured_which, r.first_month AS restructured_first, r.newly_month, rc.in_force,
           o.util, o.line AS od_line, o.lines AS od_lines,
           orr.rise_points, orr.hit AS od_rising_hit, orr.lines AS od_rising_lines,
           bw.business_key IS NOT NULL AS borrowing_available, bw.growth, bw.balance_jpy, bw.balance_year_ago_jpy,
           bw.now_month AS balance_month, bw.base_month AS balance_base_month, bw.inflow_jpy, bw.inflow_year_ago_jpy,
           bw.inflow_change, bw.inflow_latest_month,
           ln.business_key IS NOT NULL AS lenders_available, ln.now_lenders, ln.then_lenders,
           len(ln.now_lenders) - len(ln.then_lenders) AS lender_increase,
           cl.rank AS class_rank, cl.worst AS class_worst, cl.banks AS class_banks
    FROM universe u
    LEFT JOIN partial p USING (business_key, as_of)
    LEFT JOIN restructured_current rc USING (business_key, as_of)
    LEFT JOIN restructured r USING (business_key, as_of)
    LEFT JOIN od_now o USING (business_key, as_of)
    LEFT JOIN od_rising orr USING (business_key, as_of)
    LEFT JOIN borrowing bw USING (business_key, as_of)
    LEFT JOIN lenders ln USING (business_key, as_of)
    LEFT JOIN classes cl USING (business_key, as_of)
)
SELECT business_key, as_of, indicator_id, days::DOUBLE AS value, available,
       CASE WHEN available THEN hit END AS fired,
       CASE WHEN hit THEN json_object('max_days_past_due', days, 'loans', loans)::VARCHAR END AS evidence
FROM dpd_out
UNION ALL
SELECT business_key, as_of, 'rep_partial_payment', months_short::DOUBLE, partial_latest IS NOT NULL,
       months_short >= $rep_partial_payment__min_months,
       CASE WHEN months_short >= $rep_partial_payment__min_months THEN
           json_object('months_short', months_short, 'months', which_months, 'latest_month', partial_latest,
                       'shortfalls', shortfalls)::VARCHAR END
FROM base
UNION ALL
SELECT business_key, as_of, 'rep_restructured',
       CASE WHEN restructured_available THEN coalesce(restructured_loans, 0) END::DOUBLE, restructured_available,
       CASE WHEN restructured_available THEN coalesce(restructured_loans, 0) >= 1 END,
       CASE WHEN restructured_available AND restructured_loans >= 1 THEN
           json_object('loans', restructured_which, 'in_force_at_latest_month', in_force,
                       'first_restructured_month_in_window', restructured_first,
                       'newly_restructured_month', newly_month)::VARCHAR END
FROM base
UNION ALL
SELECT business_key, as_of, 'rep_overdraft_near_limit', round(util, 4), util IS NOT NULL,
       util >= $rep_overdraft_near_limit__min_utilisation,
       CASE WHEN util >= $rep_overdraft_near_limit__min_utilisation THEN
           json_object('utilisation', round(util, 4), 'bank', od_line.bank, 'loan_id', od_line.loan_id,
                       'month', od_line.month, 'limit_jpy', od_line.limit_jpy, 'used_jpy', od_line.used_jpy,
                       'overdraft_lines', od_lines)::VARCHAR END
FROM base
UNION ALL
SELECT business_key, as_of, 'rep_overdraft_rising', rise_points, rise_points IS NOT NULL, od_rising_hit,
       CASE WHEN od_rising_hit THEN json_object('lines', od_rising_lines)::VARCHAR END
FROM base
UNION ALL
SELECT business_key, as_of, 'rep_borrowing_up_inflow_down',
       CASE WHEN borrowing_available THEN round(growth, 4) END, borrowing_available,
       CASE WHEN borrowing_available THEN
           growth >= $rep_borrowing_up_inflow_down__min_balance_growth
           AND inflow_change <= -$rep_borrowing_up_inflow_down__min_inflow_decline END,
       CASE WHEN growth >= $rep_borrowing_up_inflow_down__min_balance_growth
                 AND inflow_change <= -$rep_borrowing_up_inflow_down__min_inflow_decline THEN
           json_object('balance_jpy', balance_jpy, 'balance_month', balance_month,
                       'balance_year_ago_jpy', balance_year_ago_jpy, 'balance_year_ago_month', balance_base_month,
                       'balance_growth', round(growth, 4),
                       'inflow_jpy', inflow_jpy, 'inflow_year_ago_jpy', inflow_year_ago_jpy,
                       'inflow_latest_month', inflow_latest_month, 'inflow_change', round(inflow_change, 4))::VARCHAR END
FROM base
UNION ALL
SELECT business_key, as_of, 'rep_more_lenders',
       CASE WHEN lenders_available THEN lender_increase END::DOUBLE, lenders_available,
       CASE WHEN lenders_available THEN
           lender_increase >= $rep_more_lenders__min_increase AND len(now_lenders) >= $rep_more_lenders__min_lenders END,
       CASE WHEN lender_increase >= $rep_more_lenders__min_increase AND len(now_lenders) >= $rep_more_lenders__min_lenders THEN
           json_object('lenders_now', now_lenders, 'lenders_year_ago', then_lenders, 'increase', lender_increase)::VARCHAR END
FROM base
UNION ALL
SELECT business_key, as_of, 'rep_bank_class_watch', class_rank::DOUBLE, class_rank IS NOT NULL,
       class_rank >= $rep_bank_class_watch__min_rank,
       CASE WHEN class_rank >= $rep_bank_class_watch__min_rank THEN
           json_object('worst_class', class_worst.debtor_class,
                       'worst_class_ja', CASE class_worst.debtor_class WHEN 'watch' THEN '要注意先'
                           WHEN 'special_attention' THEN '要管理先' WHEN 'doubtful' THEN '破綻懸念先'
                           WHEN 'de_facto_bankrupt' THEN '実質破綻先' WHEN 'bankrupt' THEN '破綻先' ELSE '正常先' END,
                       'bank', class_worst.bank,
                       'classified_on', class_worst.classified_on, 'banks', class_banks)::VARCHAR END
FROM base
