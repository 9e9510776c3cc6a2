-- Fleets and watches (gown fleet, gown watch). Numbered 0007: 0005 is the
-- dashboard's, 0006 the queue's (NATS workers), which lands on its own
-- branch; migrations apply by number, each once, so the gap is harmless.
--
-- Personal data: an owner is kept as a keyed hash of the identifier the MDM
-- gave (e-mail, UPN or user name; the key is fleet_meta's, random per store)
-- and a masked form. No name, e-mail, user name or device name is stored.

-- One row: the store's secret key for owner hashes (hex, 32 random bytes).
CREATE TABLE fleet_meta (
    id        INTEGER PRIMARY KEY,
    owner_key TEXT NOT NULL
);

CREATE TABLE fleet_owners (
    id     {{ID}},
    key    {{KEY}} NOT NULL UNIQUE, -- hex HMAC-SHA-256 of the identifier
    masked TEXT NOT NULL
);

CREATE TABLE fleet_devices (
    id         {{ID}},
    source     {{KEY}} NOT NULL,          -- intune, jamf, workspaceone, generic
    mdm_id     {{KEY}} NOT NULL,          -- the id as the MDM gives it
    platform   TEXT NOT NULL DEFAULT '',
    model      TEXT NOT NULL DEFAULT '',
    os_version TEXT NOT NULL DEFAULT '',
    owner_id   BIGINT REFERENCES fleet_owners(id) ON DELETE SET NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (source, mdm_id)
);

CREATE TABLE fleet_apps (
    id       {{ID}},
    platform {{KEY}} NOT NULL,
    app_id   {{KEY}} NOT NULL, -- package name or bundle id
    name     TEXT NOT NULL DEFAULT '',
    UNIQUE (platform, app_id)
);

CREATE TABLE fleet_versions (
    id      {{ID}},
    app_id  BIGINT NOT NULL REFERENCES fleet_apps(id) ON DELETE CASCADE,
    version {{KEY}} NOT NULL,
    sha256  TEXT NOT NULL DEFAULT '', -- of the newest binary a fleet scan read
    UNIQUE (app_id, version)
);

CREATE TABLE fleet_installs (
    device_id  BIGINT NOT NULL REFERENCES fleet_devices(id) ON DELETE CASCADE,
    version_id BIGINT NOT NULL REFERENCES fleet_versions(id) ON DELETE CASCADE,
    PRIMARY KEY (device_id, version_id)
);
CREATE INDEX fleet_installs_version ON fleet_installs (version_id);

-- What a fleet scan (a pipeline scan, command "fleet") did with each app
-- version: scanned, no-binary or unreadable.
CREATE TABLE fleet_checks (
    scan_id    BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    version_id BIGINT NOT NULL REFERENCES fleet_versions(id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    file       TEXT NOT NULL DEFAULT '',
    sha256     TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scan_id, version_id)
);

-- The back-end targets (host and port as probed) each scanned version
-- names, so that findings on them tie back to versions, devices and owners.
CREATE TABLE fleet_backends (
    scan_id    BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    version_id BIGINT NOT NULL REFERENCES fleet_versions(id) ON DELETE CASCADE,
    host       {{KEY}} NOT NULL,
    port       INTEGER NOT NULL,
    endpoint   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scan_id, version_id, host, port)
);
CREATE INDEX fleet_backends_target ON fleet_backends (scan_id, host, port);

-- A watch: a scan or fleet scan re-run on a schedule. Its state lives here
-- so that a restarted watch resumes its schedule, diffs against its last
-- run and delivers each alert once.
CREATE TABLE watches (
    id         {{ID}},
    name       {{KEY}} NOT NULL UNIQUE,
    command    TEXT NOT NULL,  -- scan, fleet
    args       TEXT NOT NULL,  -- JSON array: the command's own arguments
    schedule   TEXT NOT NULL,  -- "@every 10m0s" or a cron expression
    created_at TEXT NOT NULL
);

-- One row per run of a watch: the time it was due, the pipeline scan it
-- ran (no foreign key: a pruned scan leaves the run's record), and how far
-- it got: running, done (diffed, alerts recorded) or failed.
CREATE TABLE watch_runs (
    watch_id    BIGINT NOT NULL REFERENCES watches(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    due_at      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    scan_id     BIGINT NOT NULL DEFAULT 0,
    base_scan   BIGINT NOT NULL DEFAULT 0, -- the run it was diffed against
    state       TEXT NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (watch_id, seq)
);

-- An alert: one diff entry at or above the watch's threshold. The id is
-- derived from the watch, the run and the finding, so recording a run's
-- alerts twice adds none. payload is the JSON every webhook is built from,
-- redacted when it was made.
CREATE TABLE watch_alerts (
    id         {{KEY}} PRIMARY KEY,
    watch_id   BIGINT NOT NULL REFERENCES watches(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    severity   INTEGER NOT NULL,
    finding_id TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX watch_alerts_run ON watch_alerts (watch_id, seq);

-- Each alert's delivery to each webhook, by a hash of the webhook's URL
-- (a Slack webhook URL is a secret: it is never stored). state: pending,
-- delivered, failed (attempts ran out: the record of undelivered alerts).
CREATE TABLE watch_deliveries (
    alert_id   {{KEY}} NOT NULL REFERENCES watch_alerts(id) ON DELETE CASCADE,
    sink       {{KEY}} NOT NULL,
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (alert_id, sink)
);
