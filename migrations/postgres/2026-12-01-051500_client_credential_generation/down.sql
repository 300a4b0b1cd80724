ALTER TABLE api_clients DROP COLUMN credential_generation;
