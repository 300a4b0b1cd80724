-- The acceptance stage: how long a registered item may wait for its
-- carrier's acceptance scan, per priority, and the default priority of
-- each item kind.
ALTER TABLE priority_rules ADD COLUMN accept_hours INTEGER NOT NULL DEFAULT 24;
UPDATE priority_rules SET accept_hours = 4 WHERE priority = 'urgent';
UPDATE priority_rules SET accept_hours = 12 WHERE priority = 'priority';

CREATE TABLE kind_priorities (
    kind TEXT PRIMARY KEY NOT NULL,
    priority TEXT NOT NULL
);
INSERT INTO kind_priorities VALUES
    ('exam_notice', 'priority'),
    ('admission_notice', 'priority'),
    ('official_dispatch', 'priority'),
    ('enrollment_dossier', 'priority'),
    ('result_certificate', 'standard'),
    ('application_dossier', 'standard'),
    ('preference_change_dossier', 'standard');

-- The sweep's acceptance rule reads only items still waiting.
CREATE INDEX items_awaiting_acceptance ON items (created_at) WHERE status = 'registered';
