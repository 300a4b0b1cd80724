use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{event_voids, events, items};
use crate::db::DbConn;
use crate::domain::cases;
use crate::domain::events::{derive, Derived, EventFact, EventType};
use crate::domain::Priority;
use crate::store::items::Item;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: i64,
    pub public_id: String,
    pub item_id: i64,
    pub carrier_org_id: String,
    pub client_event_id: String,
    pub event_type: String,
    pub occurred_at: NaiveDateTime,
    pub occurred_offset_min: i32,
    pub received_at: NaiveDateTime,
    pub office_code: String,
    pub office_name: Option<String>,
    pub office_type: Option<String>,
    pub operator_id: Option<String>,
    pub device_id: Option<String>,
    pub details: String,
    pub content_hash: String,
    pub created_by: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent {
    pub public_id: String,
    pub item_id: i64,
    pub carrier_org_id: String,
    pub client_event_id: String,
    pub event_type: String,
    pub occurred_at: NaiveDateTime,
    pub occurred_offset_min: i32,
    pub received_at: NaiveDateTime,
    pub office_code: String,
    pub office_name: Option<String>,
    pub office_type: Option<String>,
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
    pub reason: String,
    pub note: Option<String>,
    pub voided_by: String,
    pub voided_at: NaiveDateTime,
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

pub fn find_by_client_id(conn: &mut DbConn, carrier_org_id: &str, client_event_id: &str) -> QueryResult<Option<Event>> {
    events::table
        .filter(events::carrier_org_id.eq(carrier_org_id))
        .filter(events::client_event_id.eq(client_event_id))
        .first(conn)
        .optional()
}

/// Stores an event unless its client event id is known (then a replay or a
/// conflict). Call inside a write transaction.
pub fn record(conn: &mut DbConn, new: &NewEvent) -> QueryResult<Recorded> {
    if let Some(existing) = find_by_client_id(conn, &new.carrier_org_id, &new.client_event_id)? {
        return Ok(Recorded::again(existing, new));
    }
    // A concurrent retry can insert between the check and here (PostgreSQL);
    // the unique index refuses ours inside the savepoint and we report the winner.
    match conn.transaction(|conn| diesel::insert_into(events::table).values(new).execute(conn)) {
        Ok(_) => {}
        Err(e) if super::is_unique_violation(&e) => {
            let existing = find_by_client_id(conn, &new.carrier_org_id, &new.client_event_id)?.ok_or(e)?;
            return Ok(Recorded::again(existing, new));
        }
        Err(e) => return Err(e),
    }
    let created = events::table.filter(events::public_id.eq(&new.public_id)).first(conn)?;
    Ok(Recorded::Created(created))
}

/// An item's events with their void declarations, in no particular order.
pub fn for_item(conn: &mut DbConn, item_id: i64) -> QueryResult<Vec<(Event, Option<EventVoid>)>> {
    events::table
        .left_join(event_voids::table)
        .filter(events::item_id.eq(item_id))
        .load(conn)
}

/// The office name (or code) of an event.
pub fn office_of(conn: &mut DbConn, event_id: i64) -> QueryResult<Option<String>> {
    let office: Option<(String, Option<String>)> =
        events::table.find(event_id).select((events::office_code, events::office_name)).first(conn).optional()?;
    Ok(office.map(|(code, name)| name.unwrap_or(code)))
}

pub fn find_by_public_id(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<(Event, Option<EventVoid>)>> {
    events::table.left_join(event_voids::table).filter(events::public_id.eq(public_id)).first(conn).optional()
}

pub fn insert_void(conn: &mut DbConn, void: &EventVoid) -> QueryResult<()> {
    diesel::insert_into(event_voids::table).values(void).execute(conn).map(|_| ())
}

/// The derivation input for a stored event.
pub fn fact(event: &Event, void: Option<&EventVoid>) -> Option<EventFact> {
    let event_type = EventType::parse(&event.event_type)?;
    let seal_ok = if event_type == EventType::SealChecked {
        let details: serde_json::Value = serde_json::from_str(&event.details).unwrap_or_default();
        details["intact"] == true && details["matches_registered"] != false
    } else {
        true
    };
    Some(EventFact {
        id: event.id,
        event_type,
        occurred_at: event.occurred_at,
        tie_key: event.client_event_id.clone(),
        seal_ok,
        voided: void.is_some(),
    })
}

/// An item after its derived state was recomputed.
pub struct Refreshed {
    pub item: Item,
    /// Its status before.
    pub previous_status: String,
    /// Its events, as the derivation saw them.
    pub facts: Vec<EventFact>,
    pub derived: Derived,
}

/// Recomputes an item's status, last event, deadline and anomaly flag from
/// all its events, and stores them on the item. Call in the transaction
/// that changed the events.
pub fn refresh_item(conn: &mut DbConn, item_id: i64) -> QueryResult<Refreshed> {
    let rows = for_item(conn, item_id)?;
    let facts: Vec<EventFact> = rows.iter().filter_map(|(e, v)| fact(e, v.as_ref())).collect();
    let derived = derive(&facts);
    let last = derived.last_event.and_then(|id| rows.iter().find(|(e, _)| e.id == id)).map(|(e, _)| e);
    let accepted_at = facts.iter().filter(|f| !f.voided && f.event_type == EventType::Accepted).map(|f| f.occurred_at).min();
    let before = super::items::find(conn, item_id)?;
    let priority = Priority::parse(&before.priority).unwrap_or(Priority::Standard);
    let rule = super::rules::for_priority(conn, priority)?;
    let due_at = cases::due_at(
        accepted_at.map(|t| t.and_utc()),
        before.must_arrive_by.map(|t| t.and_utc()),
        &rule,
        before.origin_province == before.dest_province,
    );
    let item = diesel::update(items::table.find(item_id))
        .set((
            items::status.eq(derived.status.as_str()),
            items::accepted_at.eq(accepted_at),
            items::due_at.eq(due_at.map(|t| t.naive_utc())),
            items::last_event_id.eq(last.map(|e| e.id)),
            items::last_event_at.eq(last.map(|e| e.occurred_at)),
            items::last_office_code.eq(last.map(|e| e.office_code.clone())),
            items::has_anomaly.eq(!derived.anomalies.is_empty()),
            items::updated_at.eq(super::now_utc()),
        ))
        .execute(conn)
        .and_then(|_| super::items::find(conn, item_id))?;
    Ok(Refreshed { item, previous_status: before.status, facts, derived })
}
