-- The books of scans run by queue workers (package queue, gown.Ledger).
-- Numbered 0006: 0005 is taken by another change of the same release (the
-- dashboard's token); the migrations apply by number, so either order of
-- landing works.
--
-- One row per queued scan: the batches published (final once sealed) and
-- counters of the batches that ended, updated in the transaction that ends
-- each batch, so that exactly one worker sees the last one end. options is
-- the JSON of the probing options every worker applies (queue.Options).
CREATE TABLE queue_scans (
    scan_id   BIGINT PRIMARY KEY REFERENCES scans(id) ON DELETE CASCADE,
    options   TEXT NOT NULL,
    batches   BIGINT NOT NULL DEFAULT 0,
    targets   BIGINT NOT NULL DEFAULT 0,
    sealed    {{BOOL}} NOT NULL DEFAULT FALSE,
    done      BIGINT NOT NULL DEFAULT 0,
    dead      BIGINT NOT NULL DEFAULT 0,
    dropped   BIGINT NOT NULL DEFAULT 0,
    cancelled {{BOOL}} NOT NULL DEFAULT FALSE
);

-- One row per batch a worker took up: running, then done, dead (a dead
-- letter, with the message and the last error) or dropped (cancelled).
CREATE TABLE queue_batches (
    scan_id    BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    batch      BIGINT NOT NULL,
    state      TEXT NOT NULL,
    worker     TEXT NOT NULL DEFAULT '',
    deliveries INTEGER NOT NULL DEFAULT 0,
    targets    INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL DEFAULT '',
    ended_at   TEXT NOT NULL DEFAULT '',
    error      TEXT NOT NULL DEFAULT '',
    message    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scan_id, batch)
);
-- Progress counts the running batches of a scan often; they are few.
CREATE INDEX queue_batches_running ON queue_batches (scan_id) WHERE state = 'running';
CREATE INDEX queue_batches_dead ON queue_batches (scan_id) WHERE state = 'dead';
