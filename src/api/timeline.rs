//! An item's timeline as the API shows it: the events endpoints and the
//! item detail both show it, so it lives in neither.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::problem::ApiError;
use crate::app::scans::TimelineEvent;
use crate::db::DbConn;
use crate::domain::events::{Anomaly, EventType, OfficeType, VoidReason};
use crate::store::events::{Event, EventVoid};
use crate::store::items::Item;

/// The void declaration of an event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VoidView {
    pub reason: VoidReason,
    pub note: Option<String>,
    /// API client that declared it.
    pub voided_by: String,
    pub voided_at: chrono::DateTime<chrono::Utc>,
}

/// A recorded event, as it appears in an item's timeline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a2b4-…", "client_event_id": "PT-SC01-20260715-000123", "type": "arrived_office", "upu_code": "EMJ",
    "occurred_at": "2026-07-15T01:15:00Z", "occurred_offset": "+07:00", "received_at": "2026-07-15T01:20:03Z",
    "office_code": "VNP-290000", "office_name": "Trung tâm khai thác Việt Trì", "office_type": "transit",
    "operator_id": "nv0421", "device_id": "PDA-17", "details": {}, "voided": null, "anomaly": null
}))]
pub struct EventView {
    pub id: String,
    pub client_event_id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// UPU EMSEVT code, where the type has one.
    pub upu_code: Option<String>,
    /// When it happened, in UTC.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// The UTC offset the carrier sent with the time, e.g. `+07:00`.
    pub occurred_offset: String,
    /// When ExamPost received it.
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub office_code: String,
    pub office_name: Option<String>,
    pub office_type: Option<OfficeType>,
    pub operator_id: Option<String>,
    pub device_id: Option<String>,
    /// The type's own fields (reason, recipient, seal...). Seal checks add
    /// `matches_registered`: whether the seal number is the registered one.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// Set when the event was declared void; it then no longer counts.
    pub voided: Option<VoidView>,
    /// Set when the event contradicts the item's history.
    pub anomaly: Option<Anomaly>,
}

fn offset_text(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

pub fn event_view(event: &Event, void: Option<&EventVoid>, anomaly: Option<Anomaly>) -> EventView {
    let (event_type, office_type) = (event.event_type, event.office_type);
    EventView {
        id: event.public_id.clone(),
        client_event_id: event.client_event_id.clone(),
        event_type,
        upu_code: event_type.upu_code(office_type).map(str::to_string),
        occurred_at: event.occurred_at.and_utc(),
        occurred_offset: offset_text(event.occurred_offset_min),
        received_at: event.received_at.and_utc(),
        office_code: event.office_code.clone(),
        office_name: event.office_name.clone(),
        office_type,
        operator_id: event.operator_id.clone(),
        device_id: event.device_id.clone(),
        details: serde_json::from_str(&event.details).unwrap_or_default(),
        voided: void.map(|v| VoidView {
            reason: v.reason,
            note: v.note.clone(),
            voided_by: v.voided_by.clone(),
            voided_at: v.voided_at.and_utc(),
        }),
        anomaly,
    }
}

/// The views of a timeline's events, in its order.
pub fn views(timeline: &[TimelineEvent]) -> Vec<EventView> {
    timeline.iter().map(|t| event_view(&t.event, t.void.as_ref(), t.anomaly)).collect()
}

/// An item's whole timeline, in the order things happened, with void
/// markers and anomalies.
pub fn timeline(conn: &mut DbConn, item: &Item) -> Result<Vec<EventView>, ApiError> {
    Ok(views(&crate::app::scans::timeline(conn, item)?))
}
