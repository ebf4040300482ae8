-- What routing needs to know about each flagged business as of $as_of (signals/routing.py):
--   fired               ids of every warning sign fired as of $as_of
--   class_rank          worst current bank debtor classification (rep_bank_class_watch's value:
--                       0 正常先, 1 要注意先, 2 要管理先, 3 破綻懸念先, 4 実質破綻先, 5 破綻先)
--   sales_change_pct    sales against a year earlier, in percent: the annual statement
--                       (fin_sales_decline_yoy), else the trial balance
--                       (fin_quarterly_sales_decline), else deposit-account inflows
--                       (acc_inflow_decline_yoy); NULL when none is available
--   operating_cf_jpy    operating cash flow proxy of the latest annual statement in force as of
--                       $as_of: operating profit + depreciation (NULL without operating profit)
--   legal_proceedings   an incident report of a legal filing (破産等申立) that occurred within
--                       $legal_months months before $as_of, or a reported 破綻・法的整理 event
--   event_types         deterioration events occurred and reported by $as_of (the events feed)
-- Feeds are read through the point-in-time layer (yocho/warehouse/pit.py): pit_<feed>_at gives
-- each record's version in force at $as_of (its latest version received by then), keyed by the
-- layer's business_identity; $history_months is its whole history (ALL_HISTORY_MONTHS). Where
-- different records say the same thing (two institutions' statements for one period), the one
-- read is the first in the layer's pit_preference order: the latest received, then the lowest
-- institution id -- the order the indicators use.
-- Inputs: sig_flagged(business_key), registered by the caller (signals/flags.py).
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
    -- the business's latest annual statement in force as of $as_of; of several institutions'
    -- statements for that period, the one pit_preference puts first
    SELECT s.business_key, s.period_end,
           s.operating_profit_jpy + coalesce(s.depreciation_jpy, 0) AS operating_cf_jpy
    FROM pit_financials_at($as_of, $history_months) s
    SEMI JOIN sig_flagged f ON f.business_key = s.business_key
    WHERE s.statement_type = 'annual' AND s.period_end <= $as_of AND s.operating_profit_jpy IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY s.business_key
        ORDER BY s.period_end DESC, pit_preference(s.received_on, s.institution_id), s.local_id) = 1
),
legal AS (
    SELECT DISTINCT i.business_key
    FROM pit_incidents_at($as_of, $legal_months) i
    SEMI JOIN sig_flagged f ON f.business_key = i.business_key
    WHERE i.incident_type = 'legal_filing' AND i.occurred_on <= $as_of
),
events AS (
    SELECT e.business_key, list(DISTINCT e.event_type ORDER BY e.event_type) AS event_types
    FROM pit_events_at($as_of, $history_months) e
    SEMI JOIN sig_flagged f ON f.business_key = e.business_key
    WHERE e.occurred_on <= $as_of
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
