-- People who sign in to the console with an e-mail and a password. Each is
-- an API client (same role, organization, tokens and revocation) whose
-- secret nobody knows; the password is a second way to get its tokens.
CREATE TABLE users (
    client_id      TEXT PRIMARY KEY NOT NULL REFERENCES api_clients (id),
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    -- May create users of its own organization (an organization's admin).
    manages_users  BOOLEAN NOT NULL DEFAULT FALSE,
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
