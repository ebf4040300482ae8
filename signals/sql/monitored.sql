-- How many businesses each institution monitors as of $as_of: the businesses in the monitored
-- universe that date (those scored as of $as_of -- the scan and the scores read exactly
-- features/pit.py's universe) with a relationship to the institution the platform can trust,
-- received by $as_of: a bank's loan or deposit account, an association's guarantee (the same
-- rule as institutions.sql). The base of each institution's monthly review budget.
-- Inputs: sig_keys, sig_raw_rows.
SELECT r.institution_id, count(DISTINCT k.business_key)::BIGINT AS monitored
FROM sig_raw_rows r
JOIN sig_keys k USING (institution_id, local_id)
SEMI JOIN risk_scores s ON s.business_key = k.business_key AND s.as_of = $as_of
WHERE r.received_on <= $as_of
  AND ((r.feed IN ('loans', 'accounts') AND starts_with(r.institution_id, 'bank_'))
       OR (r.feed = 'guarantees' AND starts_with(r.institution_id, 'cga_')))
GROUP BY r.institution_id
ORDER BY r.institution_id
