-- The point-in-time layer's credit relationships (yocho/warehouse/pit.py): per institution,
-- customer number and relationship feed (a loan, a deposit account, a guarantee), the first day
-- a row of it was received. Who may see a case and how many businesses each institution
-- monitors read this instead of every loan, account and guarantee row ever received.
-- yocho/warehouse/db.py fills it from the rows already loaded in the same transaction.
CREATE TABLE business_relationships (
    institution_id VARCHAR NOT NULL,
    local_id VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    first_received DATE NOT NULL,
    PRIMARY KEY (institution_id, local_id, feed)
);
