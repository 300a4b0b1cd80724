//! Recording scan events: checks, idempotency, and keeping each item's
//! derived state current, all in one write transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::dto::{BatchEventEntry, EventDetail, NewEventRequest};
use crate::api::auth::Caller;
use crate::api::items::scope_of;
use crate::api::problem::{ApiError, Problem};
use crate::db::DbConn;
use crate::domain::{fields, s10, FieldErrors};
use crate::store::events::{NewEvent, Recorded};
use crate::store::items::Item;
use crate::store::{self, now_utc};

/// How far ahead of the server's clock a scan time may be (device clock skew).
const MAX_CLOCK_SKEW_MINUTES: i64 = 10;

/// What happened to one event.
pub enum Outcome {
    Created(store::events::Event),
    Replayed(store::events::Event),
    Rejected(Problem),
}

/// Checks an event against its item and builds the row to store.
fn new_event(request: &NewEventRequest, item: &Item, caller: &Caller, now: DateTime<Utc>) -> Result<NewEvent, ApiError> {
    let mut errors = FieldErrors::default();
    let client_event_id = errors.check("client_event_id", fields::text(&request.client_event_id, 100));
    let occurred = errors.check(
        "occurred_at",
        fields::timestamp(&request.occurred_at).and_then(|t| {
            if t.with_timezone(&Utc) > now + Duration::minutes(MAX_CLOCK_SKEW_MINUTES) {
                Err(format!("is in the future ({} UTC now); check the device clock", now.format("%Y-%m-%dT%H:%M:%SZ")))
            } else if t.with_timezone(&Utc) < item.created_at.and_utc() - Duration::days(365) {
                Err("is more than a year before the item was registered".to_string())
            } else {
                Ok(t)
            }
        }),
    );
    let office_code = errors.check("office_code", fields::text(&request.office_code, 32));
    let office_name = errors.check("office_name", fields::optional_text(request.office_name.as_deref(), 200));
    let operator_id = errors.check("operator_id", fields::optional_text(request.operator_id.as_deref(), 100));
    let device_id = errors.check("device_id", fields::optional_text(request.device_id.as_deref(), 100));

    let mut details = serde_json::to_value(&request.detail).expect("event details serialize");
    let details_map = details.as_object_mut().expect("an internally tagged enum is an object");
    details_map.remove("type");
    match &request.detail {
        EventDetail::Delivered { recipient_name, identity_check } => {
            if let Some(name) = errors.check("recipient_name", fields::text(recipient_name, 200)) {
                details_map.insert("recipient_name".into(), name.into());
            }
            if identity_check.is_none() && item.recipient_kind == "candidate" {
                errors.push("identity_check", "is required when delivering to a candidate");
            }
        }
        EventDetail::SealChecked { seal_number, .. } => {
            if let Some(seen) = errors.check("seal_number", fields::text(seal_number, 64)) {
                let matches = item.seal_number.as_ref().map(|registered| *registered == seen);
                details_map.insert("seal_number".into(), seen.into());
                details_map.insert("matches_registered".into(), matches.into());
            }
        }
        _ => {}
    }

    let (Some(client_event_id), Some(occurred), Some(office_code), Some(office_name), Some(operator_id), Some(device_id), true) =
        (client_event_id, occurred, office_code, office_name, operator_id, device_id, errors.is_empty())
    else {
        return Err(ApiError::Validation(errors.0));
    };
    let event_type = request.detail.event_type();
    let office_type = request.detail.office_type().map(|t| t.as_str().to_string());
    let content = serde_json::json!([
        item.id, event_type, details, occurred.to_rfc3339(), office_code, office_name, office_type, operator_id, device_id
    ]);
    Ok(NewEvent {
        public_id: uuid::Uuid::now_v7().to_string(),
        item_id: item.id,
        carrier_org_id: item.carrier_org_id.clone(),
        client_event_id,
        event_type: event_type.as_str().into(),
        occurred_at: occurred.naive_utc(),
        occurred_offset_min: occurred.offset().local_minus_utc() / 60,
        received_at: now_utc(),
        office_code,
        office_name,
        office_type,
        operator_id,
        device_id,
        details: details.to_string(),
        content_hash: hex::encode(Sha256::digest(content.to_string().as_bytes())),
        created_by: caller.client_id.clone(),
    })
}

/// The items with the numbers the entries scan, by number (any caller's:
/// who may scan which is checked per entry).
fn items_scanned(conn: &mut DbConn, entries: &[(&Caller, Result<BatchEventEntry, Problem>)]) -> Result<HashMap<String, Vec<Item>>, ApiError> {
    let mut numbers: Vec<String> = entries.iter().filter_map(|(_, e)| e.as_ref().ok()).filter_map(|e| s10::normalize(&e.tracking_number).ok()).collect();
    numbers.sort();
    numbers.dedup();
    let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let mut by_number: HashMap<String, Vec<Item>> = HashMap::with_capacity(numbers.len());
    for item in store::items::with_numbers(conn, &numbers)? {
        by_number.entry(item.tracking_number.clone()).or_default().push(item);
    }
    Ok(by_number)
}

/// The item an entry scans: among the caller's, the one of its season, or
/// the newest with its number.
fn item_of<'a>(items: &'a HashMap<String, Vec<Item>>, caller: &Caller, entry: &BatchEventEntry) -> Result<&'a Item, ApiError> {
    let number = s10::normalize(&entry.tracking_number).map_err(|e| ApiError::field("tracking_number", e.to_string()))?;
    let season = entry.season.as_deref().map(fields::season).transpose().map_err(|r| ApiError::field("season", r))?;
    let scope = scope_of(caller);
    items
        .get(&number)
        .into_iter()
        .flatten()
        .filter(|item| scope.includes(item) && season.as_ref().is_none_or(|s| *s == item.season))
        .max_by_key(|item| item.id)
        .ok_or_else(|| ApiError::NotFound(format!("no item {number} assigned to your organization")))
}

/// Records entries (already parsed, or the problem parsing them met), set
/// by set: the items are read and the events checked before the write lock
/// is taken (what is checked never changes once an item is registered), then
/// one write transaction stores the new events in bulk and
/// refreshes each touched item once. A bad entry is reported in its outcome
/// and never blocks the others. Returns each entry's outcome, in order.
pub fn record_all(
    conn: &mut DbConn,
    caller: &Caller,
    entries: Vec<Result<BatchEventEntry, Problem>>,
    now: DateTime<Utc>,
) -> Result<Vec<(Outcome, Option<String>)>, ApiError> {
    record_each(conn, entries.into_iter().map(|entry| (caller, entry)).collect(), now)
}

/// [`record_all`] for entries of several callers (the scan writer's groups).
pub fn record_each(
    conn: &mut DbConn,
    entries: Vec<(&Caller, Result<BatchEventEntry, Problem>)>,
    now: DateTime<Utc>,
) -> Result<Vec<(Outcome, Option<String>)>, ApiError> {
    let items = items_scanned(conn, &entries)?;
    let mut outcomes: Vec<Option<(Outcome, Option<String>)>> = Vec::with_capacity(entries.len());
    let (mut rows, mut pending) = (Vec::new(), Vec::new());
    for (caller, entry) in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(problem) => {
                outcomes.push(Some((Outcome::Rejected(problem), None)));
                continue;
            }
        };
        match item_of(&items, caller, &entry).and_then(|item| new_event(&entry.event, item, caller, now).map(|new| (item, new))) {
            Ok((item, new)) => {
                rows.push(new);
                pending.push((outcomes.len(), item.tracking_number.clone()));
                outcomes.push(None);
            }
            Err(e @ (ApiError::Internal(_) | ApiError::Unavailable)) => return Err(e),
            Err(e) => outcomes.push(Some((Outcome::Rejected(e.problem()), crate::api::batch::sent_tracking_number(&entry.tracking_number)))),
        }
    }
    if rows.is_empty() {
        return Ok(outcomes.into_iter().map(|o| o.expect("every entry has an outcome")).collect());
    }
    // Run again as a whole when the database aborts it to break a deadlock:
    // an aborted attempt kept nothing.
    let recorded = conn.write_transaction_retrying(|conn| {
        let recorded = store::events::record_many(conn, &rows)?;
        let mut touched: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for event in recorded.iter().filter_map(|r| if let Recorded::Created(event) = r { Some(event) } else { None }) {
            touched.entry(event.item_id).or_default().push(event.id);
        }
        let item_ids: Vec<i64> = touched.keys().copied().collect();
        let refreshed = store::events::refresh_items(conn, &item_ids)?;
        crate::escalation::after_events(conn, &refreshed, &touched, now)?;
        Ok::<_, ApiError>(recorded)
    })?;
    for ((index, tracking_number), recorded) in pending.into_iter().zip(recorded) {
        let outcome = match recorded {
            Recorded::Created(event) => Outcome::Created(event),
            Recorded::Replayed(event) => Outcome::Replayed(event),
            Recorded::Conflict(existing) => Outcome::Rejected(
                ApiError::Conflict {
                    detail: format!("client_event_id {} was used for a different event", existing.client_event_id),
                    existing_id: Some(existing.public_id),
                }
                .problem(),
            ),
        };
        outcomes[index] = Some((outcome, Some(tracking_number)));
    }
    Ok(outcomes.into_iter().map(|o| o.expect("every entry has an outcome")).collect())
}
