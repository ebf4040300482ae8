-- Files in landing that cannot be ingested where they lie (unknown institution or feed folder,
-- unsupported type, hidden name, symbolic link, an upload abandoned half-written), one row per path.
-- Seen again, last_seen moves on and the reason is the latest; gone from landing (moved, fixed,
-- deleted), resolved_at is set, and seen again later it is open again.
CREATE TABLE misplaced_files (
    path VARCHAR PRIMARY KEY,
    reason VARCHAR NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);
