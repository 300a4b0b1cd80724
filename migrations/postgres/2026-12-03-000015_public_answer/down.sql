ALTER TABLE items DROP COLUMN replaced_by_number;
ALTER TABLE items DROP COLUMN pre_advice_acknowledged;
ALTER TABLE items DROP COLUMN open_incident_kind;
ALTER TABLE items DROP COLUMN notice_at;
ALTER TABLE items DROP COLUMN notice_place;
ALTER TABLE items DROP COLUMN notice_details;
ALTER TABLE items DROP COLUMN last_place;
