-- Cross-institution signs (他機関での兆候). See features/cross_institution.py.
-- Written from the raw feeds directly. An institution knows the business by T when it sent any
-- row (any feed but the outcome labels) about it received by T; both indicators need two.
WITH known AS (
    SELECT business_key, institution_id, first_received FROM known_by  -- features/pit.py
),
knowers AS (
    SELECT kn.business_key, a.as_of, count(*) AS n, list(kn.institution_id ORDER BY kn.institution_id) AS institutions
    FROM known kn JOIN as_of_dates a ON kn.first_received <= a.as_of
    GROUP BY ALL
),
-- Each loan at its latest month within the recent window, latest version received by T.
loan_latest AS (
    SELECT k.business_key, a.as_of, l.institution_id, l.loan_id, l.month, l.days_past_due, l.restructured
    FROM raw_loans l
    JOIN business_keys k USING (institution_id, local_id)
    JOIN as_of_dates a
      ON l.received_on <= a.as_of
     AND l.month > a.as_of - to_months($x_adverse_at_multiple_institutions__recent_months::INTEGER)
    QUALIFY row_number() OVER (
        PARTITION BY l.institution_id, l.loan_id, a.as_of ORDER BY l.month DESC, l.received_on DESC) = 1
),
-- Each deposit-account month within the recent window, latest version received by T.
account_months AS (
    SELECT k.business_key, a.as_of, c.institution_id, c.month, c.failed_debits
    FROM raw_accounts c
    JOIN business_keys k USING (institution_id, local_id)
    JOIN as_of_dates a
      ON c.received_on <= a.as_of
     AND c.month > a.as_of - to_months($x_adverse_at_multiple_institutions__recent_months::INTEGER)
    QUALIFY row_number() OVER (
        PARTITION BY c.institution_id, c.local_id, c.month, a.as_of ORDER BY c.received_on DESC) = 1
),
-- An incident report version is in force until a later version of the same report arrives.
incident_versions AS (
    SELECT k.business_key, i.institution_id, i.incident_id, i.incident_type, i.occurred_on, i.lender_bank_code,
           i.received_on,
           lead(i.received_on) OVER (
               PARTITION BY i.institution_id, i.incident_id
               ORDER BY i.received_on, i.source_sha256, i.source_row) AS superseded_on
    FROM raw_incidents i
    JOIN business_keys k USING (institution_id, local_id)
),
guarantee_latest AS (
    SELECT k.business_key, a.as_of, g.institution_id, g.guarantee_id, g.month, g.status
    FROM raw_guarantees g
    JOIN business_keys k USING (institution_id, local_id)
    JOIN as_of_dates a
      ON g.received_on <= a.as_of
     AND g.month > a.as_of - to_months($x_adverse_at_multiple_institutions__recent_months::INTEGER)
    QUALIFY row_number() OVER (
        PARTITION BY g.institution_id, g.guarantee_id, a.as_of ORDER BY g.month DESC, g.received_on DESC) = 1
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
               || string_agg(strftime(month, '%Y-%m') || ' ' || failed_debits, ', ' ORDER BY month)
                      FILTER (WHERE failed_debits > 0) || ')'
    FROM account_months
    GROUP BY ALL
    HAVING sum(failed_debits) > 0
    UNION ALL
    SELECT v.business_key, a.as_of, v.institution_id,
           'incident ' || v.incident_type || ' on ' || strftime(v.occurred_on, '%Y-%m-%d')
               || ' (lender ' || v.lender_bank_code || ')'
    FROM incident_versions v
    JOIN as_of_dates a
      ON v.received_on <= a.as_of
     AND (v.superseded_on IS NULL OR v.superseded_on > a.as_of)
     AND v.occurred_on > a.as_of - to_months($x_adverse_at_multiple_institutions__incident_window_months::INTEGER)
    UNION ALL
    SELECT business_key, as_of, institution_id,
           'guarantee ' || guarantee_id || ' ' || status || ' (' || strftime(month, '%Y-%m') || ')'
    FROM guarantee_latest
    WHERE status IN ('delinquent', 'restructured', 'subrogated')
),
adverse AS (
    SELECT business_key, as_of, count(*) AS n,
           list(struct_pack(institution := institution_id, shows := shows) ORDER BY institution_id) AS detail
    FROM (SELECT business_key, as_of, institution_id, list(sign ORDER BY sign) AS shows FROM signs GROUP BY ALL)
    GROUP BY ALL
),
-- Each bank's latest classification of the business decided within max_age_months, latest
-- version received by T.
classes AS (
    SELECT k.business_key, a.as_of, c.institution_id, c.debtor_class, c.classified_on
    FROM raw_classifications c
    JOIN business_keys k USING (institution_id, local_id)
    JOIN as_of_dates a
      ON c.received_on <= a.as_of
     AND c.classified_on > a.as_of - to_months($x_watch_class_elsewhere__max_age_months::INTEGER)
    QUALIFY row_number() OVER (
        PARTITION BY c.institution_id, k.business_key, a.as_of ORDER BY c.classified_on DESC, c.received_on DESC) = 1
),
watch AS (
    SELECT business_key, as_of, count(*) AS classified,
           count(*) FILTER (WHERE debtor_class <> 'normal') AS n,
           list(institution_id ORDER BY institution_id) FILTER (WHERE debtor_class <> 'normal') AS banks,
           list(struct_pack(institution := institution_id, debtor_class := debtor_class,
                            ja := CASE debtor_class WHEN 'watch' THEN '要注意先' WHEN 'special_attention' THEN '要管理先'
                                    WHEN 'doubtful' THEN '破綻懸念先' WHEN 'de_facto_bankrupt' THEN '実質破綻先'
                                    WHEN 'bankrupt' THEN '破綻先' END,
                            classified_on := classified_on) ORDER BY institution_id)
               FILTER (WHERE debtor_class <> 'normal') AS detail
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
