DROP TABLE report_deliveries;
ALTER TABLE contact_points DROP COLUMN daily_report;
