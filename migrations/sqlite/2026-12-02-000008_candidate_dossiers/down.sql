DROP TABLE pre_advices;
ALTER TABLE items DROP COLUMN sent_by_candidate;
