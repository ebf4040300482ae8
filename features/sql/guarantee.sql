-- Guarantee-association signals. Available only for businesses the association knows
-- (any guarantee, incident or subrogation row received by the as-of date): for others,
-- "no incident" would claim knowledge nobody has.
-- Every feed is read through the point-in-time layer (yocho/warehouse/pit.py): as of T each
-- record (a guarantee-month, an incident report, a subrogation) is its latest version received
-- by T, so a corrected report counts once, as corrected.
WITH known AS (
    SELECT business_key, as_of FROM pit_guarantees(1200)  -- yocho.warehouse.pit.ALL_HISTORY_MONTHS
    UNION SELECT business_key, as_of FROM pit_incidents(1200)
    UNION SELECT business_key, as_of FROM pit_subrogations(1200)
),
incidents AS (
    SELECT business_key, as_of, count(*) AS n,
           arg_max(incident_type, (occurred_on, incident_id)) AS latest_type, max(occurred_on) AS latest_on
    FROM pit_incidents($cga_incident_reported__window_months)
    GROUP BY ALL
),
subrogations AS (
    SELECT business_key, as_of, sum(amount_jpy) AS amount, max(requested_on) AS latest_on, count(*) AS n
    FROM pit_subrogations($cga_subrogation_requested__window_months)
    GROUP BY ALL
),
latest_status AS (
    -- each guarantee's most recent month within the window
    SELECT business_key, as_of, guarantee_id, month, status
    FROM pit_guarantees($cga_guarantee_adverse_status__recent_months)
    QUALIFY row_number() OVER (PARTITION BY institution_id, guarantee_id, as_of ORDER BY month DESC) = 1
),
adverse AS (
    SELECT business_key, as_of,
           count(*) FILTER (WHERE status IN ('delinquent', 'restructured')) AS n,
           -- in guarantee id order (list_sort over {order, item}: an ordered aggregate sorts group by group)
           list_transform(list_sort(list({'o': guarantee_id, 'v': guarantee_id || ':' || status})
               FILTER (WHERE status IN ('delinquent', 'restructured'))), e -> e.v) AS which,
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
