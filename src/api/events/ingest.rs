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

/// The item an entry scans, if the caller carries it.
fn find_item(
    conn: &mut DbConn,
    caller: &Caller,
    cache: &mut HashMap<(String, Option<String>), Option<Item>>,
    tracking_number: &str,
    season: Option<&str>,
) -> Result<Item, ApiError> {
    let number = s10::normalize(tracking_number).map_err(|e| ApiError::field("tracking_number", e.to_string()))?;
    let season = season.map(fields::season).transpose().map_err(|r| ApiError::field("season", r))?;
    let key = (number.clone(), season.clone());
    if !cache.contains_key(&key) {
        let item = store::items::find_visible(conn, &scope_of(caller), &number, season.as_deref())?;
        cache.insert(key.clone(), item);
    }
    cache[&key].clone().ok_or_else(|| ApiError::NotFound(format!("no item {number} assigned to your organization")))
}

/// Records entries (already parsed, or the problem parsing them met) in one
/// write transaction: each event in its own savepoint, then each touched
/// item's derived state once. Returns each entry's outcome, in order.
pub fn record_all(
    conn: &mut DbConn,
    caller: &Caller,
    entries: Vec<Result<BatchEventEntry, Problem>>,
    now: DateTime<Utc>,
) -> Result<Vec<(Outcome, Option<String>)>, ApiError> {
    conn.write_transaction(|conn| {
        let mut cache = HashMap::new();
        let mut touched: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        let mut outcomes = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(problem) => {
                    outcomes.push((Outcome::Rejected(problem), None));
                    continue;
                }
            };
            let checked = find_item(conn, caller, &mut cache, &entry.tracking_number, entry.season.as_deref())
                .and_then(|item| new_event(&entry.event, &item, caller, now).map(|new| (item, new)));
            let (item, new) = match checked {
                Ok(pair) => pair,
                Err(ApiError::Internal(e)) => return Err(ApiError::Internal(e)),
                Err(ApiError::Unavailable) => return Err(ApiError::Unavailable),
                Err(e) => {
                    outcomes.push((Outcome::Rejected(e.problem()), Some(entry.tracking_number)));
                    continue;
                }
            };
            let outcome = match store::events::record(conn, &new)? {
                Recorded::Created(event) => {
                    touched.entry(event.item_id).or_default().push(event.id);
                    Outcome::Created(event)
                }
                Recorded::Replayed(event) => Outcome::Replayed(event),
                Recorded::Conflict(existing) => Outcome::Rejected(
                    ApiError::Conflict {
                        detail: format!("client_event_id {} was used for a different event", existing.client_event_id),
                        existing_id: Some(existing.public_id),
                    }
                    .problem(),
                ),
            };
            outcomes.push((outcome, Some(item.tracking_number)));
        }
        for (item_id, new_events) in touched {
            let refreshed = store::events::refresh_item(conn, item_id)?;
            crate::escalation::after_events(conn, &refreshed, &new_events, now)?;
        }
        Ok(outcomes)
    })
}
