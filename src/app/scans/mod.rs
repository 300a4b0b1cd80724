//! Scans: record one or a batch (idempotent, in any order), void a wrong
//! scan, read an item's timeline. Single scans from the API go through the
//! [`writer`], which records whatever is waiting in one transaction.

mod command;
mod record;
pub mod writer;

pub use command::{RecordScan, ScanDetail, SealReading, VoidScan};
pub use record::{record_batch, Outcome, ScanOutcome, Scanned};
pub(in crate::app) use record::record_at;

use std::collections::HashMap;

use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::events::{derive, in_occurred_order, Anomaly};
use crate::domain::{fields, s10, Role};
use crate::store::events::{Event, EventVoid};
use crate::store::items::Item;
use crate::store::{self};

/// Declares a recorded event void (GS1 EPCIS error declaration): it stays
/// in the history, marked void, and its item's status is recomputed
/// without it. Only the carrier that recorded it (or an admin) may.
/// Returns the event.
pub fn void(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: VoidScan) -> Result<Event, Error> {
    actor.require(&[Role::Carrier, Role::Admin])?;
    let note = fields::optional_text(command.note.as_deref(), 500).map_err(|r| Error::field("note", r))?;
    let now = clock.now();
    conn.write_transaction(|conn| {
        let not_found = || Error::NotFound(format!("no event {} of your organization", command.event_id));
        let (event, void) = store::events::find_by_public_id(conn, &command.event_id)?.ok_or_else(not_found)?;
        if actor.role != Role::Admin && event.carrier_org_id != actor.org_id {
            return Err(not_found());
        }
        if void.is_some() {
            return Err(Error::Conflict { detail: "the event is already void".into(), existing_id: Some(event.public_id) });
        }
        let declaration = EventVoid {
            event_id: event.id,
            reason: command.reason,
            note,
            voided_by: actor.client_id.clone(),
            voided_at: store::stored_time(now),
            chain_seq: None,
            chain_link: None,
        };
        store::events::insert_void(conn, &declaration)?;
        let refreshed = store::events::refresh_item(conn, event.item_id, store::stored_time(now))?;
        // A correction stays in the history: the void is the chain's next entry.
        store::chain::append(conn, &[store::chain::Entry::Void(&event, &declaration)], crate::app::chain::day_of(now))?;
        crate::escalation::after_refresh(conn, &refreshed.item, refreshed.previous_status, now)?;
        Ok(event)
    })
}

/// One event of an item's timeline.
#[derive(Debug, Clone)]
pub struct TimelineEvent {
    pub event: Event,
    pub void: Option<EventVoid>,
    /// Set when the event contradicts the item's history.
    pub anomaly: Option<Anomaly>,
}

/// An item's whole timeline, in the order things happened, with void
/// declarations and anomalies.
pub fn timeline(conn: &mut DbConn, item: &Item) -> Result<Vec<TimelineEvent>, Error> {
    let rows = store::events::for_item(conn, item.id)?;
    let mut facts: Vec<_> = rows.iter().map(|(e, v)| store::events::fact(e, v.as_ref())).collect();
    let anomalies: HashMap<i64, Anomaly> = derive(&facts).anomalies.into_iter().collect();
    in_occurred_order(&mut facts);
    let mut by_id: HashMap<i64, (Event, Option<EventVoid>)> = rows.into_iter().map(|row| (row.0.id, row)).collect();
    Ok(facts
        .iter()
        .filter_map(|fact| {
            let (event, void) = by_id.remove(&fact.id)?;
            Some(TimelineEvent { event, void, anomaly: anomalies.get(&fact.id).copied() })
        })
        .collect())
}

/// An item named by its number and, when the number was used in several
/// seasons, its season; both checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    pub tracking_number: String,
    pub season: Option<String>,
}

impl ItemRef {
    /// Checks a number and a season as sent.
    pub fn parse(tracking_number: &str, season: Option<&str>) -> Result<ItemRef, Error> {
        let tracking_number = s10::normalize(tracking_number).map_err(|e| Error::field("tracking_number", e.to_string()))?;
        let season = season.map(fields::season).transpose().map_err(|r| Error::field("season", r))?;
        Ok(ItemRef { tracking_number, season })
    }
}

/// The timeline of an item the actor can see.
pub fn item_timeline(conn: &mut DbConn, actor: &Actor, item: &ItemRef) -> Result<Vec<TimelineEvent>, Error> {
    let found = store::items::find_visible(conn, &actor.item_scope(), &item.tracking_number, item.season.as_deref())?
        .ok_or_else(|| Error::NotFound(format!("no item {} that you can see", item.tracking_number)))?;
    timeline(conn, &found)
}
