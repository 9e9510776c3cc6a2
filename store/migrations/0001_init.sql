-- gown results store, schema 1. {{ID}}, {{KEY}} and {{BOOL}} are filled in
-- per dialect (migrations.go); everything else is SQL both SQLite and
-- PostgreSQL accept. Times are RFC 3339 text in UTC; counts are BIGINT,
-- clamped to its maximum.

CREATE TABLE scans (
    id          {{ID}},
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    state       TEXT NOT NULL,
    args        TEXT NOT NULL, -- JSON array: the scan's targets and flags
    version     TEXT NOT NULL DEFAULT ''
);

-- One row per target the scan finished, answered or not: the resume set.
CREATE TABLE targets (
    scan_id BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    key     {{KEY}} NOT NULL,
    host    TEXT NOT NULL,
    ip      TEXT NOT NULL DEFAULT '',
    port    INTEGER NOT NULL,
    hint    TEXT NOT NULL DEFAULT '',
    origin  TEXT NOT NULL DEFAULT '',
    status  TEXT NOT NULL,
    PRIMARY KEY (scan_id, key)
);

-- One row per result worth keeping.
CREATE TABLE services (
    id              {{ID}},
    scan_id         BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    target_key      {{KEY}} NOT NULL,
    store           {{KEY}} NOT NULL DEFAULT '',
    host            {{KEY}} NOT NULL,
    ip              TEXT NOT NULL DEFAULT '',
    port            INTEGER NOT NULL,
    hint            TEXT NOT NULL DEFAULT '',
    tls_hint        {{BOOL}} NOT NULL DEFAULT FALSE,
    origin          TEXT NOT NULL DEFAULT '',
    product         TEXT NOT NULL DEFAULT '',
    version         TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    tls_mode        TEXT NOT NULL DEFAULT '',
    tls_version     TEXT NOT NULL DEFAULT '',
    tls_subject     TEXT NOT NULL DEFAULT '',
    tls_issuer      TEXT NOT NULL DEFAULT '',
    tls_not_after   TEXT NOT NULL DEFAULT '',
    tls_self_signed {{BOOL}} NOT NULL DEFAULT FALSE,
    has_inventory   {{BOOL}} NOT NULL DEFAULT FALSE,
    items           BIGINT NOT NULL DEFAULT 0,
    bytes           BIGINT NOT NULL DEFAULT 0,
    truncated       {{BOOL}} NOT NULL DEFAULT FALSE,
    details         TEXT NOT NULL DEFAULT '', -- JSON object, '' when none
    error           TEXT NOT NULL DEFAULT '',
    started_at      TEXT NOT NULL DEFAULT '',
    duration_ns     BIGINT NOT NULL DEFAULT 0,
    UNIQUE (scan_id, target_key, store)
);
-- The order results are read in (gown.Store.Results).
CREATE INDEX services_order ON services (scan_id, host, port, store, target_key);

-- Inventory rows of a service, in the order the prober listed them.
CREATE TABLE databases (
    service_id BIGINT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    name       TEXT NOT NULL,
    items      BIGINT NOT NULL,
    bytes      BIGINT NOT NULL,
    system     {{BOOL}} NOT NULL DEFAULT FALSE,
    PRIMARY KEY (service_id, seq)
);

CREATE TABLE evidence (
    service_id BIGINT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    step       TEXT NOT NULL,
    sent       TEXT NOT NULL DEFAULT '',
    received   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (service_id, seq)
);

-- One row per stable finding id (gown.FindingID) across all scans; a re-scan
-- updates the row and its last_seen instead of adding one.
CREATE TABLE findings (
    id         {{KEY}} PRIMARY KEY,
    rule       TEXT NOT NULL,
    store      TEXT NOT NULL DEFAULT '',
    host       TEXT NOT NULL,
    ip         TEXT NOT NULL DEFAULT '',
    port       INTEGER NOT NULL,
    severity   INTEGER NOT NULL,
    title      TEXT NOT NULL,
    items      BIGINT NOT NULL DEFAULT 0,
    bytes      BIGINT NOT NULL DEFAULT 0,
    first_seen BIGINT NOT NULL, -- scan id; the scan may since be pruned
    last_seen  BIGINT NOT NULL
);

-- A finding as one scan saw it: what diffs compare.
CREATE TABLE occurrences (
    scan_id    BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    finding_id {{KEY}} NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    service_id BIGINT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    severity   INTEGER NOT NULL,
    title      TEXT NOT NULL,
    items      BIGINT NOT NULL DEFAULT 0,
    bytes      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scan_id, finding_id)
);
CREATE INDEX occurrences_service ON occurrences (service_id);
CREATE INDEX occurrences_finding ON occurrences (finding_id);

-- Apps and the endpoints extracted from them; filled by the app extractor.
CREATE TABLE apps (
    id         {{ID}},
    platform   TEXT NOT NULL, -- android, ios
    app_id     TEXT NOT NULL, -- package name or bundle id
    version    TEXT NOT NULL DEFAULT '',
    file_name  TEXT NOT NULL DEFAULT '',
    sha256     {{KEY}} NOT NULL, -- digest of the APK/IPA analysed
    added_at   TEXT NOT NULL,
    UNIQUE (platform, app_id, version, sha256)
);

CREATE TABLE endpoints (
    id          {{ID}},
    app_id      BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL, -- url, host, firebase-db, connection-string...
    value       TEXT NOT NULL, -- redacted: credentials never stored
    host        TEXT NOT NULL DEFAULT '',
    port        INTEGER NOT NULL DEFAULT 0,
    source_file TEXT NOT NULL DEFAULT '',
    source_line INTEGER NOT NULL DEFAULT 0,
    first_party {{BOOL}} NOT NULL DEFAULT FALSE
);
CREATE INDEX endpoints_app ON endpoints (app_id);
