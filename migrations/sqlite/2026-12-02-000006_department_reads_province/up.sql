-- A provincial Department of Education is the steering committee's standing
-- body: it reads every item leaving or reaching its province, as the
-- committee does.
ALTER TABLE organizations ADD COLUMN reads_province BOOLEAN NOT NULL DEFAULT FALSE;
