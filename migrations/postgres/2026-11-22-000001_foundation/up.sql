CREATE TABLE organizations (
    id          TEXT PRIMARY KEY NOT NULL,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('carrier', 'education', 'overseer')),
    province    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE api_clients (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    name             TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('carrier', 'education', 'overseer', 'admin')),
    secret_hash      TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    revoked_at       TIMESTAMP
);
CREATE INDEX api_clients_organization ON api_clients (organization_id);

-- `id` is internal (compact foreign keys, keyset pagination); `public_id` is the UUID the API shows.
CREATE TABLE items (
    id                   BIGSERIAL PRIMARY KEY,
    public_id            TEXT NOT NULL UNIQUE,
    tracking_number      TEXT NOT NULL,
    season               TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    priority             TEXT NOT NULL,
    status               TEXT NOT NULL,
    sender_org_id        TEXT NOT NULL REFERENCES organizations (id),
    carrier_org_id       TEXT NOT NULL REFERENCES organizations (id),
    origin_province      TEXT NOT NULL,
    recipient_kind       TEXT NOT NULL CHECK (recipient_kind IN ('candidate', 'organization')),
    recipient_org_id     TEXT REFERENCES organizations (id),
    recipient_attention  TEXT,
    candidate_number     TEXT,
    candidate_name       TEXT,
    candidate_dob        DATE,
    candidate_phone      TEXT,
    candidate_email      TEXT,
    dest_province        TEXT NOT NULL,
    dest_ward            TEXT NOT NULL,
    dest_address         TEXT NOT NULL,
    seal_number          TEXT,
    must_arrive_by       TIMESTAMP,
    reference            TEXT,
    content_hash         TEXT NOT NULL,
    created_by           TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    UNIQUE (season, tracking_number)
);
CREATE INDEX items_tracking_number ON items (tracking_number);
CREATE INDEX items_sender ON items (sender_org_id, id);
CREATE INDEX items_carrier ON items (carrier_org_id, id);
CREATE INDEX items_recipient_org ON items (recipient_org_id, id);
CREATE INDEX items_dest_province ON items (dest_province, id);
CREATE INDEX items_origin_province ON items (origin_province, id);
CREATE INDEX items_candidate ON items (candidate_number);
CREATE INDEX items_updated_at ON items (updated_at);
