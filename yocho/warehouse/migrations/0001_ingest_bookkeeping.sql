-- Bookkeeping of the ingest: which files were seen, what was quarantined, what GX found.

-- One row per distinct file content (sha256). A file whose hash is here is never loaded again.
CREATE TABLE ingested_files (
    sha256 VARCHAR PRIMARY KEY,
    institution_id VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    archived_path VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('loaded', 'rejected')),
    rows_total BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    ignored_columns VARCHAR[],
    message VARCHAR,
    ingested_at TIMESTAMP NOT NULL
);

-- Rejected rows (and whole-file rejections, with source_row NULL), each with its reason.
CREATE TABLE quarantine (
    source_sha256 VARCHAR NOT NULL,
    institution_id VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    source_row INTEGER,
    column_name VARCHAR,
    reason VARCHAR NOT NULL,
    raw_value VARCHAR,
    quarantined_at TIMESTAMP NOT NULL
);

-- Great Expectations results, one row per expectation per file.
CREATE TABLE validation_results (
    source_sha256 VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    column_name VARCHAR,
    success BOOLEAN NOT NULL,
    unexpected_count BIGINT,
    element_count BIGINT,
    description VARCHAR,
    validated_at TIMESTAMP NOT NULL
);
