-- Digests: a contact point may take non-critical case news as one mail per
-- period (0: every news at once). Each news waits here until its contact's
-- period is over; a flush marks its lines with one key and writes one mail.
ALTER TABLE contact_points ADD COLUMN digest_minutes INTEGER NOT NULL DEFAULT 0;

CREATE TABLE digest_entries (
    id          INTEGER PRIMARY KEY NOT NULL,
    contact_id  TEXT NOT NULL,
    email       TEXT NOT NULL,
    lang        TEXT NOT NULL,
    line        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    flushed_at  TIMESTAMP,
    digest_key  TEXT
);
CREATE INDEX digest_entries_pending ON digest_entries (flushed_at, contact_id);
CREATE INDEX digest_entries_key ON digest_entries (digest_key);
