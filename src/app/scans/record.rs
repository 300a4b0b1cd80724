//! Recording scans: checks, idempotency, and keeping each item's derived
//! state current, all in one write transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, FixedOffset, Utc};
use sha2::{Digest, Sha256};

use super::command::{RecordScan, ScanDetail};
use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::events::Anomaly;
use crate::domain::{fields, s10, FieldErrors, ItemStatus, Role};
use crate::store::events::{Event, NewEvent, Recorded};
use crate::store::items::Item;
use crate::store::{self};

/// How far ahead of the server's clock a scan time may be (device clock skew).
const MAX_CLOCK_SKEW_MINUTES: i64 = 10;

/// What happened to one scan.
#[derive(Debug)]
pub enum Outcome {
    Created(Scanned),
    /// Recorded before with the same content (a retry); nothing new stored.
    Replayed(Event),
    /// Refused; the others of its batch went on.
    Rejected(Error),
}

/// A new scan, with what it made of its item: the answer to its sender
/// needs no second read of the item's history.
#[derive(Debug)]
pub struct Scanned {
    pub event: Event,
    /// Why the scan is flagged, if it is (as the item's timeline shows it now).
    pub anomaly: Option<Anomaly>,
    /// The item's status after it (and the scans recorded with it).
    pub item_status: ItemStatus,
}

/// One scan's outcome, and the number of the item it scanned when one was found.
#[derive(Debug)]
pub struct ScanOutcome {
    pub outcome: Outcome,
    pub tracking_number: Option<String>,
}

/// The checked fields of a scan.
struct Checked {
    client_event_id: String,
    occurred: DateTime<FixedOffset>,
    office_code: String,
    office_name: Option<String>,
    operator_id: Option<String>,
    device_id: Option<String>,
    details: serde_json::Map<String, serde_json::Value>,
}

/// Checks a scan against its item: every offending field, or the checked values.
fn check(scan: &RecordScan, item: &Item, now: DateTime<Utc>) -> Result<Checked, Error> {
    let mut errors = FieldErrors::default();
    let client_event_id = errors.check("client_event_id", fields::text(&scan.client_event_id, 100));
    let occurred = errors.check(
        "occurred_at",
        fields::timestamp(&scan.occurred_at).and_then(|t| {
            if t.with_timezone(&Utc) > now + Duration::minutes(MAX_CLOCK_SKEW_MINUTES) {
                Err(format!("is in the future ({} UTC now); check the device clock", now.format("%Y-%m-%dT%H:%M:%SZ")))
            } else if t.with_timezone(&Utc) < item.created_at.and_utc() - Duration::days(365) {
                Err("is more than a year before the item was registered".to_string())
            } else {
                Ok(t)
            }
        }),
    );
    let office_code = errors.check("office_code", fields::text(&scan.office_code, 32));
    let office_name = errors.check("office_name", fields::optional_text(scan.office_name.as_deref(), 200));
    let operator_id = errors.check("operator_id", fields::optional_text(scan.operator_id.as_deref(), 100));
    let device_id = errors.check("device_id", fields::optional_text(scan.device_id.as_deref(), 100));

    let mut details = scan.detail.fields();
    match &scan.detail {
        ScanDetail::Delivered { recipient_name, identity_check } => {
            if let Some(name) = errors.check("recipient_name", fields::text(recipient_name, 200)) {
                details.insert("recipient_name".into(), name.into());
            }
            if identity_check.is_none() && item.recipient_kind == "candidate" {
                errors.push("identity_check", "is required when delivering to a candidate");
            }
        }
        ScanDetail::HeldAtOffice { office_address, opening_hours, hold_until, .. } => {
            // Stored as checked: trimmed, and the day as YYYY-MM-DD however it was written.
            let checked = [
                ("office_address", errors.check("office_address", fields::optional_text(office_address.as_deref(), 300))),
                ("opening_hours", errors.check("opening_hours", fields::optional_text(opening_hours.as_deref(), 200))),
                ("hold_until", errors.check("hold_until", fields::optional_text(hold_until.as_deref(), 20).and_then(|d| d.map(|d| fields::date(&d).map(|d| d.format("%Y-%m-%d").to_string())).transpose()))),
            ];
            for (key, value) in checked {
                match value {
                    Some(Some(value)) => details.insert(key.into(), value.into()),
                    _ => details.remove(key),
                };
            }
        }
        ScanDetail::SealChecked { .. } if scan.seal.is_some() => {
            errors.push("seal", "a seal_checked scan gives its reading in seal_number and intact");
        }
        ScanDetail::SealChecked { seal_number, .. } => {
            if let Some(seen) = errors.check("seal_number", fields::text(seal_number, 64)) {
                let matches = item.seal_number.as_ref().map(|registered| *registered == seen);
                details.insert("seal_number".into(), seen.into());
                details.insert("matches_registered".into(), matches.into());
            }
        }
        _ => {}
    }

    if let Some(reading) = &scan.seal {
        if let Some(seen) = errors.check("seal.seal_number", fields::text(&reading.seal_number, 64)) {
            let matches = item.seal_number.as_ref().map(|registered| *registered == seen);
            let seal = serde_json::json!({"seal_number": seen, "intact": reading.intact, "matches_registered": matches});
            details.insert("seal".into(), seal);
        }
    }

    match (client_event_id, occurred, office_code, office_name, operator_id, device_id) {
        (Some(client_event_id), Some(occurred), Some(office_code), Some(office_name), Some(operator_id), Some(device_id)) if errors.is_empty() => {
            Ok(Checked { client_event_id, occurred, office_code, office_name, operator_id, device_id, details })
        }
        _ => Err(Error::Invalid(errors.0)),
    }
}

/// Checks a scan against its item and builds the row to store.
fn new_event(scan: &RecordScan, item: &Item, actor: &Actor, now: DateTime<Utc>) -> Result<NewEvent, Error> {
    let checked = check(scan, item, now)?;
    let event_type = scan.detail.event_type();
    let office_type = scan.detail.office_type();
    let details = serde_json::Value::Object(checked.details);
    // The content a retry must repeat to be one: its hash tells a retry from
    // a different scan sent under the same client event id.
    let content = serde_json::json!([
        item.id,
        event_type,
        details,
        checked.occurred.to_rfc3339(),
        checked.office_code,
        checked.office_name,
        office_type,
        checked.operator_id,
        checked.device_id
    ]);
    Ok(NewEvent {
        public_id: uuid::Uuid::now_v7().to_string(),
        item_id: item.id,
        carrier_org_id: item.carrier_org_id.clone(),
        client_event_id: checked.client_event_id,
        event_type,
        // As stored (µs): the item's kept state is compared with it before it is read back.
        occurred_at: store::stored_time(checked.occurred.with_timezone(&Utc)),
        occurred_offset_min: checked.occurred.offset().local_minus_utc() / 60,
        received_at: store::stored_time(now),
        office_code: checked.office_code,
        office_name: checked.office_name,
        office_type,
        operator_id: checked.operator_id,
        device_id: checked.device_id,
        details: details.to_string(),
        content_hash: hex::encode(Sha256::digest(content.to_string().as_bytes())),
        created_by: actor.client_id.clone(),
    })
}

/// The items with the numbers the scans name, by number (any actor's: who
/// may scan which is checked per scan).
fn items_scanned(conn: &mut DbConn, scans: &[(&Actor, &RecordScan)]) -> Result<HashMap<String, Vec<Item>>, Error> {
    let mut numbers: Vec<String> = scans.iter().filter_map(|(_, scan)| s10::normalize(&scan.tracking_number).ok()).collect();
    numbers.sort();
    numbers.dedup();
    let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let mut by_number: HashMap<String, Vec<Item>> = HashMap::with_capacity(numbers.len());
    for item in store::items::with_numbers(conn, &numbers)? {
        by_number.entry(item.tracking_number.clone()).or_default().push(item);
    }
    Ok(by_number)
}

/// The item a scan is of: among the actor's, the one of its season, or the
/// newest with its number.
fn item_of<'a>(items: &'a HashMap<String, Vec<Item>>, actor: &Actor, scan: &RecordScan) -> Result<&'a Item, Error> {
    let number = s10::normalize(&scan.tracking_number).map_err(|e| Error::field("tracking_number", e.to_string()))?;
    let season = scan.season.as_deref().map(fields::season).transpose().map_err(|r| Error::field("season", r))?;
    let scope = actor.item_scope();
    items
        .get(&number)
        .into_iter()
        .flatten()
        .filter(|item| scope.includes(item) && season.as_ref().is_none_or(|s| *s == item.season))
        .max_by_key(|item| item.id)
        .ok_or_else(|| Error::NotFound(format!("no item {number} assigned to your organization")))
}

/// Records a batch of scans of one actor: each is checked and stored on
/// its own, a bad one is reported in its outcome and never blocks the
/// others. One outcome per scan, in order.
pub fn record_batch(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, scans: &[RecordScan]) -> Result<Vec<ScanOutcome>, Error> {
    actor.require(&[Role::Carrier, Role::Admin])?;
    record_each(conn, scans.iter().map(|scan| (actor, scan)).collect(), clock.now())
}

/// Records scans of any actors (the scan writer's groups), set by set: the
/// items are read and the scans checked before the write lock is taken
/// (what is checked never changes once an item is registered), then one
/// write transaction stores the new events in bulk and refreshes each
/// touched item once.
pub(super) fn record_each(conn: &mut DbConn, scans: Vec<(&Actor, &RecordScan)>, now: DateTime<Utc>) -> Result<Vec<ScanOutcome>, Error> {
    let items = items_scanned(conn, &scans)?;
    let mut outcomes: Vec<Option<ScanOutcome>> = Vec::with_capacity(scans.len());
    let (mut rows, mut pending) = (Vec::new(), Vec::new());
    for (actor, scan) in scans {
        match item_of(&items, actor, scan).and_then(|item| new_event(scan, item, actor, now).map(|new| (item, new))) {
            Ok((item, new)) => {
                rows.push(new);
                pending.push((outcomes.len(), item.tracking_number.clone()));
                outcomes.push(None);
            }
            Err(e @ (Error::Internal(_) | Error::Unavailable)) => return Err(e),
            Err(e) => outcomes.push(Some(ScanOutcome { outcome: Outcome::Rejected(e), tracking_number: None })),
        }
    }
    if !rows.is_empty() {
        // Run again as a whole when the database aborts it to break a
        // deadlock: an aborted attempt kept nothing.
        let recorded = conn.write_transaction_retrying(|conn| {
            let recorded = store::events::record_many(conn, &rows)?;
            let mut touched: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
            let mut new_events: BTreeMap<i64, Vec<&Event>> = BTreeMap::new();
            let mut created: Vec<&Event> = Vec::new();
            for event in recorded.iter().filter_map(|r| if let Recorded::Created(event) = r { Some(event) } else { None }) {
                touched.entry(event.item_id).or_default().push(event.id);
                new_events.entry(event.item_id).or_default().push(event);
                created.push(event);
            }
            let refreshed = store::events::refresh_items(conn, &new_events, store::stored_time(now))?;
            // After the refresh, which locks the items: one chain append at a time per item.
            created.sort_by_key(|event| event.id);
            let entries: Vec<store::chain::Entry> = created.into_iter().map(store::chain::Entry::Event).collect();
            store::chain::append(conn, &entries, crate::app::chain::day_of(now))?;
            crate::escalation::after_events(conn, &refreshed, &touched, now)?;
            let after: HashMap<i64, ItemStatus> = refreshed.iter().map(|r| (r.item.id, r.item.status)).collect();
            let flagged: HashMap<i64, Anomaly> = refreshed.into_iter().flat_map(|r| r.flagged).collect();
            Ok::<_, Error>((recorded, after, flagged))
        })?;
        let (recorded, status_after, flagged) = recorded;
        for ((index, tracking_number), recorded) in pending.into_iter().zip(recorded) {
            let outcome = match recorded {
                Recorded::Created(event) => match status_after.get(&event.item_id) {
                    Some(&item_status) => Outcome::Created(Scanned { anomaly: flagged.get(&event.id).copied(), item_status, event }),
                    None => return Err(Error::internal("a new scan's item was not refreshed")),
                },
                Recorded::Replayed(event) => Outcome::Replayed(event),
                Recorded::Conflict(existing) => Outcome::Rejected(Error::Conflict {
                    detail: format!("client_event_id {} was used for a different event", existing.client_event_id),
                    existing_id: Some(existing.public_id),
                }),
            };
            outcomes[index] = Some(ScanOutcome { outcome, tracking_number: Some(tracking_number) });
        }
    }
    let outcomes = outcomes.into_iter().map(|o| o.ok_or_else(|| Error::internal("a scan was left without an outcome"))).collect::<Result<Vec<_>, _>>()?;
    count_outcomes(&outcomes);
    Ok(outcomes)
}

/// Adds a group's outcomes to the scan counters.
fn count_outcomes(outcomes: &[ScanOutcome]) {
    let (mut recorded, mut replayed, mut rejected) = (0u64, 0u64, 0u64);
    for scan in outcomes {
        match scan.outcome {
            Outcome::Created(_) => recorded += 1,
            Outcome::Replayed(_) => replayed += 1,
            Outcome::Rejected(_) => rejected += 1,
        }
    }
    for (outcome, count) in [("recorded", recorded), ("replayed", replayed), ("rejected", rejected)] {
        if count > 0 {
            metrics::counter!(crate::telemetry::names::SCANS, "outcome" => outcome).increment(count);
        }
    }
}

/// One scan recorded at `now` by another workflow of the application, in
/// its transaction (a case resolved as lost records the loss).
pub(in crate::app) fn record_at(conn: &mut DbConn, now: DateTime<Utc>, actor: &Actor, scan: &RecordScan) -> Result<ScanOutcome, Error> {
    record_each(conn, vec![(actor, scan)], now)?.pop().ok_or_else(|| Error::internal("a scan was left without an outcome"))
}
