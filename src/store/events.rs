use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{event_voids, events, items};
use crate::db::DbConn;
use crate::domain::cases;
use crate::domain::events::{derive, seal_reading, Derived, EventFact, EventType, OfficeType, VoidReason};
use crate::domain::ItemStatus;
use crate::store::items::Item;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: i64,
    pub public_id: String,
    pub item_id: i64,
    pub carrier_org_id: String,
    pub client_event_id: String,
    pub event_type: EventType,
    pub occurred_at: NaiveDateTime,
    pub occurred_offset_min: i32,
    pub received_at: NaiveDateTime,
    pub office_code: String,
    pub office_name: Option<String>,
    pub office_type: Option<OfficeType>,
    pub operator_id: Option<String>,
    pub device_id: Option<String>,
    pub details: String,
    pub content_hash: String,
    pub created_by: String,
    /// Its place in its item's chain, and its link (`domain::chain`).
    pub chain_seq: Option<i64>,
    pub chain_link: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent {
    pub public_id: String,
    pub item_id: i64,
    pub carrier_org_id: String,
    pub client_event_id: String,
    pub event_type: EventType,
    pub occurred_at: NaiveDateTime,
    pub occurred_offset_min: i32,
    pub received_at: NaiveDateTime,
    pub office_code: String,
    pub office_name: Option<String>,
    pub office_type: Option<OfficeType>,
    pub operator_id: Option<String>,
    pub device_id: Option<String>,
    pub details: String,
    pub content_hash: String,
    pub created_by: String,
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = event_voids)]
pub struct EventVoid {
    pub event_id: i64,
    pub reason: VoidReason,
    pub note: Option<String>,
    pub voided_by: String,
    pub voided_at: NaiveDateTime,
    pub chain_seq: Option<i64>,
    pub chain_link: Option<Vec<u8>>,
}

/// What recording an event did.
#[derive(Debug)]
pub enum Recorded {
    Created(Event),
    /// Sent before with the same content (a retry); nothing new stored.
    Replayed(Event),
    /// The client event id was used before for different content.
    Conflict(Event),
}

impl Recorded {
    fn again(existing: Event, new: &NewEvent) -> Self {
        if existing.content_hash == new.content_hash {
            Recorded::Replayed(existing)
        } else {
            Recorded::Conflict(existing)
        }
    }
}

/// The (carrier, client event id) that makes an event unique.
type ClientKey = (String, String);

fn key_of(new: &NewEvent) -> ClientKey {
    (new.carrier_org_id.clone(), new.client_event_id.clone())
}

impl Event {
    /// The stored row of `new`, which the database gave `id`.
    fn stored(id: i64, new: &NewEvent) -> Event {
        let new = new.clone();
        Event {
            id,
            public_id: new.public_id,
            item_id: new.item_id,
            carrier_org_id: new.carrier_org_id,
            client_event_id: new.client_event_id,
            event_type: new.event_type,
            occurred_at: new.occurred_at,
            occurred_offset_min: new.occurred_offset_min,
            received_at: new.received_at,
            office_code: new.office_code,
            office_name: new.office_name,
            office_type: new.office_type,
            operator_id: new.operator_id,
            device_id: new.device_id,
            details: new.details,
            content_hash: new.content_hash,
            created_by: new.created_by,
            chain_seq: None,
            chain_link: None,
        }
    }
}

/// Inserts the rows whose key is not taken and returns the ids of those it
/// stored. A key taken by a concurrent transaction waits for it and is
/// skipped, never an error. PostgreSQL gets multi-row statements; SQLite,
/// which has no round trips to save, one cached statement per row (diesel's
/// own SQLite batch does the same, but fails on the first skipped row).
fn insert_new(conn: &mut DbConn, rows: &[&NewEvent]) -> QueryResult<HashMap<ClientKey, i64>> {
    let mut stored = HashMap::with_capacity(rows.len());
    let returning = (events::id, events::carrier_org_id, events::client_event_id);
    match conn {
        DbConn::Sqlite(c) => {
            for row in rows {
                let id: Option<(i64, String, String)> =
                    diesel::insert_into(events::table).values(*row).on_conflict_do_nothing().returning(returning).get_result(c).optional()?;
                stored.extend(id.map(|(id, carrier, client_id)| ((carrier, client_id), id)));
            }
        }
        DbConn::Postgresql(c) => {
            for part in rows.chunks(1000) {
                let ids: Vec<(i64, String, String)> =
                    diesel::insert_into(events::table).values(part.to_vec()).on_conflict_do_nothing().returning(returning).get_results(c)?;
                stored.extend(ids.into_iter().map(|(id, carrier, client_id)| ((carrier, client_id), id)));
            }
        }
    }
    Ok(stored)
}

/// The stored events with these keys.
fn find_by_client_ids(conn: &mut DbConn, keys: &[ClientKey]) -> QueryResult<HashMap<ClientKey, Event>> {
    let mut by_carrier: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (carrier, client_id) in keys {
        by_carrier.entry(carrier).or_default().push(client_id);
    }
    let mut found = HashMap::with_capacity(keys.len());
    for (carrier, client_ids) in by_carrier {
        for part in client_ids.chunks(1000) {
            let events: Vec<Event> =
                events::table.filter(events::carrier_org_id.eq(carrier)).filter(events::client_event_id.eq_any(part)).load(conn)?;
            found.extend(events.into_iter().map(|e| ((e.carrier_org_id.clone(), e.client_event_id.clone()), e)));
        }
    }
    Ok(found)
}

/// Stores events whose client event id (per carrier) is new; the others are
/// replays or conflicts with the stored event, as are repeats of a key within
/// `rows` (the first one is stored). One result per row, in order. Call
/// inside a write transaction.
pub fn record_many(conn: &mut DbConn, rows: &[NewEvent]) -> QueryResult<Vec<Recorded>> {
    let mut first_with_key: HashMap<ClientKey, usize> = HashMap::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        first_with_key.entry(key_of(row)).or_insert(index);
    }
    let mut firsts: Vec<&NewEvent> = rows.iter().enumerate().filter(|(i, row)| first_with_key[&key_of(row)] == *i).map(|(_, row)| row).collect();
    // Two transactions inserting the same new keys wait on each other's
    // uncommitted rows; in different orders each would hold a key the other
    // waits for (a deadlock on PostgreSQL). In key order, the later one
    // waits for the earlier one's first key and then finds them all taken.
    firsts.sort_by(|a, b| (&a.carrier_org_id, &a.client_event_id).cmp(&(&b.carrier_org_id, &b.client_event_id)));
    let inserted = insert_new(conn, &firsts)?;
    let known_before: Vec<ClientKey> = firsts.iter().map(|row| key_of(row)).filter(|key| !inserted.contains_key(key)).collect();
    let known = find_by_client_ids(conn, &known_before)?;
    rows.iter()
        .enumerate()
        .map(|(index, row)| {
            let key = key_of(row);
            let first = first_with_key[&key];
            match (inserted.get(&key), known.get(&key)) {
                (Some(&id), _) if first == index => Ok(Recorded::Created(Event::stored(id, row))),
                (Some(&id), _) => Ok(Recorded::again(Event::stored(id, &rows[first]), row)),
                (None, Some(existing)) => Ok(Recorded::again(existing.clone(), row)),
                // Skipped as taken, yet not found: only a concurrent delete could do that.
                (None, None) => Err(diesel::result::Error::NotFound),
            }
        })
        .collect()
}

/// An item's events with their void declarations, in no particular order.
pub fn for_item(conn: &mut DbConn, item_id: i64) -> QueryResult<Vec<(Event, Option<EventVoid>)>> {
    events::table
        .left_join(event_voids::table)
        .filter(events::item_id.eq(item_id))
        .load(conn)
}

/// Events with no place in a chain (rows added outside the service), up to `limit`.
pub fn unchained(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Event>> {
    events::table.filter(events::chain_seq.is_null()).order(events::id).limit(limit).load(conn)
}

pub fn find_by_public_id(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<(Event, Option<EventVoid>)>> {
    events::table.left_join(event_voids::table).filter(events::public_id.eq(public_id)).first(conn).optional()
}

pub fn insert_void(conn: &mut DbConn, void: &EventVoid) -> QueryResult<()> {
    diesel::insert_into(event_voids::table).values(void).execute(conn).map(|_| ())
}

/// The derivation input for a stored event.
pub fn fact(event: &Event, void: Option<&EventVoid>) -> EventFact {
    fact_of(event.id, event.event_type, event.occurred_at, &event.client_event_id, &event.details, void.is_some())
}

fn fact_of(id: i64, event_type: EventType, occurred_at: NaiveDateTime, client_event_id: &str, details: &str, voided: bool) -> EventFact {
    let (seal_checked, seal_ok) = seal_reading(event_type, details);
    EventFact { id, event_type, occurred_at, tie_key: client_event_id.to_string(), seal_ok, seal_checked, voided }
}

/// The columns of an event that its item's derived state depends on.
#[derive(Queryable)]
struct FactRow {
    id: i64,
    item_id: i64,
    event_type: EventType,
    occurred_at: NaiveDateTime,
    client_event_id: String,
    details: String,
    office_code: String,
    voided: Option<i64>,
}

impl FactRow {
    fn fact(&self) -> EventFact {
        fact_of(self.id, self.event_type, self.occurred_at, &self.client_event_id, &self.details, self.voided.is_some())
    }
}

/// An item after its derived state was recomputed.
pub struct Refreshed {
    pub item: Item,
    /// Its status before.
    pub previous_status: ItemStatus,
    /// Its events, as the derivation saw them.
    pub facts: Vec<EventFact>,
    pub derived: Derived,
}

/// Recomputes an item's status, last event, deadline and anomaly flag from
/// all its events, and stores them on the item (`now` is its update time).
/// Call in the transaction that changed the events.
pub fn refresh_item(conn: &mut DbConn, item_id: i64, now: NaiveDateTime) -> QueryResult<Refreshed> {
    refresh_items(conn, &[item_id], now)?.pop().ok_or(diesel::result::Error::NotFound)
}

/// [`refresh_item`] for many items at once: their events, the items and the
/// rules are each read in one query (per thousand items); the items are
/// updated in the order of their ids, so that concurrent batches lock rows
/// in the same order.
pub fn refresh_items(conn: &mut DbConn, item_ids: &[i64], now: NaiveDateTime) -> QueryResult<Vec<Refreshed>> {
    let rules = super::rules::all(conn)?;
    let mut before: Vec<Item> = Vec::with_capacity(item_ids.len());
    let mut facts_of: HashMap<i64, Vec<FactRow>> = HashMap::with_capacity(item_ids.len());
    for part in item_ids.chunks(1000) {
        // On PostgreSQL, two transactions adding events to one item would each
        // derive its state without the other's events, and the last to write
        // would win. Locking the items first (in id order, and NO KEY so as not
        // to wait on the key-share locks our event inserts take) makes the
        // second wait, and its next statement then sees the first's events.
        before.extend(match conn {
            DbConn::Postgresql(c) => items::table.filter(items::id.eq_any(part)).order(items::id).for_no_key_update().load::<Item>(c)?,
            DbConn::Sqlite(_) => items::table.filter(items::id.eq_any(part)).load::<Item>(conn)?,
        });
        let rows: Vec<FactRow> = events::table
            .left_join(event_voids::table)
            .filter(events::item_id.eq_any(part))
            .select((
                events::id,
                events::item_id,
                events::event_type,
                events::occurred_at,
                events::client_event_id,
                events::details,
                events::office_code,
                event_voids::event_id.nullable(),
            ))
            .load(conn)?;
        for row in rows {
            facts_of.entry(row.item_id).or_default().push(row);
        }
    }
    before.sort_by_key(|item| item.id);
    let updated_at = now;
    before
        .into_iter()
        .map(|before| {
            let rows = facts_of.remove(&before.id).unwrap_or_default();
            let facts: Vec<EventFact> = rows.iter().map(FactRow::fact).collect();
            let derived = derive(&facts);
            let last = derived.last_event.and_then(|id| rows.iter().find(|row| row.id == id));
            let accepted_at = facts.iter().filter(|f| !f.voided && f.event_type == EventType::Accepted).map(|f| f.occurred_at).min();
            let rule = cases::rule_for(&rules, before.priority);
            // An incident's extension moves the transit time's end; it has
            // already moved `must_arrive_by` itself.
            let extension = chrono::Duration::minutes(before.due_extension_minutes.into());
            let due_at = cases::due_at(
                accepted_at.map(|t| t.and_utc() + extension),
                before.must_arrive_by.map(|t| t.and_utc()),
                &rule,
                before.origin_province == before.dest_province,
            );
            let item = Item {
                status: derived.status,
                accepted_at,
                due_at: due_at.map(|t| t.naive_utc()),
                last_event_id: last.map(|e| e.id),
                last_event_at: last.map(|e| e.occurred_at),
                last_office_code: last.map(|e| e.office_code.clone()),
                has_anomaly: !derived.anomalies.is_empty(),
                updated_at,
                ..before.clone()
            };
            diesel::update(items::table.find(item.id))
                .set((
                    items::status.eq(&item.status),
                    items::accepted_at.eq(item.accepted_at),
                    items::due_at.eq(item.due_at),
                    items::last_event_id.eq(item.last_event_id),
                    items::last_event_at.eq(item.last_event_at),
                    items::last_office_code.eq(&item.last_office_code),
                    items::has_anomaly.eq(item.has_anomaly),
                    items::updated_at.eq(item.updated_at),
                ))
                .execute(conn)?;
            Ok(Refreshed { item, previous_status: before.status, facts, derived })
        })
        .collect()
}
