-- Targets a scan finished with nothing to keep (no result, no finding: a
-- closed port), many to a row. They are most of a wide scan's targets, and
-- a row each in targets cost the store more than the rest of the scan
-- together (BENCHMARKS.md, issue 16). One row holds the finished-only
-- targets of one stored batch: keys is a JSON array of their target keys
-- in key order, lo and hi its first and last (a search for given keys
-- reads only the rows whose range holds them), n its length.
--
-- digest (SHA-256 of keys, hex) makes a batch stored twice (replayed after
-- a commit whose answer was lost) one row. A target two workers both
-- finished lands in two rows; readers count it twice, look it up once.
-- Targets with a result stay in targets, one row each.
CREATE TABLE closed_targets (
    scan_id BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    digest  {{KEY}} NOT NULL,
    lo      {{KEY}} NOT NULL,
    hi      {{KEY}} NOT NULL,
    n       INTEGER NOT NULL,
    keys    TEXT NOT NULL,
    PRIMARY KEY (scan_id, digest)
);
