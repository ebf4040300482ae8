-- How many businesses each institution monitors as of $as_of: the businesses in the monitored
-- universe that date (those scored as of $as_of -- the scan and the scores read exactly
-- features/pit.py's universe) with a relationship to the institution the platform can trust,
-- in force as of $as_of: a bank's loan or deposit account, an association's guarantee (the same
-- rule as institutions.sql). The base of each institution's monthly review budget.
-- Relationships are read from the point-in-time layer (yocho/warehouse/pit.py):
-- pit_relationships_at gives every loan, account and guarantee customer received by $as_of,
-- keyed by the layer's business_identity, one row per customer and feed rather than every row
-- ever received (a record received by $as_of always has a version in force then).
-- Inputs: none besides the warehouse (risk_scores and the layer's macros).
WITH relationships AS (
    SELECT business_key, institution_id FROM pit_relationships_at($as_of)
    WHERE (feed IN ('loans', 'accounts') AND starts_with(institution_id, 'bank_'))
       OR (feed = 'guarantees' AND starts_with(institution_id, 'cga_'))
)
SELECT r.institution_id, count(DISTINCT r.business_key)::BIGINT AS monitored
FROM relationships r
SEMI JOIN risk_scores s ON s.business_key = r.business_key AND s.as_of = $as_of
GROUP BY r.institution_id
ORDER BY r.institution_id
