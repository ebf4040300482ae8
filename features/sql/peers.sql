-- Industry-relative thresholds (features/peers.py), over every business of indicator_results.
-- Input: peer_rules(indicator_id, direction, relative, percentile, min_peers, cut_index),
-- business_keys (features/pit.py). $cuts is the list of quantiles, one per distinct
-- (percentile, direction); a rule reads its own at cut_index.
WITH division AS (
    -- the business's JSIC division as of T: its latest master row received by T (at any institution)
    SELECT k.business_key, d.as_of,
           arg_max(b.jsic_division, (b.received_on, b.institution_id, b.source_row)) AS division
    FROM raw_business b
    JOIN business_keys k USING (institution_id, local_id)
    JOIN (SELECT DISTINCT as_of FROM indicator_results) d ON b.received_on <= d.as_of
    GROUP BY ALL
),
rows AS (
    SELECT r.business_key, r.as_of, r.indicator_id, r.value, d.division
    FROM indicator_results r
    JOIN peer_rules USING (indicator_id)
    LEFT JOIN division d USING (business_key, as_of)
    WHERE r.available
),
cuts AS (
    -- each division's distribution at each date: the monitored businesses with a value then
    SELECT as_of, indicator_id, division, count(value) AS peers,
           quantile_cont(value, $cuts::DOUBLE[]) AS cuts
    FROM rows WHERE division IS NOT NULL
    GROUP BY ALL
)
SELECT r.business_key, r.as_of, r.indicator_id, r.division, coalesce(c.peers, 0) AS peers,
       CASE WHEN c.peers > 0 THEN c.cuts[p.cut_index] END AS cut,
       p.direction, p.relative, p.percentile, p.min_peers,
       p.relative = 1 AND coalesce(c.peers, 0) >= p.min_peers AS by_peers
FROM rows r
JOIN peer_rules p USING (indicator_id)
LEFT JOIN cuts c USING (as_of, indicator_id, division)
