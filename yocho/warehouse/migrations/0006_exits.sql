-- 取引終了: a business leaving the sending institution's portfolio (repaid, refinanced
-- elsewhere, closed ...). Read by features/pit.py to drop businesses that have left every
-- institution that knew them from the monitored universe.
CREATE TABLE raw_exits (
    local_id VARCHAR NOT NULL,
    corporate_number VARCHAR,
    exit_type VARCHAR NOT NULL,
    exited_on DATE NOT NULL,
    received_on DATE NOT NULL,
    institution_id VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);
