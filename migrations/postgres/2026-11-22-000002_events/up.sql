-- Scan events are append-only: never updated or deleted. A wrong scan is
-- voided by a row in event_voids (GS1 EPCIS error declaration).
CREATE TABLE events (
    id                  BIGSERIAL PRIMARY KEY,
    public_id           TEXT NOT NULL UNIQUE,
    item_id             BIGINT NOT NULL REFERENCES items (id),
    carrier_org_id      TEXT NOT NULL REFERENCES organizations (id),
    client_event_id     TEXT NOT NULL,
    event_type          TEXT NOT NULL,
    occurred_at         TIMESTAMP NOT NULL,
    occurred_offset_min INTEGER NOT NULL,
    received_at         TIMESTAMP NOT NULL,
    office_code         TEXT NOT NULL,
    office_name         TEXT,
    office_type         TEXT,
    operator_id         TEXT,
    device_id           TEXT,
    details             TEXT NOT NULL,
    content_hash        TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    UNIQUE (carrier_org_id, client_event_id)
);
CREATE INDEX events_item ON events (item_id, occurred_at);

CREATE TABLE event_voids (
    event_id   BIGINT PRIMARY KEY NOT NULL REFERENCES events (id),
    reason     TEXT NOT NULL CHECK (reason IN ('did_not_occur', 'incorrect_data')),
    note       TEXT,
    voided_by  TEXT NOT NULL,
    voided_at  TIMESTAMP NOT NULL
);

-- Kept current in the same transaction as each event, so reads are cheap.
ALTER TABLE items ADD COLUMN last_event_id BIGINT;
ALTER TABLE items ADD COLUMN last_event_at TIMESTAMP;
ALTER TABLE items ADD COLUMN last_office_code TEXT;
ALTER TABLE items ADD COLUMN has_anomaly BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX items_status ON items (status, id);
