-- How many businesses each institution monitors as of $as_of: the businesses in the monitored
-- universe that date (those scored as of $as_of -- the scan and the scores read exactly
-- features/pit.py's universe) with a relationship to the institution the platform can trust,
-- in force as of $as_of: a bank's loan or deposit account, an association's guarantee (the same
-- rule as institutions.sql). The base of each institution's monthly review budget.
-- Feeds are read through the point-in-time layer (yocho/warehouse/pit.py): pit_<feed>_at gives
-- each record's version in force at $as_of, keyed by the layer's business_identity;
-- $history_months is its whole history (ALL_HISTORY_MONTHS).
-- Inputs: none besides the warehouse (risk_scores and the layer's macros).
WITH relationships AS (
    SELECT business_key, institution_id FROM pit_loans_at($as_of, $history_months)
    WHERE starts_with(institution_id, 'bank_')
    UNION
    SELECT business_key, institution_id FROM pit_accounts_at($as_of, $history_months)
    WHERE starts_with(institution_id, 'bank_')
    UNION
    SELECT business_key, institution_id FROM pit_guarantees_at($as_of, $history_months)
    WHERE starts_with(institution_id, 'cga_')
)
SELECT r.institution_id, count(DISTINCT r.business_key)::BIGINT AS monitored
FROM relationships r
SEMI JOIN risk_scores s ON s.business_key = r.business_key AND s.as_of = $as_of
GROUP BY r.institution_id
ORDER BY r.institution_id
