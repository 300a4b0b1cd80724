-- Timing rules per priority; an admin may change them.
CREATE TABLE priority_rules (
    priority                     TEXT PRIMARY KEY NOT NULL,
    transit_hours_same_province  INTEGER NOT NULL,
    transit_hours_other_province INTEGER NOT NULL,
    stall_hours                  INTEGER NOT NULL,
    ack_hours                    INTEGER NOT NULL,
    suspected_loss_hours         INTEGER NOT NULL,
    at_risk_margin_hours         INTEGER NOT NULL
);
INSERT INTO priority_rules VALUES ('urgent', 24, 48, 12, 2, 72, 24);
INSERT INTO priority_rules VALUES ('priority', 48, 72, 24, 4, 72, 24);
INSERT INTO priority_rules VALUES ('standard', 72, 120, 48, 8, 72, 24);

ALTER TABLE items ADD COLUMN accepted_at TIMESTAMP;
ALTER TABLE items ADD COLUMN due_at TIMESTAMP;
ALTER TABLE items ADD COLUMN replaces_item_id BIGINT REFERENCES items (id);
ALTER TABLE items ADD COLUMN replaced_by_item_id BIGINT REFERENCES items (id);
-- The sweeper reads only items that need attention: by status, then time.
CREATE INDEX items_status_due ON items (status, due_at);
CREATE INDEX items_status_last_event ON items (status, priority, last_event_at);
CREATE INDEX items_status_must_arrive ON items (status, must_arrive_by);

CREATE TABLE cases (
    id                  INTEGER PRIMARY KEY NOT NULL,
    public_id           TEXT NOT NULL UNIQUE,
    item_id             BIGINT NOT NULL REFERENCES items (id),
    kind                TEXT NOT NULL,
    severity            TEXT NOT NULL,
    level               INTEGER NOT NULL,
    state               TEXT NOT NULL,
    owner_org_id        TEXT NOT NULL REFERENCES organizations (id),
    response_due_at     TIMESTAMP NOT NULL,
    trigger_event_id    BIGINT REFERENCES events (id),
    plan                TEXT,
    expected_at         TIMESTAMP,
    outcome             TEXT,
    replacement_requested BOOLEAN NOT NULL DEFAULT 0,
    opened_at           TIMESTAMP NOT NULL,
    acknowledged_at     TIMESTAMP,
    resolved_at         TIMESTAMP,
    closed_at           TIMESTAMP,
    updated_at          TIMESTAMP NOT NULL
);
-- One item never has two active cases of the same kind.
CREATE UNIQUE INDEX cases_one_active ON cases (item_id, kind) WHERE state IN ('open', 'acknowledged');
CREATE INDEX cases_item ON cases (item_id);
CREATE INDEX cases_rising ON cases (state, response_due_at);
CREATE INDEX cases_owner ON cases (owner_org_id, id);

CREATE TABLE case_entries (
    id          INTEGER PRIMARY KEY NOT NULL,
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    action      TEXT NOT NULL,
    level       INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    note        TEXT,
    at          TIMESTAMP NOT NULL
);
CREATE INDEX case_entries_case ON case_entries (case_id, id);

CREATE TABLE contact_points (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    name             TEXT NOT NULL,
    position         TEXT,
    phone            TEXT,
    email            TEXT,
    case_kinds       TEXT NOT NULL,
    levels           TEXT NOT NULL,
    lang             TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX contact_points_org ON contact_points (organization_id);
