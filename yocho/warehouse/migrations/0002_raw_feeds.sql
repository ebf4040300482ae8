-- Raw tables: one per feed, columns as in yocho/contract.py, plus lineage.
-- Rows are only ever inserted (one transaction per source file); corrections arrive as new rows
-- with a later received_on, so any past state can be rebuilt as of a date.

-- 取引先マスタ: One row per business and version of its master record.
CREATE TABLE raw_business (
    local_id VARCHAR NOT NULL,
    corporate_number VARCHAR,
    name VARCHAR NOT NULL,
    entity_type VARCHAR NOT NULL,
    jsic_division VARCHAR NOT NULL,
    prefecture_code INTEGER NOT NULL,
    employees INTEGER,
    founded_year INTEGER,
    received_on DATE NOT NULL,
    institution_id VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);

-- 保証債務残高: Monthly balance of each credit guarantee (信用保証) held by the association.
CREATE TABLE raw_guarantees (
    guarantee_id VARCHAR NOT NULL,
    local_id VARCHAR NOT NULL,
    corporate_number VARCHAR,
    lender_bank_code VARCHAR NOT NULL,
    month DATE NOT NULL,
    balance_jpy BIGINT NOT NULL,
    status VARCHAR NOT NULL,
    received_on DATE NOT NULL,
    institution_id VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);

-- 事故報告: Incident reports (事故報告) lenders file with the association.
CREATE TABLE raw_incidents (
    incident_id VARCHAR NOT NULL,
    local_id VARCHAR NOT NULL,
    corporate_number VARCHAR,
    guarantee_id VARCHAR,
    lender_bank_code VARCHAR NOT NULL,
    incident_type VARCHAR NOT NULL,
    occurred_on DATE NOT NULL,
    received_on DATE NOT NULL,
    institution_id VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);

-- 代位弁済: Subrogation requests (代位弁済請求) and payments.
CREATE TABLE raw_subrogations (
    subrogation_id VARCHAR NOT NULL,
    local_id VARCHAR NOT NULL,
    corporate_number VARCHAR,
    guarantee_id VARCHAR NOT NULL,
    lender_bank_code VARCHAR NOT NULL,
    requested_on DATE NOT NULL,
    paid_on DATE,
    amount_jpy BIGINT NOT NULL,
    received_on DATE NOT NULL,
    institution_id VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);

-- 融資明細: Monthly status of each loan and overdraft line at a bank.
CREATE TABLE raw_loans (
    loan_id VARCHAR NOT NULL,
    local_id VARCHAR NOT NULL,
    corporate_number VARCHAR,
    month DATE NOT NULL,
    balance_jpy BIGINT NOT NULL,
    scheduled_jpy BIGINT NOT NULL,
    paid_jpy BIGINT NOT NULL,
    days_past_due INTEGER NOT NULL,
    restructured BOOLEAN NOT NULL,
    guaranteed BOOLEAN,
    overdraft_limit_jpy BIGINT,
    overdraft_used_jpy BIGINT,
    received_on DATE NOT NULL,
    institution_id VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);

-- 預金口座月次集計: Monthly aggregates of the business's deposit accounts at a bank.
CREATE TABLE raw_accounts (
    local_id VARCHAR NOT NULL,
    corporate_number VARCHAR,
    month DATE NOT NULL,
    inflow_jpy BIGINT NOT NULL,
    outflow_jpy BIGINT NOT NULL,
    month_end_balance_jpy BIGINT NOT NULL,
    average_balance_jpy BIGINT NOT NULL,
    payroll_jpy BIGINT,
    tax_paid_jpy BIGINT,
    social_insurance_paid_jpy BIGINT,
    failed_debits INTEGER NOT NULL,
    received_on DATE NOT NULL,
    institution_id VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);

-- 債務者区分: The bank's internal debtor classification (債務者区分) each time it is set.
CREATE TABLE raw_classifications (
    local_id VARCHAR NOT NULL,
    corporate_number VARCHAR,
    classified_on DATE NOT NULL,
    debtor_class VARCHAR NOT NULL,
    received_on DATE NOT NULL,
    institution_id VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);

-- 財務諸表: Annual statements (決算) and quarterly trial balances (試算表); figures cumulative from period_start.
CREATE TABLE raw_financials (
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
    received_on DATE NOT NULL,
    institution_id VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);

-- 定性情報: Qualitative observations recorded by relationship managers.
CREATE TABLE raw_observations (
    observation_id VARCHAR NOT NULL,
    local_id VARCHAR NOT NULL,
    corporate_number VARCHAR,
    observed_on DATE NOT NULL,
    code VARCHAR NOT NULL,
    note VARCHAR,
    received_on DATE NOT NULL,
    institution_id VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);

-- 事象: Outcome events used as labels: what actually happened to the business.
CREATE TABLE raw_events (
    event_id VARCHAR NOT NULL,
    local_id VARCHAR NOT NULL,
    corporate_number VARCHAR,
    event_type VARCHAR NOT NULL,
    occurred_on DATE NOT NULL,
    received_on DATE NOT NULL,
    institution_id VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);
