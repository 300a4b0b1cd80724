-- Scheduled reports: a contact point may take the daily steering report.
-- One row per contact and day it was sent: the key makes it once a day,
-- however many processes run the schedule.
ALTER TABLE contact_points ADD COLUMN daily_report BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE report_deliveries (
    contact_id TEXT NOT NULL,
    day        DATE NOT NULL,
    sent_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (contact_id, day)
);
