ALTER TABLE contact_points DROP COLUMN exam_site;
ALTER TABLE contact_points DROP COLUMN plan_role;
ALTER TABLE contact_points DROP COLUMN task;
