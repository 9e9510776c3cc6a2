-- The apps a scan read (gown app, gown fleet scan, gown traffic --app) and
-- the endpoints each names, tied to the scan by its id, holding what the
-- app object holds (gown.App), so that gown report SCAN shows which back
-- ends an app names and whose they are, as gown app --json did.
--
-- 0001 declared apps and endpoints without a scan and without most of what
-- extraction decides (party, store, parts); no gown ever wrote a row to
-- them. They are dropped and made anew rather than altered: SQLite can add
-- neither a foreign key nor a NOT NULL column without a default in place,
-- and 0001's UNIQUE (platform, app_id, version, sha256) would refuse one
-- app in two scans.
DROP INDEX endpoints_app;
DROP TABLE endpoints;
DROP TABLE apps;

-- One row per app file a scan read; the same file read twice in one scan
-- is kept once. The lists are JSON arrays ('' when empty), as gown.App
-- writes them: identity lines (what each endpoint's party rests on),
-- frameworks, hard-coded credentials (values redacted by extraction),
-- clear-text policy joins, and what could not be read.
CREATE TABLE apps (
    id          {{ID}},
    scan_id     BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    file        {{KEY}} NOT NULL,
    platform    TEXT NOT NULL DEFAULT '',  -- android, ios
    format      TEXT NOT NULL DEFAULT '',  -- apk, xapk, apks, aab, ipa
    app_id      TEXT NOT NULL DEFAULT '',  -- package name or bundle id
    version     TEXT NOT NULL DEFAULT '',
    target_sdk  INTEGER NOT NULL DEFAULT 0,
    signer      TEXT NOT NULL DEFAULT '',  -- SHA-256 of the signing certificate, hex
    encrypted   {{BOOL}} NOT NULL DEFAULT FALSE,
    frameworks  TEXT NOT NULL DEFAULT '',
    identity    TEXT NOT NULL DEFAULT '',
    credentials TEXT NOT NULL DEFAULT '',
    cleartext   TEXT NOT NULL DEFAULT '',
    errors      TEXT NOT NULL DEFAULT '',
    UNIQUE (scan_id, file)
);

-- One row per endpoint of an app, in extraction's order (seq). value is
-- redacted as gown app prints it (user information is cut out by
-- extraction and kept only as a redacted credential). party is first,
-- third, unknown, dev or internal (gown.Party); cleartext is set when the
-- app's transport policy lets clear text through to it (an entry of the
-- app's cleartext list). sources and parts are JSON arrays of gown.Source
-- (container, entry, section, offset): where the endpoint was found, and
-- for one built at run time, where its pieces are.
CREATE TABLE endpoints (
    app_id      BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    scheme      TEXT NOT NULL DEFAULT '',
    host        {{KEY}} NOT NULL DEFAULT '',
    port        INTEGER NOT NULL DEFAULT 0,
    store       TEXT NOT NULL DEFAULT '',
    tls         {{BOOL}} NOT NULL DEFAULT FALSE,
    path        TEXT NOT NULL DEFAULT '',
    party       TEXT NOT NULL DEFAULT '',
    first_party {{BOOL}} NOT NULL DEFAULT FALSE,
    confidence  DOUBLE PRECISION NOT NULL DEFAULT 0,
    cleartext   {{BOOL}} NOT NULL DEFAULT FALSE,
    sources     TEXT NOT NULL DEFAULT '',
    parts       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (app_id, seq)
);
-- Which apps name a host, whatever the scan.
CREATE INDEX endpoints_host ON endpoints (host);
