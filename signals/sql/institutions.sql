-- Who may see each flagged business's case as of $as_of, and how much each has at stake.
-- One row per (flagged business, institution with a relationship the platform can trust,
-- received by $as_of): a bank that reports a loan or a deposit account of the business, an
-- association that reports a guarantee of it. A `business` master row, a statement, an
-- observation or an event alone is something an institution can send about anyone (a 法人番号
-- typed into its own master file) and never makes it one of the case's institutions: they
-- see the case and its evidence (docs/queue.md, "Sharing").
--   local_ids     the institution's own customer numbers for the business (usually one),
--                 those its loans, accounts or guarantees are booked under
--   exposure_jpy  a bank: the balance of its loans to the business, each loan at its latest
--                 month received by $as_of within the last $recent_months months;
--                 the association: the balance it guarantees, each guarantee likewise;
--                 NULL when the institution has no such loan or guarantee month
--   guarantor     the association has a guarantee of the business on file by $as_of
-- Inputs: sig_keys, sig_raw_rows, sig_flagged(business_key).
WITH known AS (
    SELECT k.business_key, r.institution_id, list(DISTINCT r.local_id ORDER BY r.local_id) AS local_ids
    FROM sig_raw_rows r
    JOIN sig_keys k USING (institution_id, local_id)
    SEMI JOIN sig_flagged f ON f.business_key = k.business_key
    WHERE r.received_on <= $as_of
      AND ((r.feed IN ('loans', 'accounts') AND starts_with(r.institution_id, 'bank_'))
           OR (r.feed = 'guarantees' AND starts_with(r.institution_id, 'cga_')))
    GROUP BY ALL
),
loans AS (
    SELECT k.business_key, l.institution_id, l.balance_jpy
    FROM raw_loans l
    JOIN sig_keys k USING (institution_id, local_id)
    SEMI JOIN sig_flagged f ON f.business_key = k.business_key
    WHERE l.received_on <= $as_of AND l.month > $as_of - to_months($recent_months)
    QUALIFY row_number() OVER (
        PARTITION BY l.institution_id, l.loan_id ORDER BY l.month DESC, l.received_on DESC, l.source_row DESC) = 1
),
guarantee_rows AS (
    SELECT k.business_key, g.institution_id, g.guarantee_id, g.month, g.balance_jpy, g.received_on, g.source_row
    FROM raw_guarantees g
    JOIN sig_keys k USING (institution_id, local_id)
    SEMI JOIN sig_flagged f ON f.business_key = k.business_key
    WHERE g.received_on <= $as_of
),
guarantees AS (
    SELECT business_key, institution_id, balance_jpy
    FROM guarantee_rows
    WHERE month > $as_of - to_months($recent_months)
    QUALIFY row_number() OVER (
        PARTITION BY institution_id, guarantee_id ORDER BY month DESC, received_on DESC, source_row DESC) = 1
),
guarantors AS (
    SELECT DISTINCT business_key, institution_id FROM guarantee_rows
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
