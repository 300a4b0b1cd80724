-- A contact point the candidates' page may show: an organization's hotline
-- or help desk (never a person's own phone unless the organization says so).
ALTER TABLE contact_points ADD COLUMN public BOOLEAN NOT NULL DEFAULT FALSE;
