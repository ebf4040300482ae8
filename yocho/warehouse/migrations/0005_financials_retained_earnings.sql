-- 利益剰余金 (retained earnings) joins the financial statements, after net assets as in the
-- contract. The table is rebuilt rather than altered so its columns keep the contract's order
-- (an added column would land after the lineage columns); existing rows get NULL (unknown).
CREATE TABLE raw_financials_v5 (
    local_id VARCHAR NOT NULL,
    corporate_number VARCHAR,
    statement_type VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    sales_jpy BIGINT NOT NULL,
    gross_profit_jpy BIGINT,
    operating_profit_jpy BIGINT,
    ordinary_profit_jpy BIGINT,
    net_income_jpy BIGINT,
    depreciation_jpy BIGINT,
    interest_expense_jpy BIGINT,
    total_assets_jpy BIGINT,
    current_assets_jpy BIGINT,
    cash_jpy BIGINT,
    receivables_jpy BIGINT,
    inventory_jpy BIGINT,
    current_liabilities_jpy BIGINT,
    short_term_borrowings_jpy BIGINT,
    long_term_borrowings_jpy BIGINT,
    total_liabilities_jpy BIGINT,
    net_assets_jpy BIGINT,
    retained_earnings_jpy BIGINT,
    received_on DATE NOT NULL,
    institution_id VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);
INSERT INTO raw_financials_v5
SELECT * EXCLUDE (received_on, institution_id, source_sha256, source_row),
       NULL::BIGINT AS retained_earnings_jpy, received_on, institution_id, source_sha256, source_row
FROM raw_financials;
DROP TABLE raw_financials;
ALTER TABLE raw_financials_v5 RENAME TO raw_financials;
