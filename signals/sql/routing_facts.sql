-- What routing needs to know about each flagged business as of $as_of (signals/routing.py):
--   fired               ids of every warning sign fired as of $as_of
--   class_rank          worst current bank debtor classification (rep_bank_class_watch's value:
--                       0 正常先, 1 要注意先, 2 要管理先, 3 破綻懸念先, 4 実質破綻先, 5 破綻先)
--   sales_change_pct    sales against a year earlier, in percent: the annual statement
--                       (fin_sales_decline_yoy), else the trial balance
--                       (fin_quarterly_sales_decline), else deposit-account inflows
--                       (acc_inflow_decline_yoy); NULL when none is available
--   operating_cf_jpy    operating cash flow proxy of the latest annual statement received by
--                       $as_of: operating profit + depreciation (NULL without operating profit)
--   legal_proceedings   an incident report of a legal filing (破産等申立) that occurred within
--                       $legal_months months before $as_of, or a reported 破綻・法的整理 event
--   event_types         deterioration events occurred and reported by $as_of (raw_events)
-- Inputs: sig_keys, sig_flagged(business_key). Only rows received by $as_of are read.
WITH signs AS (
    SELECT v.business_key,
           list(v.indicator_id ORDER BY v.indicator_id) FILTER (WHERE v.fired) AS fired,
           max(v.value) FILTER (WHERE v.indicator_id = 'rep_bank_class_watch') AS class_rank,
           coalesce(max(v.value) FILTER (WHERE v.indicator_id = 'fin_sales_decline_yoy'),
                    max(v.value) FILTER (WHERE v.indicator_id = 'fin_quarterly_sales_decline'),
                    max(v.value) FILTER (WHERE v.indicator_id = 'acc_inflow_decline_yoy')) AS sales_change_pct
    FROM indicator_values v
    SEMI JOIN sig_flagged f ON f.business_key = v.business_key
    WHERE v.as_of = $as_of
    GROUP BY ALL
),
statements AS (
    -- latest version received by $as_of of each annual statement, then the business's latest
    SELECT k.business_key, s.period_end,
           s.operating_profit_jpy + coalesce(s.depreciation_jpy, 0) AS operating_cf_jpy
    FROM raw_financials s
    JOIN sig_keys k USING (institution_id, local_id)
    SEMI JOIN sig_flagged f ON f.business_key = k.business_key
    WHERE s.statement_type = 'annual' AND s.received_on <= $as_of AND s.period_end <= $as_of
      AND s.operating_profit_jpy IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY k.business_key ORDER BY s.period_end DESC, s.received_on DESC, s.institution_id, s.source_row DESC) = 1
),
legal AS (
    SELECT DISTINCT k.business_key
    FROM raw_incidents i
    JOIN sig_keys k USING (institution_id, local_id)
    SEMI JOIN sig_flagged f ON f.business_key = k.business_key
    WHERE i.incident_type = 'legal_filing' AND i.received_on <= $as_of
      AND i.occurred_on <= $as_of AND i.occurred_on > $as_of - to_months($legal_months)
),
events AS (
    SELECT k.business_key, list(DISTINCT e.event_type ORDER BY e.event_type) AS event_types
    FROM raw_events e
    JOIN sig_keys k USING (institution_id, local_id)
    SEMI JOIN sig_flagged f ON f.business_key = k.business_key
    WHERE e.occurred_on <= $as_of AND e.received_on <= $as_of
    GROUP BY ALL
)
SELECT f.business_key,
       coalesce(s.fired, []::VARCHAR[]) AS fired,
       s.class_rank,
       s.sales_change_pct,
       st.operating_cf_jpy::DOUBLE AS operating_cf_jpy,
       l.business_key IS NOT NULL OR list_contains(coalesce(ev.event_types, []::VARCHAR[]), 'legal_bankruptcy')
           AS legal_proceedings,
       coalesce(ev.event_types, []::VARCHAR[]) AS event_types
FROM sig_flagged f
LEFT JOIN signs s USING (business_key)
LEFT JOIN statements st USING (business_key)
LEFT JOIN legal l USING (business_key)
LEFT JOIN events ev USING (business_key)
ORDER BY f.business_key
