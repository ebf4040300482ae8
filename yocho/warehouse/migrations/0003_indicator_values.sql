-- Warning-sign indicators as of each scanned date, one row per business, date and
-- indicator (see features/catalog.py and docs/indicators.md). Rows for a date are
-- replaced whole when that date is scanned again.
CREATE TABLE indicator_values (
    business_key VARCHAR NOT NULL,   -- 法人番号, or <institution_id>:<local_id> for sole proprietors
    as_of DATE NOT NULL,
    indicator_id VARCHAR NOT NULL,
    family VARCHAR NOT NULL,
    value DOUBLE,                    -- NULL when unavailable
    available BOOLEAN NOT NULL,      -- false: the feeds it needs had no data for the business by as_of
    fired BOOLEAN,                   -- NULL when unavailable
    severity VARCHAR NOT NULL,
    evidence VARCHAR,                -- JSON with the figures behind a fired sign
    computed_at TIMESTAMP NOT NULL
);
