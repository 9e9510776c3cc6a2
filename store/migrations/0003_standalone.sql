-- Findings about no single service: an app's own code (hard-coded
-- credentials, clear-text transport) or several results at once (one address
-- answering as many stores). Their occurrences have no service, so
-- service_id becomes nullable; SQLite cannot drop a NOT NULL in place, so the
-- table is rebuilt, with statements both databases accept. origin is the
-- origin of a standalone finding's subject ("app"; a service's findings take
-- the service's), locations where in an app it points (a JSON array of
-- sources, '' when none).
CREATE TABLE occurrences_v3 (
    scan_id    BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    finding_id {{KEY}} NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    service_id BIGINT REFERENCES services(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    severity   INTEGER NOT NULL,
    title      TEXT NOT NULL,
    items      BIGINT NOT NULL DEFAULT 0,
    bytes      BIGINT NOT NULL DEFAULT 0,
    classes    TEXT NOT NULL DEFAULT '',
    origin     TEXT NOT NULL DEFAULT '',
    locations  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scan_id, finding_id)
);
INSERT INTO occurrences_v3 (scan_id, finding_id, service_id, seq, severity, title, items, bytes, classes)
    SELECT scan_id, finding_id, service_id, seq, severity, title, items, bytes, classes FROM occurrences;
DROP TABLE occurrences;
ALTER TABLE occurrences_v3 RENAME TO occurrences;
CREATE INDEX occurrences_service ON occurrences (service_id);
CREATE INDEX occurrences_finding ON occurrences (finding_id);

-- The command that ran a scan: scan (the only one before schema 3), app,
-- demo. Only a scan's own arguments can be resumed.
ALTER TABLE scans ADD COLUMN command TEXT NOT NULL DEFAULT 'scan';
