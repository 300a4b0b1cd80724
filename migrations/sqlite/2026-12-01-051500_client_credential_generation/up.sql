-- Each secret rotation bumps the generation; tokens carry the generation they
-- were issued under, so rotating a secret also ends every older token.
ALTER TABLE api_clients ADD COLUMN credential_generation BIGINT NOT NULL DEFAULT 0;
