-- The point-in-time layer (yocho/warehouse/pit.py), kept at ingest: when each version of a
-- record stopped being in force, one identity per business, and the days each institution
-- sent rows about a business. yocho/warehouse/db.py fills them from the rows already loaded
-- (pit.rebuild) in the same transaction as this migration.
ALTER TABLE raw_business ADD COLUMN valid_to DATE;
ALTER TABLE raw_guarantees ADD COLUMN valid_to DATE;
ALTER TABLE raw_incidents ADD COLUMN valid_to DATE;
ALTER TABLE raw_subrogations ADD COLUMN valid_to DATE;
ALTER TABLE raw_loans ADD COLUMN valid_to DATE;
ALTER TABLE raw_accounts ADD COLUMN valid_to DATE;
ALTER TABLE raw_classifications ADD COLUMN valid_to DATE;
ALTER TABLE raw_financials ADD COLUMN valid_to DATE;
ALTER TABLE raw_observations ADD COLUMN valid_to DATE;
ALTER TABLE raw_events ADD COLUMN valid_to DATE;
ALTER TABLE raw_exits ADD COLUMN valid_to DATE;

CREATE TABLE business_identity (
    institution_id VARCHAR NOT NULL,
    local_id VARCHAR NOT NULL,
    corporate_number VARCHAR,
    business_key VARCHAR NOT NULL,
    PRIMARY KEY (institution_id, local_id)
);

CREATE TABLE business_activity (
    institution_id VARCHAR NOT NULL,
    local_id VARCHAR NOT NULL,
    received_on DATE NOT NULL
);

-- An exact repeat of a row already loaded is skipped, not quarantined: nothing in it needs
-- correcting. The file's record counts it.
ALTER TABLE ingested_files ADD COLUMN rows_repeated BIGINT DEFAULT 0;
