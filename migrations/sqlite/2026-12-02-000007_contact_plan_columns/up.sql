-- The provincial plans' contact table: per row a task, whether the unit
-- leads it or coordinates, and optionally an exam site.
ALTER TABLE contact_points ADD COLUMN task TEXT;
ALTER TABLE contact_points ADD COLUMN plan_role TEXT;
ALTER TABLE contact_points ADD COLUMN exam_site TEXT;
