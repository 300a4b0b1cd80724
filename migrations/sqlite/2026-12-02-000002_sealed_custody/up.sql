-- Sealed chains of custody: confidential items (exam papers, confidential
-- dispatches) need a seal check at every handover and never appear in the
-- public lookup.
ALTER TABLE items ADD COLUMN confidential BOOLEAN NOT NULL DEFAULT FALSE;
INSERT INTO kind_priorities VALUES ('exam_paper', 'urgent');
