-- The verifiable event chain: each event and each void declaration holds
-- its place in its item's chain and the link (SHA-256 over the previous
-- link and the entry); each day's new chain heads are folded into a signed
-- Merkle root.
ALTER TABLE events ADD COLUMN chain_seq BIGINT;
ALTER TABLE events ADD COLUMN chain_link BYTEA;
ALTER TABLE event_voids ADD COLUMN chain_seq BIGINT;
ALTER TABLE event_voids ADD COLUMN chain_link BYTEA;

-- Each item's chain so far, and the salt of its personal digests (forgotten by the purge).
CREATE TABLE item_chains (
    item_id BIGINT PRIMARY KEY NOT NULL REFERENCES items (id),
    length  BIGINT NOT NULL,
    head    BYTEA NOT NULL,
    salt    BYTEA
);

-- A day's leaves: each item whose chain grew that day, with its length and
-- last link at the end of the day (Vietnam's day).
CREATE TABLE chain_leaves (
    day     DATE NOT NULL,
    item_id BIGINT NOT NULL REFERENCES items (id),
    seq     BIGINT NOT NULL,
    link    BYTEA NOT NULL,
    PRIMARY KEY (day, item_id)
);
CREATE INDEX chain_leaves_item ON chain_leaves (item_id, day);

CREATE TABLE chain_roots (
    day        DATE PRIMARY KEY NOT NULL,
    root       BYTEA NOT NULL,
    leaves     BIGINT NOT NULL,
    signature  BYTEA NOT NULL,
    public_key BYTEA NOT NULL,
    sealed_at  TIMESTAMP NOT NULL
);
