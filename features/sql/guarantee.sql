-- Guarantee-association signals. Available only for businesses the association knows
-- (any guarantee, incident or subrogation row received by the as-of date): for others,
-- "no incident" would claim knowledge nobody has.
WITH known AS (
    SELECT DISTINCT k.business_key, a.as_of
    FROM (
        SELECT institution_id, local_id, received_on FROM raw_guarantees
        UNION ALL SELECT institution_id, local_id, received_on FROM raw_incidents
        UNION ALL SELECT institution_id, local_id, received_on FROM raw_subrogations
    ) r
    JOIN business_keys k USING (institution_id, local_id)
    JOIN as_of_dates a ON r.received_on <= a.as_of
),
incidents AS (
    SELECT k.business_key, a.as_of, count(*) AS n,
           arg_max(i.incident_type, (i.occurred_on, i.incident_id)) AS latest_type, max(i.occurred_on) AS latest_on
    FROM raw_incidents i
    JOIN business_keys k USING (institution_id, local_id)
    JOIN as_of_dates a
      ON i.received_on <= a.as_of
     AND i.occurred_on > a.as_of - to_months($cga_incident_reported__window_months::INTEGER)
    GROUP BY ALL
),
subrogations AS (
    SELECT k.business_key, a.as_of, sum(s.amount_jpy) AS amount,
           max(s.requested_on) AS latest_on, count(*) AS n
    FROM raw_subrogations s
    JOIN business_keys k USING (institution_id, local_id)
    JOIN as_of_dates a
      ON s.received_on <= a.as_of
     AND s.requested_on > a.as_of - to_months($cga_subrogation_requested__window_months::INTEGER)
    GROUP BY ALL
),
latest_status AS (
    -- the latest version received by T of each guarantee's most recent month
    SELECT k.business_key, a.as_of, g.guarantee_id, g.month, g.status
    FROM raw_guarantees g
    JOIN business_keys k USING (institution_id, local_id)
    JOIN as_of_dates a
      ON g.received_on <= a.as_of
     AND g.month > a.as_of - to_months($cga_guarantee_adverse_status__recent_months::INTEGER)
    QUALIFY row_number() OVER (
        PARTITION BY g.institution_id, g.guarantee_id, a.as_of ORDER BY g.month DESC, g.received_on DESC) = 1
),
adverse AS (
    SELECT business_key, as_of,
           count(*) FILTER (WHERE status IN ('delinquent', 'restructured')) AS n,
           list(guarantee_id || ':' || status ORDER BY guarantee_id)
               FILTER (WHERE status IN ('delinquent', 'restructured')) AS which,
           max(month) AS month
    FROM latest_status GROUP BY ALL
),
base AS (
    SELECT u.business_key, u.as_of, kn.business_key IS NOT NULL AS available,
           coalesce(i.n, 0) AS incidents, i.latest_type, i.latest_on AS incident_on,
           coalesce(s.amount, 0) AS subrogation_amount, s.latest_on AS subrogation_on, s.n AS subrogations,
           coalesce(ad.n, 0) AS adverse, ad.which AS adverse_which, ad.month AS adverse_month
    FROM universe u
    LEFT JOIN known kn USING (business_key, as_of)
    LEFT JOIN incidents i USING (business_key, as_of)
    LEFT JOIN subrogations s USING (business_key, as_of)
    LEFT JOIN adverse ad USING (business_key, as_of)
)
SELECT business_key, as_of, 'cga_incident_reported' AS indicator_id,
       CASE WHEN available THEN incidents END::DOUBLE AS value, available,
       CASE WHEN available THEN incidents >= $cga_incident_reported__min_count END AS fired,
       CASE WHEN available AND incidents >= $cga_incident_reported__min_count THEN
           json_object('reports', incidents, 'latest_type', latest_type, 'latest_on', incident_on)::VARCHAR END AS evidence
FROM base
UNION ALL
SELECT business_key, as_of, 'cga_subrogation_requested',
       CASE WHEN available THEN subrogation_amount END::DOUBLE, available,
       CASE WHEN available THEN subrogations IS NOT NULL END,
       CASE WHEN subrogations IS NOT NULL THEN
           json_object('amount_jpy', subrogation_amount, 'requests', subrogations, 'latest_requested_on', subrogation_on)::VARCHAR END
FROM base
UNION ALL
SELECT business_key, as_of, 'cga_guarantee_adverse_status',
       CASE WHEN available THEN adverse END::DOUBLE, available,
       CASE WHEN available THEN adverse > 0 END,
       CASE WHEN available AND adverse > 0 THEN
           json_object('guarantees', adverse_which, 'month', adverse_month)::VARCHAR END
FROM base
