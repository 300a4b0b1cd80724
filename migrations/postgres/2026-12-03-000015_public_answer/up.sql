-- The public lookup's answer kept on the item itself, so that a lookup is
-- one read of one row by its number (the lookup is the hottest read there
-- is: a results day brings every candidate at once). Each column is kept
-- current by what changes it, in the same transaction: the derivation of
-- the item's status (last place, the notice scan), incidents, pre-advices
-- and replacements. (Whether a case is open stays a probe of the cases'
-- index: cases change often, and writing the item each time would cost the
-- sweeper a random write per case for no faster lookup.) Tests compare
-- these columns with the same facts derived from the other tables after
-- every test.
ALTER TABLE items ADD COLUMN last_place TEXT;
-- The scan behind a held, failed-attempt or delivered status.
ALTER TABLE items ADD COLUMN notice_details TEXT;
ALTER TABLE items ADD COLUMN notice_place TEXT;
ALTER TABLE items ADD COLUMN notice_at TIMESTAMP;
-- The kind of the newest open area incident the item is linked to.
ALTER TABLE items ADD COLUMN open_incident_kind TEXT;
ALTER TABLE items ADD COLUMN pre_advice_acknowledged BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE items ADD COLUMN replaced_by_number TEXT;

UPDATE items SET last_place = (SELECT COALESCE(e.office_name, e.office_code) FROM events e WHERE e.id = items.last_event_id)
 WHERE last_event_id IS NOT NULL;
UPDATE items SET (notice_details, notice_place, notice_at) =
 (SELECT x.details, COALESCE(x.office_name, x.office_code), x.occurred_at FROM events x
   WHERE x.item_id = items.id AND x.event_type = items.status
     AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = x.id)
   ORDER BY x.occurred_at DESC, x.id DESC LIMIT 1)
 WHERE status IN ('held_at_office', 'delivery_failed', 'delivered');
UPDATE items SET open_incident_kind =
 (SELECT n.kind FROM incident_items ii JOIN incidents n ON n.id = ii.incident_id
   WHERE ii.item_id = items.id AND n.state = 'open' ORDER BY n.id DESC LIMIT 1)
 WHERE id IN (SELECT ii.item_id FROM incident_items ii JOIN incidents n ON n.id = ii.incident_id WHERE n.state = 'open');
UPDATE items SET pre_advice_acknowledged = TRUE WHERE id IN (SELECT item_id FROM pre_advices WHERE acknowledged_at IS NOT NULL);
UPDATE items SET replaced_by_number = (SELECT r.tracking_number FROM items r WHERE r.id = items.replaced_by_item_id)
 WHERE replaced_by_item_id IS NOT NULL;
