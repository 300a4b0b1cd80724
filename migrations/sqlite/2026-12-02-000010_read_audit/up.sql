-- Read audit: every read of candidates' personal data by staff, with who,
-- when, from where, which items (or the query and the count) and which fields.
CREATE TABLE read_audit (
    id               INTEGER PRIMARY KEY NOT NULL,
    at               TIMESTAMP NOT NULL,
    client_id        TEXT NOT NULL,
    org_id           TEXT NOT NULL,
    role             TEXT NOT NULL,
    address          TEXT,
    action           TEXT NOT NULL,
    -- The items read by number (views, and list pages up to a hundred items).
    tracking_numbers TEXT,
    -- The list's or export's filters, as the client sent them.
    query            TEXT,
    item_count       BIGINT NOT NULL,
    fields           TEXT NOT NULL,
    -- The destination provinces of the items read, as ',a,b,': an overseer
    -- sees the reads of its province's candidates.
    provinces        TEXT NOT NULL
);
CREATE INDEX read_audit_at ON read_audit (at);
