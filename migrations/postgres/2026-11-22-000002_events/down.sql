DROP INDEX items_status;
ALTER TABLE items DROP COLUMN has_anomaly;
ALTER TABLE items DROP COLUMN last_office_code;
ALTER TABLE items DROP COLUMN last_event_at;
ALTER TABLE items DROP COLUMN last_event_id;
DROP TABLE event_voids;
DROP TABLE events;
