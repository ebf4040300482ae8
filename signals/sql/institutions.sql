-- Who may see each flagged business's case as of $as_of, and how much each has at stake.
-- One row per (flagged business, institution with a relationship the platform can trust,
-- in force as of $as_of): a bank that reports a loan or a deposit account of the business, an
-- association that reports a guarantee of it. A `business` master row, a statement, an
-- observation or an event alone is something an institution can send about anyone (a 法人番号
-- typed into its own master file) and never makes it one of the case's institutions: they
-- see the case and its evidence (docs/queue.md, "Sharing").
--   local_ids     the institution's own customer numbers for the business (usually one),
--                 those its loans, accounts or guarantees are booked under
--   exposure_jpy  a bank: the balance of its loans to the business, each loan at its latest
--                 month within the last $recent_months months (the version of that month in
--                 force as of $as_of); the association: the balance it guarantees, each
--                 guarantee likewise; NULL when the institution has no such loan or guarantee month
--   guarantor     the association has a guarantee of the business on file by $as_of
-- Read through the point-in-time layer (yocho/warehouse/pit.py), keyed by its business_identity:
-- the relationships from pit_relationships_at, the balances from pit_<feed>_at (each record's
-- version in force at $as_of).
-- Inputs: sig_flagged(business_key), registered by the caller (signals/flags.py).
WITH relationship_rows AS (
    -- every loan, account and guarantee customer received by $as_of (pit_relationships_at: one
    -- row per customer and feed, not every row ever received)
    SELECT business_key, institution_id, local_id FROM pit_relationships_at($as_of)
    WHERE (feed IN ('loans', 'accounts') AND starts_with(institution_id, 'bank_'))
       OR (feed = 'guarantees' AND starts_with(institution_id, 'cga_'))
),
known AS (
    SELECT r.business_key, r.institution_id, list(DISTINCT r.local_id ORDER BY r.local_id) AS local_ids
    FROM relationship_rows r
    SEMI JOIN sig_flagged f ON f.business_key = r.business_key
    GROUP BY ALL
),
loans AS (
    -- each loan at its latest month in the window
    SELECT l.business_key, l.institution_id, l.balance_jpy
    FROM pit_loans_at($as_of, $recent_months) l
    SEMI JOIN sig_flagged f ON f.business_key = l.business_key
    QUALIFY row_number() OVER (PARTITION BY l.institution_id, l.loan_id ORDER BY l.month DESC) = 1
),
guarantees AS (
    -- each guarantee at its latest month in the window
    SELECT g.business_key, g.institution_id, g.balance_jpy
    FROM pit_guarantees_at($as_of, $recent_months) g
    SEMI JOIN sig_flagged f ON f.business_key = g.business_key
    QUALIFY row_number() OVER (PARTITION BY g.institution_id, g.guarantee_id ORDER BY g.month DESC) = 1
),
guarantors AS (
    SELECT DISTINCT g.business_key, g.institution_id
    FROM pit_relationships_at($as_of) g
    SEMI JOIN sig_flagged f ON f.business_key = g.business_key
    WHERE g.feed = 'guarantees'
),
exposure AS (
    SELECT business_key, institution_id, sum(balance_jpy) AS exposure_jpy
    FROM (SELECT * FROM loans UNION ALL SELECT * FROM guarantees)
    GROUP BY ALL
)
SELECT k.business_key, k.institution_id, k.local_ids,
       e.exposure_jpy::DOUBLE AS exposure_jpy,
       g.institution_id IS NOT NULL AS guarantor,
       starts_with(k.institution_id, 'bank_') AS is_bank
FROM known k
LEFT JOIN exposure e USING (business_key, institution_id)
LEFT JOIN guarantors g USING (business_key, institution_id)
ORDER BY k.business_key, k.institution_id
