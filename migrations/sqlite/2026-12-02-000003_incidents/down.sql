ALTER TABLE cases DROP COLUMN incident_id;
ALTER TABLE items DROP COLUMN due_extension_minutes;
DROP TABLE incident_items;
DROP TABLE incidents;
