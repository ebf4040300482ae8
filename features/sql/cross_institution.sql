-- Cross-institution signs (他機関での兆候). See features/cross_institution.py.
-- An institution knows the business by T when it sent any row (any feed but the outcome
-- labels) about it received by T; both indicators need two.
-- Lists are ordered with list_sort, on items whose leading field is the order (an institution,
-- a month), not with list(... ORDER BY ...), which DuckDB sorts group by group, far slower.
WITH known AS (
    SELECT business_key, institution_id, first_received FROM known_by  -- features/pit.py
),
knowers AS (
    SELECT kn.business_key, a.as_of, count(*) AS n, list_sort(list(kn.institution_id)) AS institutions
    FROM known kn JOIN as_of_dates a ON kn.first_received <= a.as_of
    GROUP BY ALL
),
-- Every feed is read through the point-in-time layer (yocho/warehouse/pit.py): as of T each
-- record (a loan-month, an account-month, an incident report, a guarantee-month, a
-- classification) is its latest version received by T.
-- Each loan at its latest month within the recent window.
loan_latest AS (
    SELECT business_key, as_of, institution_id, loan_id, month, days_past_due, restructured
    FROM pit_loans($x_adverse_at_multiple_institutions__recent_months)
    QUALIFY row_number() OVER (PARTITION BY institution_id, loan_id, as_of ORDER BY month DESC) = 1
),
-- Each deposit-account month within the recent window.
account_months AS (
    SELECT business_key, as_of, institution_id, month, failed_debits
    FROM pit_accounts($x_adverse_at_multiple_institutions__recent_months)
),
-- Each incident report that occurred within its window.
incidents AS (
    SELECT business_key, as_of, institution_id, incident_id, incident_type, occurred_on, lender_bank_code
    FROM pit_incidents($x_adverse_at_multiple_institutions__incident_window_months)
),
-- Each guarantee at its latest month within the recent window.
guarantee_latest AS (
    SELECT business_key, as_of, institution_id, guarantee_id, month, status
    FROM pit_guarantees($x_adverse_at_multiple_institutions__recent_months)
    QUALIFY row_number() OVER (PARTITION BY institution_id, guarantee_id, as_of ORDER BY month DESC) = 1
),
signs AS (
    SELECT business_key, as_of, institution_id,
           'loan ' || loan_id || ' (' || strftime(month, '%Y-%m') || '): ' || concat_ws(', ',
               CASE WHEN days_past_due >= $x_adverse_at_multiple_institutions__dpd_days
                    THEN days_past_due || ' days past due' END,
               CASE WHEN restructured THEN 'restructured' END) AS sign
    FROM loan_latest
    WHERE days_past_due >= $x_adverse_at_multiple_institutions__dpd_days OR restructured
    UNION ALL
    SELECT business_key, as_of, institution_id,
           'failed direct debits: ' || sum(failed_debits) || ' ('
               || array_to_string(list_sort(list(strftime(month, '%Y-%m') || ' ' || failed_debits)
                      FILTER (WHERE failed_debits > 0)), ', ') || ')'
    FROM account_months
    GROUP BY ALL
    HAVING sum(failed_debits) > 0
    UNION ALL
    SELECT business_key, as_of, institution_id,
           'incident ' || incident_type || ' on ' || strftime(occurred_on, '%Y-%m-%d')
               || ' (lender ' || lender_bank_code || ')'
    FROM incidents
    UNION ALL
    SELECT business_key, as_of, institution_id,
           'guarantee ' || guarantee_id || ' ' || status || ' (' || strftime(month, '%Y-%m') || ')'
    FROM guarantee_latest
    WHERE status IN ('delinquent', 'restructured', 'subrogated')
),
adverse AS (
    SELECT business_key, as_of, count(*) AS n,
           list_sort(list(struct_pack(institution := institution_id, shows := shows))) AS detail  -- one per institution
    FROM (SELECT business_key, as_of, institution_id, list_sort(list(sign)) AS shows FROM signs GROUP BY ALL)
    GROUP BY ALL
),
-- Each bank's latest classification of the business decided within max_age_months. A
-- classification is the record (institution, local_id, classified_on); where one bank holds the
-- business under several local ids and classified them on the same day, pit_preference picks.
classes AS (
    SELECT business_key, as_of, institution_id, debtor_class, classified_on
    FROM pit_classifications($x_watch_class_elsewhere__max_age_months)
    QUALIFY row_number() OVER (
        PARTITION BY institution_id, business_key, as_of
        ORDER BY classified_on DESC, pit_preference(received_on, institution_id), local_id) = 1
),
watch AS (
    SELECT business_key, as_of, count(*) AS classified,
           count(*) FILTER (WHERE debtor_class <> 'normal') AS n,
           list_sort(list(institution_id) FILTER (WHERE debtor_class <> 'normal')) AS banks,
           list_sort(list(struct_pack(institution := institution_id, debtor_class := debtor_class,
                            ja := CASE debtor_class WHEN 'watch' THEN '要注意先' WHEN 'special_attention' THEN '要管理先'
                                    WHEN 'doubtful' THEN '破綻懸念先' WHEN 'de_facto_bankrupt' THEN '実質破綻先'
                                    WHEN 'bankrupt' THEN '破綻先' END,
                            classified_on := classified_on))
               FILTER (WHERE debtor_class <> 'normal')) AS detail  -- one per bank: in bank order
    FROM classes
    GROUP BY ALL
),
base AS (
    SELECT u.business_key, u.as_of, coalesce(kn.n, 0) >= 2 AS multi, coalesce(kn.n, 0) AS known_n,
           kn.institutions, coalesce(ad.n, 0) AS adverse_n, ad.detail AS adverse_detail,
           w.classified, coalesce(w.n, 0) AS watch_n, w.banks AS watch_banks, w.detail AS watch_detail
    FROM universe u
    LEFT JOIN knowers kn USING (business_key, as_of)
    LEFT JOIN adverse ad USING (business_key, as_of)
    LEFT JOIN watch w USING (business_key, as_of)
)
SELECT business_key, as_of, 'x_adverse_at_multiple_institutions' AS indicator_id,
       CASE WHEN multi THEN adverse_n END::DOUBLE AS value,
       multi AS available,
       CASE WHEN multi THEN adverse_n >= $x_adverse_at_multiple_institutions__min_institutions END AS fired,
       CASE WHEN multi AND adverse_n >= $x_adverse_at_multiple_institutions__min_institutions THEN
           json_object('institutions', adverse_detail, 'known_institutions', institutions)::VARCHAR END AS evidence
FROM base
UNION ALL
SELECT business_key, as_of, 'x_watch_class_elsewhere',
       CASE WHEN multi AND classified > 0 THEN watch_n END::DOUBLE,
       multi AND coalesce(classified > 0, false),
       CASE WHEN multi AND classified > 0 THEN watch_n >= $x_watch_class_elsewhere__min_banks AND known_n > watch_n END,
       CASE WHEN multi AND classified > 0 AND watch_n >= $x_watch_class_elsewhere__min_banks AND known_n > watch_n THEN
           json_object('classified_by', watch_detail,
                       'other_institutions', list_filter(institutions, lambda i: NOT list_contains(watch_banks, i))
           )::VARCHAR END
FROM base
