DROP TABLE digest_entries;
ALTER TABLE contact_points DROP COLUMN digest_minutes;
