-- The facts a prober determined (gown.Facts: admin access, replication
-- master, persistence path), kept as JSON ('' when none), as details are.
-- Numbered 0004: 0003 is taken by another change of the same release.
ALTER TABLE services ADD COLUMN facts TEXT NOT NULL DEFAULT '';
