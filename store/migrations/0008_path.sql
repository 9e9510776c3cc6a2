-- Targets that carry a path (gown.Target.Path): an Azure Blob account and
-- container, a Firestore project, named in the URL path under one host:port.
-- The path is part of the target key (gown.TargetKey) and of the finding id
-- (gown.FindingID), so two containers on one host are two services and two
-- findings; these columns keep it readable. Rows written before have ''
-- (no path), which is what they meant.
ALTER TABLE targets ADD COLUMN path TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN path TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN path TEXT NOT NULL DEFAULT '';
