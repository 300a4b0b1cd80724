ALTER TABLE organizations DROP COLUMN reads_province;
