-- What gown serve reads and keeps. The index lets a dashboard page through
-- a scan's findings most severe first (or least) without sorting them all:
-- the first page of 100,000 findings reads 100 index entries. Ties are
-- broken by finding id in the same direction, so the index serves both.
CREATE INDEX occurrences_scan_severity ON occurrences (scan_id, severity, finding_id);

-- The dashboard's access token, as a SHA-256 hash (the token is 256 random
-- bits, so a fast hash is enough: there is nothing to guess). Kept in the
-- results store rather than a file beside it so that SQLite and PostgreSQL
-- stores work alike and a team's dashboards on one PostgreSQL database share
-- one token. One row: a new token replaces the old.
CREATE TABLE dashboard_tokens (
    id         INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL, -- hex SHA-256 of the token
    created_at TEXT NOT NULL
);
