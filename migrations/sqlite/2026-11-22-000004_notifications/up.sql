-- Webhook subscriptions, one or more per organization.
CREATE TABLE webhooks (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL,
    topics           TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_org ON webhooks (organization_id);

-- Notifications are written here in the transaction of the change that
-- causes them; the dispatcher sends them and records the outcome. A row is
-- leased while being sent, so several processes never send it at once, and
-- a crash only lets the lease expire (the row is sent again).
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    target           TEXT NOT NULL,
    topic            TEXT NOT NULL,
    subject          TEXT,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP NOT NULL,
    lease_owner      TEXT,
    lease_until      TIMESTAMP,
    last_error       TEXT,
    last_status_code INTEGER,
    created_at       TIMESTAMP NOT NULL,
    sent_at          TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_target ON outbox (channel, target, id);
