ALTER TABLE contact_points DROP COLUMN public;
