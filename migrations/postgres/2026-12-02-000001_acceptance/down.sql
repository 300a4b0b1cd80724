DROP INDEX items_awaiting_acceptance;
DROP TABLE kind_priorities;
ALTER TABLE priority_rules DROP COLUMN accept_hours;
