-- A file's content is "already ingested" only where it was loaded, and only for the institution
-- and feed it was loaded for: a rejected file sent again (to the right folder, or after the rule
-- that refused it changed) is processed again, and the same bytes from another institution or
-- feed are that sender's own delivery. One row per (content, institution, feed): processing a
-- rejected file again replaces its earlier record, quarantine rows and validation results.
CREATE TABLE ingested_files_v2 (
    sha256 VARCHAR NOT NULL,
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
    ingested_at TIMESTAMP NOT NULL,
    PRIMARY KEY (sha256, institution_id, feed)
);
INSERT INTO ingested_files_v2 SELECT * FROM ingested_files;
DROP TABLE ingested_files;
ALTER TABLE ingested_files_v2 RENAME TO ingested_files;

-- Validation results name the institution too, so two senders' copies of one content keep theirs apart.
ALTER TABLE validation_results ADD COLUMN institution_id VARCHAR;
UPDATE validation_results v SET institution_id = f.institution_id
FROM ingested_files f WHERE f.sha256 = v.source_sha256 AND f.feed = v.feed;
