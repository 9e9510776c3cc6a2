-- What assessment drew from a service: the exposure sampling showed
-- (classes with counts and masked examples) and the compromise signs, each
-- kept as JSON ('' when none), as details are. Findings carry their
-- sensitive-data classes per occurrence, as a JSON array.
ALTER TABLE services ADD COLUMN exposure TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN signs TEXT NOT NULL DEFAULT '';
ALTER TABLE occurrences ADD COLUMN classes TEXT NOT NULL DEFAULT '';
