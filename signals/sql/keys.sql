-- One business across institutions, the same mapping the scan uses (features/pit.py):
-- a business with a 法人番号 is keyed by it, a sole proprietor stays <institution_id>:<local_id>.
-- The mapping reads every row ever received (an identity says nothing about the business's
-- health, and a number learnt later still joins the earlier rows), so it matches the
-- business_key of indicator_values and risk_scores. Which institutions *knew* a business by
-- the as-of date is decided separately, from received_on (institutions.sql).
-- Input: view sig_raw_rows(feed, institution_id, local_id, corporate_number, received_on), every
-- raw feed of the contract (signals/flags.py builds it from yocho.contract.FEEDS).
CREATE OR REPLACE TEMP TABLE sig_keys AS
SELECT institution_id, local_id,
       coalesce(max(corporate_number), institution_id || ':' || local_id) AS business_key
FROM sig_raw_rows
GROUP BY institution_id, local_id
