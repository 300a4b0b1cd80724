-- Area incidents (flood, storm, fire, road closure, outage): the items in
-- the area due in the window are linked; their delay cases are grouped
-- under the incident; the committee may extend their deadlines.
CREATE TABLE incidents (
    id                 INTEGER PRIMARY KEY NOT NULL,
    public_id          TEXT NOT NULL UNIQUE,
    kind               TEXT NOT NULL,
    -- Comma-joined lists (db::TextList): the area.
    provinces          TEXT NOT NULL,
    wards              TEXT NOT NULL,
    office_codes       TEXT NOT NULL,
    starts_at          TIMESTAMP NOT NULL,
    ends_at            TIMESTAMP NOT NULL,
    description        TEXT NOT NULL,
    declared_by_org_id TEXT NOT NULL REFERENCES organizations (id),
    declared_by        TEXT NOT NULL,
    state              TEXT NOT NULL,
    extension_minutes  INTEGER NOT NULL DEFAULT 0,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    closed_at          TIMESTAMP
);

CREATE TABLE incident_items (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    item_id     BIGINT NOT NULL REFERENCES items (id),
    linked_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, item_id)
);
CREATE INDEX incident_items_item ON incident_items (item_id);

-- Added to the effective deadline (an incident's extension).
ALTER TABLE items ADD COLUMN due_extension_minutes INTEGER NOT NULL DEFAULT 0;
-- The incident a delay case is grouped under.
-- (No REFERENCES: SQLite cannot drop a column that has one.)
ALTER TABLE cases ADD COLUMN incident_id BIGINT;
