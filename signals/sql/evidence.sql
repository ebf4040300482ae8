-- The evidence snapshot of every flagged business as of $as_of, built in one pass: one JSON
-- document per business (docs/signals.md, "Evidence snapshot"). Series cover the last
-- $series_months months up to $as_of, each month as its version in force as of $as_of: feeds are
-- read through the point-in-time layer's pit_<feed>_at (yocho/warehouse/pit.py), keyed by its
-- business_identity.
-- Inputs: sig_flagged(business_key), sig_catalog(indicator_id, name_ja, name_en), registered by
-- the caller (signals/evidence.py).
-- Lists are put in order with list_sort on a struct whose leading fields are the order (a
-- month, an institution, a sign's rank and id: unique within each list), not with
-- list(... ORDER BY ...), which DuckDB runs as a sort per group, many times slower here.
WITH names AS (
    -- the business's trade name (商号) as of $as_of: each institution's master record in its
    -- version in force then, and among institutions the one pit_preference puts first (the
    -- latest received, then the lowest institution_id), as features/sql/peers.sql reads the
    -- master; 1200 = yocho.warehouse.pit.ALL_HISTORY_MONTHS (the master has no time column)
    SELECT b.business_key, arg_min(b.name, pit_preference(b.received_on, b.institution_id)) AS name
    FROM pit_business_at($as_of, 1200) b
    SEMI JOIN sig_flagged f ON f.business_key = b.business_key
    WHERE b.name IS NOT NULL AND trim(b.name) <> ''
    GROUP BY ALL
),
prefectures AS (
    -- the business's prefecture (JIS X 0401 都道府県コード) as of $as_of, chosen across
    -- institutions' master records like the name: the referral goes to that prefecture's council
    -- (signals/queue/councils.py)
    SELECT b.business_key, arg_min(b.prefecture_code, pit_preference(b.received_on, b.institution_id)) AS code
    FROM pit_business_at($as_of, 1200) b
    SEMI JOIN sig_flagged f ON f.business_key = b.business_key
    WHERE b.prefecture_code BETWEEN 1 AND 47
    GROUP BY ALL
),
first_events AS (
    -- the business's first deterioration event (条件変更, 延滞90日以上, 代位弁済, 破綻・法的整理,
    -- 格下げ: the events feed, as models/sql/labels.sql reads it) that occurred by $as_of, as
    -- reported by $as_of; 1200 = ALL_HISTORY_MONTHS (every event ever occurred)
    SELECT e.business_key, min(e.occurred_on) AS occurred_on,
           arg_min(e.event_type, (e.occurred_on, e.event_id)) AS event_type
    FROM pit_events_at($as_of, 1200) e
    SEMI JOIN sig_flagged f ON f.business_key = e.business_key
    WHERE e.occurred_on <= $as_of
    GROUP BY ALL
),
loan_months AS (
    -- each loan-month in the window, as in force as of $as_of
    SELECT l.business_key, l.institution_id, l.month, l.balance_jpy, l.days_past_due
    FROM pit_loans_at($as_of, $series_months) l
    SEMI JOIN sig_flagged f ON f.business_key = l.business_key
    WHERE l.month <= $as_of AND l.month >= date_trunc('month', $as_of) - to_months($series_months - 1)
),
loans AS (
    SELECT business_key,
           list_sort(list({'month': month, 'value': balance})) AS loan_balance,
           list_sort(list({'month': month, 'value': dpd})) AS dpd
    FROM (SELECT business_key, month, sum(balance_jpy) AS balance, max(days_past_due) AS dpd
          FROM loan_months GROUP BY ALL)
    GROUP BY ALL
),
account_months AS (
    -- each account-month in the window, as in force as of $as_of
    SELECT a.business_key, a.institution_id, a.month, a.month_end_balance_jpy, a.inflow_jpy, a.failed_debits
    FROM pit_accounts_at($as_of, $series_months) a
    SEMI JOIN sig_flagged f ON f.business_key = a.business_key
    WHERE a.month <= $as_of AND a.month >= date_trunc('month', $as_of) - to_months($series_months - 1)
),
accounts AS (
    SELECT business_key,
           list_sort(list({'month': month, 'value': balance})) AS deposit_balance,
           list_sort(list({'month': month, 'value': inflow})) AS inflow,
           list_sort(list({'month': month, 'value': failed})) AS failed_debits
    FROM (SELECT business_key, month, sum(month_end_balance_jpy) AS balance, sum(inflow_jpy) AS inflow,
                 sum(failed_debits) AS failed
          FROM account_months GROUP BY ALL)
    GROUP BY ALL
),
-- The same series per reporting institution: a reviewer is shown its own institution's
-- figures only (signals/sharing.py), never the totals that would give away another's.
institution_loans AS (
    SELECT business_key, institution_id,
           list_sort(list({'month': month, 'value': balance})) AS loan_balance,
           list_sort(list({'month': month, 'value': dpd})) AS dpd
    FROM (SELECT business_key, institution_id, month, sum(balance_jpy) AS balance, max(days_past_due) AS dpd
          FROM loan_months GROUP BY ALL)
    GROUP BY ALL
),
institution_accounts AS (
    SELECT business_key, institution_id,
           list_sort(list({'month': month, 'value': balance})) AS deposit_balance,
           list_sort(list({'month': month, 'value': inflow})) AS inflow,
           list_sort(list({'month': month, 'value': failed})) AS failed_debits
    FROM (SELECT business_key, institution_id, month, sum(month_end_balance_jpy) AS balance,
                 sum(inflow_jpy) AS inflow, sum(failed_debits) AS failed
          FROM account_months GROUP BY ALL)
    GROUP BY ALL
),
by_institution AS (
    SELECT business_key,
           list_sort(list({'institution_id': institution_id,
                 'loan_balance_jpy': coalesce(l.loan_balance, []),
                 'max_days_past_due': coalesce(l.dpd, []),
                 'deposit_balance_jpy': coalesce(a.deposit_balance, []),
                 'inflow_jpy': coalesce(a.inflow, []),
                 'failed_debits': coalesce(a.failed_debits, [])})) AS series
    FROM institution_loans l
    FULL JOIN institution_accounts a USING (business_key, institution_id)
    GROUP BY ALL
),
scores AS (
    SELECT r.business_key, list_sort(list({'month': r.as_of, 'value': r.probability})) AS score
    FROM risk_scores r
    SEMI JOIN sig_flagged f ON f.business_key = r.business_key
    WHERE r.as_of <= $as_of AND r.as_of >= date_trunc('month', $as_of) - to_months($series_months - 1)
    GROUP BY ALL
),
sign_history AS (
    SELECT business_key, list_sort(list({'month': as_of, 'signs': signs})) AS sign_history
    FROM (
        SELECT v.business_key, v.as_of,
               coalesce(list_sort(list(v.indicator_id) FILTER (WHERE v.fired)), []::VARCHAR[]) AS signs
        FROM indicator_values v
        SEMI JOIN sig_flagged f ON f.business_key = v.business_key
        WHERE v.as_of <= $as_of AND v.as_of >= date_trunc('month', $as_of) - to_months($series_months - 1)
        GROUP BY ALL
    )
    GROUP BY ALL
),
signs AS (
    SELECT v.business_key,
           list_transform(list_sort(list({
                   'rank': CASE v.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
                   'indicator_id': v.indicator_id,
                   'sign': {'indicator_id': v.indicator_id, 'name_ja': c.name_ja, 'name_en': c.name_en,
                            'family': v.family, 'severity': v.severity, 'value': v.value,
                            'evidence': v.evidence::JSON}})), x -> x.sign) AS signs
    FROM indicator_values v
    SEMI JOIN sig_flagged f ON f.business_key = v.business_key
    LEFT JOIN sig_catalog c ON c.indicator_id = v.indicator_id
    WHERE v.as_of = $as_of AND v.fired
    GROUP BY ALL
)
SELECT f.business_key,
       to_json({
           'business_key': f.business_key,
           'business_name': nm.name,
           'prefecture_code': pf.code,
           'as_of': $as_of::DATE,
           'model_version': r.model_version,
           'probability': r.probability,
           'band': r.band,
           'portfolio_share': r.portfolio_share,
           'signs': coalesce(s.signs, []),
           'top_factors': r.top_factors::JSON,
           'series': {
               'loan_balance_jpy': coalesce(l.loan_balance, []),
               'max_days_past_due': coalesce(l.dpd, []),
               'deposit_balance_jpy': coalesce(a.deposit_balance, []),
               'inflow_jpy': coalesce(a.inflow, []),
               'failed_debits': coalesce(a.failed_debits, []),
               'score': coalesce(sc.score, [])
           },
           'series_by_institution': coalesce(bi.series, []),
           'sign_history': coalesce(h.sign_history, []),
           'deterioration': {'first_event_on': fe.occurred_on, 'first_event_type': fe.event_type}
       })::VARCHAR AS evidence
FROM sig_flagged f
JOIN risk_scores r ON r.business_key = f.business_key AND r.as_of = $as_of
LEFT JOIN signs s ON s.business_key = f.business_key
LEFT JOIN loans l ON l.business_key = f.business_key
LEFT JOIN accounts a ON a.business_key = f.business_key
LEFT JOIN scores sc ON sc.business_key = f.business_key
LEFT JOIN sign_history h ON h.business_key = f.business_key
LEFT JOIN by_institution bi ON bi.business_key = f.business_key
LEFT JOIN names nm ON nm.business_key = f.business_key
LEFT JOIN prefectures pf ON pf.business_key = f.business_key
LEFT JOIN first_events fe ON fe.business_key = f.business_key
ORDER BY f.business_key
