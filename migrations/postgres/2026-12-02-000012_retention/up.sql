-- Retention: each season's purge of candidates' personal data, once.
CREATE TABLE season_purges (
    season_code TEXT PRIMARY KEY NOT NULL REFERENCES seasons (code),
    purged_at   TIMESTAMP NOT NULL,
    purged_by   TEXT NOT NULL,
    items       BIGINT NOT NULL
);
