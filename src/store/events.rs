use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{event_voids, events, items};
use crate::db::DbConn;
use crate::domain::cases::{self, History};
use crate::domain::events::{in_occurred_order, seal_reading, Anomaly, EventFact, EventType, Fold, OfficeType, VoidReason};
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
                let ids = insert_unnest(c, part)?;
                stored.extend(ids.into_iter().map(|StoredKey { id, carrier_org_id, client_event_id }| ((carrier_org_id, client_event_id), id)));
            }
        }
    }
    Ok(stored)
}

#[derive(QueryableByName)]
struct StoredKey {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    carrier_org_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    client_event_id: String,
}

/// PostgreSQL's bulk path: one `INSERT … SELECT FROM unnest(arrays)`, a
/// column per array. Its text is the same whatever the number of rows, so it
/// is parsed and planned once per connection, where a multi-row `VALUES`
/// with sixteen parameters per row is parsed and planned at every call
/// (measured: see the README's benchmarks). A key already taken is skipped.
fn insert_unnest(c: &mut diesel::PgConnection, rows: &[&NewEvent]) -> QueryResult<Vec<StoredKey>> {
    use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};
    fn column<'a, T: 'a>(rows: &'a [&NewEvent], f: impl Fn(&'a NewEvent) -> T) -> Vec<T> {
        rows.iter().map(|row| f(row)).collect()
    }
    diesel::sql_query(
        "INSERT INTO events (public_id, item_id, carrier_org_id, client_event_id, event_type, occurred_at, occurred_offset_min, \
           received_at, office_code, office_name, office_type, operator_id, device_id, details, content_hash, created_by) \
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamp[], $7::int[], \
           $8::timestamp[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[]) \
         ON CONFLICT DO NOTHING \
         RETURNING id, carrier_org_id, client_event_id",
    )
    .bind::<Array<Text>, _>(column(rows, |r| r.public_id.as_str()))
    .bind::<Array<BigInt>, _>(column(rows, |r| r.item_id))
    .bind::<Array<Text>, _>(column(rows, |r| r.carrier_org_id.as_str()))
    .bind::<Array<Text>, _>(column(rows, |r| r.client_event_id.as_str()))
    .bind::<Array<Text>, _>(column(rows, |r| r.event_type.as_str()))
    .bind::<Array<Timestamp>, _>(column(rows, |r| r.occurred_at))
    .bind::<Array<Integer>, _>(column(rows, |r| r.occurred_offset_min))
    .bind::<Array<Timestamp>, _>(column(rows, |r| r.received_at))
    .bind::<Array<Text>, _>(column(rows, |r| r.office_code.as_str()))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.office_name.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.office_type.map(|t| t.as_str())))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.operator_id.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.device_id.as_deref()))
    .bind::<Array<Text>, _>(column(rows, |r| r.details.as_str()))
    .bind::<Array<Text>, _>(column(rows, |r| r.content_hash.as_str()))
    .bind::<Array<Text>, _>(column(rows, |r| r.created_by.as_str()))
    .load(c)
}

/// Inserts event rows the bulk way each backend has (what ingest itself
/// uses, without its checks): the benchmark's generator and ingest floor.
/// Keys already taken are skipped. The number of rows stored.
pub fn insert_bulk(conn: &mut DbConn, rows: &[NewEvent]) -> QueryResult<usize> {
    let rows: Vec<&NewEvent> = rows.iter().collect();
    match conn {
        DbConn::Sqlite(_) => insert_new(conn, &rows).map(|stored| stored.len()),
        DbConn::Postgresql(c) => rows.chunks(1000).map(|part| insert_unnest(c, part).map(|ids| ids.len())).sum(),
    }
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
    office_name: Option<String>,
    voided: Option<i64>,
}

impl FactRow {
    /// Where it was made, as the public is told: the office's name, else its code.
    fn place(&self) -> String {
        self.office_name.clone().unwrap_or_else(|| self.office_code.clone())
    }
}

impl FactRow {
    /// A newly stored event, which no void names yet.
    fn of(event: &Event) -> FactRow {
        FactRow {
            id: event.id,
            item_id: event.item_id,
            event_type: event.event_type,
            occurred_at: event.occurred_at,
            client_event_id: event.client_event_id.clone(),
            details: event.details.clone(),
            office_code: event.office_code.clone(),
            office_name: event.office_name.clone(),
            voided: None,
        }
    }

    fn fact(&self) -> EventFact {
        fact_of(self.id, self.event_type, self.occurred_at, &self.client_event_id, &self.details, self.voided.is_some())
    }
}

/// An item after its derived state was recomputed.
pub struct Refreshed {
    pub item: Item,
    /// Its status before.
    pub previous_status: ItemStatus,
    /// What the case rules read about its new events.
    pub history: History,
    /// Its events this refresh flagged: the new ones, or all when it folded the whole history.
    pub flagged: Vec<(i64, Anomaly)>,
}

/// Stands for the scan the item's stored notice columns came from, in a
/// fold made from the item row (which keeps the notice, not its event id).
const STORED_NOTICE: i64 = 0;

/// Recomputes an item's status, last event, deadline and anomaly flag from
/// all its events, and stores them on the item (`now` is its update time).
/// Call in the transaction that changed the events.
pub fn refresh_item(conn: &mut DbConn, item_id: i64, now: NaiveDateTime) -> QueryResult<Refreshed> {
    let mut whole = BTreeMap::new();
    whole.insert(item_id, Vec::new());
    refresh_items(conn, &whole, now)?.pop().ok_or(diesel::result::Error::NotFound)
}

/// Brings the derived state of items up to date after `new_events` were
/// added to them (an item with no new events is folded again from its whole
/// history). When an item's new events all happened after its other live
/// events, they are applied on top of the state kept on the item, without
/// reading its history; otherwise its whole history is read and folded.
/// The items are locked, read and updated in the order of their ids, so
/// that concurrent batches lock rows in the same order; reads go by the
/// thousand items.
pub fn refresh_items(conn: &mut DbConn, new_events: &BTreeMap<i64, Vec<&Event>>, now: NaiveDateTime) -> QueryResult<Vec<Refreshed>> {
    let item_ids: Vec<i64> = new_events.keys().copied().collect();
    let rules = super::rules::all(conn)?;
    let mut before: Vec<Item> = Vec::with_capacity(item_ids.len());
    for part in item_ids.chunks(1000) {
        // On PostgreSQL, two transactions adding events to one item would each
        // derive its state without the other's events, and the last to write
        // would win. Locking the items first (in id order, and NO KEY so as not
        // to wait on the key-share locks our event inserts take) makes the
        // second wait, and its next statement then sees the first's events
        // and the state the first one kept.
        before.extend(match conn {
            DbConn::Postgresql(c) => items::table.filter(items::id.eq_any(part)).order(items::id).for_no_key_update().load::<Item>(c)?,
            DbConn::Sqlite(_) => items::table.filter(items::id.eq_any(part)).load::<Item>(conn)?,
        });
    }
    before.sort_by_key(|item| item.id);
    let mut folds: HashMap<i64, ((Fold, Vec<(i64, Anomaly)>), Vec<FactRow>, History)> = HashMap::with_capacity(before.len());
    let mut whole_history: Vec<i64> = Vec::new();
    for item in &before {
        let mut rows: Vec<FactRow> = new_events.get(&item.id).into_iter().flatten().map(|e| FactRow::of(e)).collect();
        let mut facts: Vec<EventFact> = rows.iter().map(FactRow::fact).collect();
        in_occurred_order(&mut facts);
        match (!facts.is_empty()).then(|| stored_fold(item)).and_then(|kept| kept.then_flagging(&facts).map(|fold| (kept, fold))) {
            Some((kept, fold)) => {
                rows.sort_by_key(|row| row.id);
                folds.insert(item.id, (fold, rows, History::After { before: kept, new: facts }));
            }
            None => whole_history.push(item.id),
        }
    }
    for part in whole_history.chunks(1000) {
        let mut rows_of = fact_rows_by_item(conn, part)?;
        for &id in part {
            let rows = rows_of.remove(&id).unwrap_or_default();
            let facts: Vec<EventFact> = rows.iter().map(FactRow::fact).collect();
            folds.insert(id, (Fold::of_flagging(&facts), rows, History::Whole(facts)));
        }
    }
    let refreshed: Vec<Refreshed> = before
        .into_iter()
        .filter_map(|before| {
            let ((fold, flagged), rows, history) = folds.remove(&before.id)?;
            let item = folded_item(&before, &fold, &rows, &rules, now);
            Some(Refreshed { item, previous_status: before.status, history, flagged })
        })
        .collect();
    write_derived(conn, &refreshed)?;
    Ok(refreshed)
}

/// The events of these items with what the derivation needs of them, by item.
fn fact_rows_by_item(conn: &mut DbConn, item_ids: &[i64]) -> QueryResult<HashMap<i64, Vec<FactRow>>> {
    let mut rows_of: HashMap<i64, Vec<FactRow>> = HashMap::with_capacity(item_ids.len());
    for row in fact_rows(conn, item_ids)? {
        rows_of.entry(row.item_id).or_default().push(row);
    }
    Ok(rows_of)
}

fn fact_rows(conn: &mut DbConn, item_ids: &[i64]) -> QueryResult<Vec<FactRow>> {
    events::table
        .left_join(event_voids::table)
        .filter(events::item_id.eq_any(item_ids))
        .select((
            events::id,
            events::item_id,
            events::event_type,
            events::occurred_at,
            events::client_event_id,
            events::details,
            events::office_code,
            events::office_name,
            event_voids::event_id.nullable(),
        ))
        .load(conn)
}

/// The fold kept on an item row.
fn stored_fold(item: &Item) -> Fold {
    Fold {
        status: item.status,
        last_event: item.last_event_id,
        has_anomaly: item.has_anomaly,
        accepted_at: item.accepted_at,
        through: item.folded_through,
        failed_attempts: item.failed_attempts,
        last_handover: item.last_handover_type,
        notice: item.notice_at.map(|_| STORED_NOTICE),
    }
}

/// The item with `fold` written on it, and the deadline that follows.
/// `rows` hold the events the fold may name; an event it names that is not
/// among them is the one the item already names.
fn folded_item(before: &Item, fold: &Fold, rows: &[FactRow], rules: &[cases::Rule], updated_at: NaiveDateTime) -> Item {
    let row_of = |id: Option<i64>| id.and_then(|id| rows.iter().find(|row| row.id == id));
    let (last_event_at, last_office_code, last_place) = match row_of(fold.last_event) {
        Some(row) => (Some(row.occurred_at), Some(row.office_code.clone()), Some(row.place())),
        None if fold.last_event.is_some() && fold.last_event == before.last_event_id => {
            (before.last_event_at, before.last_office_code.clone(), before.last_place.clone())
        }
        None => (None, None, None),
    };
    let (notice_details, notice_place, notice_at) = match row_of(fold.notice) {
        Some(row) => (Some(row.details.clone()), Some(row.place()), Some(row.occurred_at)),
        None if fold.notice == Some(STORED_NOTICE) => (before.notice_details.clone(), before.notice_place.clone(), before.notice_at),
        None => (None, None, None),
    };
    let rule = cases::rule_for(rules, before.priority);
    // An incident's extension moves the transit time's end; it has
    // already moved `must_arrive_by` itself.
    let extension = chrono::Duration::minutes(before.due_extension_minutes.into());
    let due_at = cases::due_at(
        fold.accepted_at.map(|t| t.and_utc() + extension),
        before.must_arrive_by.map(|t| t.and_utc()),
        &rule,
        before.origin_province == before.dest_province,
    );
    Item {
        status: fold.status,
        last_place,
        notice_details,
        notice_place,
        notice_at,
        accepted_at: fold.accepted_at,
        due_at: due_at.map(|t| t.naive_utc()),
        last_event_id: fold.last_event,
        last_event_at,
        last_office_code,
        has_anomaly: fold.has_anomaly,
        folded_through: fold.through,
        failed_attempts: fold.failed_attempts,
        last_handover_type: fold.last_handover,
        updated_at,
        ..before.clone()
    }
}

/// The derived columns of items that differ from a fold of their whole
/// history, as "item id: column" (none when the kept state is true).
pub fn fold_drift(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let rules = super::rules::all(conn)?;
    let mut drift = Vec::new();
    let ids: Vec<i64> = items::table.select(items::id).order(items::id).load(conn)?;
    for part in ids.chunks(1000) {
        let stored: Vec<Item> = items::table.filter(items::id.eq_any(part)).order(items::id).load(conn)?;
        let mut rows_of = fact_rows_by_item(conn, part)?;
        for item in stored {
            let rows = rows_of.remove(&item.id).unwrap_or_default();
            let facts: Vec<EventFact> = rows.iter().map(FactRow::fact).collect();
            let whole = folded_item(&item, &Fold::of(&facts), &rows, &rules, item.updated_at);
            let columns = [
                ("status", item.status != whole.status),
                ("last_event_id", item.last_event_id != whole.last_event_id),
                ("last_event_at", item.last_event_at != whole.last_event_at),
                ("last_office_code", item.last_office_code != whole.last_office_code),
                ("last_place", item.last_place != whole.last_place),
                ("has_anomaly", item.has_anomaly != whole.has_anomaly),
                ("accepted_at", item.accepted_at != whole.accepted_at),
                ("due_at", item.due_at != whole.due_at),
                ("notice", (&item.notice_details, &item.notice_place, item.notice_at) != (&whole.notice_details, &whole.notice_place, whole.notice_at)),
                ("folded_through", item.folded_through != whole.folded_through),
                ("failed_attempts", item.failed_attempts != whole.failed_attempts),
                ("last_handover_type", item.last_handover_type != whole.last_handover_type),
            ];
            drift.extend(columns.iter().filter(|(_, differs)| *differs).map(|(column, _)| format!("item {}: {column}", item.id)));
        }
    }
    Ok(drift)
}

/// Stores the derived state of refreshed items: on PostgreSQL one statement
/// per thousand items (an update per item would be a round trip each); on
/// SQLite one cached statement per item, which costs no round trip.
fn write_derived(conn: &mut DbConn, refreshed: &[Refreshed]) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(_) => {
            for Refreshed { item, .. } in refreshed {
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
                        items::last_place.eq(&item.last_place),
                        items::notice_details.eq(&item.notice_details),
                        items::notice_place.eq(&item.notice_place),
                        items::notice_at.eq(item.notice_at),
                        items::folded_through.eq(item.folded_through),
                        items::failed_attempts.eq(item.failed_attempts),
                        items::last_handover_type.eq(item.last_handover_type),
                    ))
                    .execute(conn)?;
            }
        }
        DbConn::Postgresql(c) => {
            use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamp};
            for part in refreshed.chunks(1000) {
                let items: Vec<&Item> = part.iter().map(|r| &r.item).collect();
                let Some(updated_at) = items.first().map(|i| i.updated_at) else { continue };
                diesel::sql_query(
                    "UPDATE items SET status = v.status, accepted_at = v.accepted_at, due_at = v.due_at, \
                       last_event_id = v.last_event_id, last_event_at = v.last_event_at, last_office_code = v.last_office_code, \
                       has_anomaly = v.has_anomaly, updated_at = $13, last_place = v.last_place, \
                       notice_details = v.notice_details, notice_place = v.notice_place, notice_at = v.notice_at, \
                       folded_through = v.folded_through, failed_attempts = v.failed_attempts, last_handover_type = v.last_handover_type \
                     FROM unnest($1::bigint[], $2::text[], $3::timestamp[], $4::timestamp[], $5::bigint[], $6::timestamp[], \
                                 $7::text[], $8::bool[], $9::text[], $10::text[], $11::text[], $12::timestamp[], \
                                 $14::timestamp[], $15::int[], $16::text[]) \
                       AS v(id, status, accepted_at, due_at, last_event_id, last_event_at, last_office_code, has_anomaly, \
                            last_place, notice_details, notice_place, notice_at, folded_through, failed_attempts, last_handover_type) \
                     WHERE items.id = v.id",
                )
                .bind::<Array<BigInt>, _>(items.iter().map(|i| i.id).collect::<Vec<_>>())
                .bind::<Array<Text>, _>(items.iter().map(|i| i.status.as_str()).collect::<Vec<_>>())
                .bind::<Array<Nullable<Timestamp>>, _>(items.iter().map(|i| i.accepted_at).collect::<Vec<_>>())
                .bind::<Array<Nullable<Timestamp>>, _>(items.iter().map(|i| i.due_at).collect::<Vec<_>>())
                .bind::<Array<Nullable<BigInt>>, _>(items.iter().map(|i| i.last_event_id).collect::<Vec<_>>())
                .bind::<Array<Nullable<Timestamp>>, _>(items.iter().map(|i| i.last_event_at).collect::<Vec<_>>())
                .bind::<Array<Nullable<Text>>, _>(items.iter().map(|i| i.last_office_code.as_deref()).collect::<Vec<_>>())
                .bind::<Array<Bool>, _>(items.iter().map(|i| i.has_anomaly).collect::<Vec<_>>())
                .bind::<Array<Nullable<Text>>, _>(items.iter().map(|i| i.last_place.as_deref()).collect::<Vec<_>>())
                .bind::<Array<Nullable<Text>>, _>(items.iter().map(|i| i.notice_details.as_deref()).collect::<Vec<_>>())
                .bind::<Array<Nullable<Text>>, _>(items.iter().map(|i| i.notice_place.as_deref()).collect::<Vec<_>>())
                .bind::<Array<Nullable<Timestamp>>, _>(items.iter().map(|i| i.notice_at).collect::<Vec<_>>())
                .bind::<Timestamp, _>(updated_at)
                .bind::<Array<Nullable<Timestamp>>, _>(items.iter().map(|i| i.folded_through).collect::<Vec<_>>())
                .bind::<Array<Integer>, _>(items.iter().map(|i| i.failed_attempts).collect::<Vec<_>>())
                .bind::<Array<Nullable<Text>>, _>(items.iter().map(|i| i.last_handover_type.map(|t| t.as_str())).collect::<Vec<_>>())
                .execute(c)?;
            }
        }
    }
    Ok(())
}
