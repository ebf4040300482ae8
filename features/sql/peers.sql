-- Industry-relative thresholds (features/peers.py), over every business of indicator_results.
-- Input: peer_rules(indicator_id, direction, relative, percentile, min_peers, cut_index),
-- the business master (pit_business_at). $cuts is the list of quantiles, one per distinct
-- (percentile, direction); a rule reads its own at cut_index.
WITH division AS (
    -- the business's JSIC division as of T, from the business master through the point-in-time
    -- layer (yocho/warehouse/pit.py): each institution's master record in its latest version
    -- received by T, and among institutions the one preferred by pit_preference (latest
    -- received, then lowest institution_id) that gives a division. Read for every business
    -- (pit_business_at), whatever shard computed it.
    SELECT b.business_key, d.as_of,
           arg_min(b.jsic_division, pit_preference(b.received_on, b.institution_id)) AS division
    FROM (SELECT DISTINCT as_of FROM indicator_results) d,
         LATERAL (SELECT * FROM pit_business_at(d.as_of, 1200)) b  -- ALL_HISTORY_MONTHS (no time column)
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
