-- One row that /readyz rewrites while writes are failing, to see whether
-- the database can store data again (see src/db/faults.rs).
CREATE TABLE write_probes (
    id INTEGER PRIMARY KEY,
    written_at TEXT NOT NULL,
    filler BYTEA NOT NULL
);
