-- Counters shared by every replica for the public throttles: lookups per
-- address per minute, wrong guesses per number (and per number and address).
-- A bucket names its scope, key and time window; rows are removed once
-- expires_at (unix seconds) has passed, so the table stays small.
CREATE TABLE throttle_counters (
    bucket TEXT PRIMARY KEY NOT NULL,
    hits BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX throttle_counters_expiry ON throttle_counters (expires_at);
