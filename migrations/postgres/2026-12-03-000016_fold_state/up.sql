-- What an item's live events have made of it, beyond the status columns
-- already kept (`domain::events::Fold`): a scan that happened after all of
-- them is applied on top of this without reading the item's other events;
-- an earlier one, or a void, folds the whole history again. Tests compare
-- these columns with a fold of the whole history after every test.
-- When the latest live event happened.
ALTER TABLE items ADD COLUMN folded_through TIMESTAMP;
-- Live failed delivery attempts (a second one opens a case).
ALTER TABLE items ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
-- The latest live handover, in custody order (time, then client event id):
-- a sealed item's chain of custody goes on from it.
ALTER TABLE items ADD COLUMN last_handover_type TEXT;

UPDATE items SET folded_through =
 (SELECT MAX(e.occurred_at) FROM events e
   WHERE e.item_id = items.id AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id));
UPDATE items SET failed_attempts =
 (SELECT COUNT(*) FROM events e
   WHERE e.item_id = items.id AND e.event_type = 'delivery_failed' AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id));
UPDATE items SET last_handover_type =
 (SELECT e.event_type FROM events e
   WHERE e.item_id = items.id
     AND e.event_type IN ('accepted', 'arrived_office', 'departed_office', 'arrived_delivery_office', 'out_for_delivery', 'delivered')
     AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id)
   ORDER BY e.occurred_at DESC, e.client_event_id COLLATE "C" DESC LIMIT 1);
