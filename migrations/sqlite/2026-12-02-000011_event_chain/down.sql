DROP TABLE chain_roots;
DROP TABLE chain_leaves;
DROP TABLE item_chains;
ALTER TABLE event_voids DROP COLUMN chain_link;
ALTER TABLE event_voids DROP COLUMN chain_seq;
ALTER TABLE events DROP COLUMN chain_link;
ALTER TABLE events DROP COLUMN chain_seq;
