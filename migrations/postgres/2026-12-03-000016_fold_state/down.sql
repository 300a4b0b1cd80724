ALTER TABLE items DROP COLUMN last_handover_type;
ALTER TABLE items DROP COLUMN failed_attempts;
ALTER TABLE items DROP COLUMN folded_through;
