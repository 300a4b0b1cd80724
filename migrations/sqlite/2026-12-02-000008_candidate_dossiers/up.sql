-- Candidates' own dossiers: the candidate is the sender; sender_org_id is
-- then the organization that registered it on the candidate's behalf (the
-- accepting carrier or the receiving institution).
ALTER TABLE items ADD COLUMN sent_by_candidate BOOLEAN NOT NULL DEFAULT FALSE;

-- Electronic pre-advice of a dossier: what the receiving institution can
-- rely on before the paper arrives.
CREATE TABLE pre_advices (
    item_id             BIGINT PRIMARY KEY NOT NULL REFERENCES items (id),
    recipient_org_id    TEXT NOT NULL REFERENCES organizations (id),
    candidate_number    TEXT NOT NULL,
    candidate_name      TEXT NOT NULL,
    programme           TEXT NOT NULL,
    document_digest     TEXT NOT NULL,
    submitted_by        TEXT NOT NULL,
    submitted_at        TIMESTAMP NOT NULL,
    acknowledged_by     TEXT,
    acknowledged_at     TIMESTAMP
);
CREATE INDEX pre_advices_recipient ON pre_advices (recipient_org_id, acknowledged_at);
