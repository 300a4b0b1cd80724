DELETE FROM kind_priorities WHERE kind = 'exam_paper';
ALTER TABLE items DROP COLUMN confidential;
