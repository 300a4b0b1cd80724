//! Request and response shapes of scan events.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::events::{Anomaly, EventType, IdentityCheck, NonDeliveryAction, NonDeliveryReason, OfficeType, VoidReason};
use crate::domain::ItemStatus;

/// A scan event.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "arrived_office", "office_type": "transit",
    "client_event_id": "PT-SC01-20260715-000123", "occurred_at": "2026-07-15T08:15:00+07:00",
    "office_code": "VNP-290000", "office_name": "Trung tâm khai thác Việt Trì",
    "operator_id": "nv0421", "device_id": "PDA-17"
}))]
pub struct NewEventRequest {
    /// The carrier's own id for this scan, unique per carrier. Retrying with
    /// the same id is safe: the original result comes back.
    pub client_event_id: String,
    /// When it happened: RFC 3339 with the UTC offset (a local time without
    /// one is refused, since guessing it would shift the scan by hours).
    pub occurred_at: String,
    /// Office or facility where it happened.
    pub office_code: String,
    #[serde(default)]
    pub office_name: Option<String>,
    #[serde(default)]
    pub operator_id: Option<String>,
    #[serde(default)]
    pub device_id: Option<String>,
    /// The event type and its own fields.
    #[serde(flatten)]
    pub detail: EventDetail,
}

/// The event type (`type`) and the fields that go with it. Each type maps to
/// its UPU EMSEVT code where one exists (see `upu_code` in responses).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventDetail {
    /// EMA: posting / acceptance.
    Accepted {},
    /// EMB / EMD / EMJ: arrival at an outward exchange, inward exchange or transit office.
    ArrivedOffice {
        #[serde(default)]
        office_type: Option<OfficeType>,
    },
    /// EMC / EMF / EMK: departure from an outward exchange, inward exchange or transit office.
    DepartedOffice {
        #[serde(default)]
        office_type: Option<OfficeType>,
    },
    /// EMG: arrival at the delivery office.
    ArrivedDeliveryOffice {},
    /// EDG: out for delivery.
    OutForDelivery {},
    /// EMH: unsuccessful delivery attempt.
    DeliveryFailed {
        reason: NonDeliveryReason,
        action: NonDeliveryAction,
        #[serde(default)]
        note: Option<String>,
    },
    /// EMI: final delivery.
    Delivered {
        /// Who signed for it.
        recipient_name: String,
        /// Required when the recipient is a candidate.
        #[serde(default)]
        identity_check: Option<IdentityCheck>,
    },
    /// EDH: held at an office for pickup.
    HeldAtOffice {
        #[serde(default)]
        note: Option<String>,
    },
    /// On its way back to the sender.
    ReturnedToSender {
        #[serde(default)]
        reason: Option<String>,
    },
    /// Seal inspection of a confidential item.
    SealChecked {
        /// The number read off the seal.
        seal_number: String,
        intact: bool,
    },
    Damaged {
        #[serde(default)]
        description: Option<String>,
    },
    /// Scanned at an office that is not on its way.
    Misrouted {
        #[serde(default)]
        note: Option<String>,
    },
    LostDeclared {
        #[serde(default)]
        note: Option<String>,
    },
}

impl EventDetail {
    pub fn event_type(&self) -> EventType {
        match self {
            EventDetail::Accepted {} => EventType::Accepted,
            EventDetail::ArrivedOffice { .. } => EventType::ArrivedOffice,
            EventDetail::DepartedOffice { .. } => EventType::DepartedOffice,
            EventDetail::ArrivedDeliveryOffice {} => EventType::ArrivedDeliveryOffice,
            EventDetail::OutForDelivery {} => EventType::OutForDelivery,
            EventDetail::DeliveryFailed { .. } => EventType::DeliveryFailed,
            EventDetail::Delivered { .. } => EventType::Delivered,
            EventDetail::HeldAtOffice { .. } => EventType::HeldAtOffice,
            EventDetail::ReturnedToSender { .. } => EventType::ReturnedToSender,
            EventDetail::SealChecked { .. } => EventType::SealChecked,
            EventDetail::Damaged { .. } => EventType::Damaged,
            EventDetail::Misrouted { .. } => EventType::Misrouted,
            EventDetail::LostDeclared { .. } => EventType::LostDeclared,
        }
    }

    pub fn office_type(&self) -> Option<OfficeType> {
        match self {
            EventDetail::ArrivedOffice { office_type } | EventDetail::DepartedOffice { office_type } => *office_type,
            _ => None,
        }
    }
}

/// One entry of an event batch: the item's number, and the event.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct BatchEventEntry {
    /// UPU S10 number of the item scanned.
    pub tracking_number: String,
    /// Season of the item, when the number was used in several; default the newest.
    #[serde(default)]
    pub season: Option<String>,
    #[serde(flatten)]
    pub event: NewEventRequest,
}

/// Up to 1000 events, for any items of the carrier.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatchRequest {
    #[schema(value_type = Vec<BatchEventEntry>)]
    pub events: Vec<serde_json::Value>,
}

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

/// The result of recording one event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordedEventView {
    pub event: EventView,
    /// The item's status after this event.
    pub item_status: ItemStatus,
}

/// A void declaration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "did_not_occur", "note": "Scanned the wrong parcel"}))]
pub struct VoidRequest {
    pub reason: VoidReason,
    #[serde(default)]
    pub note: Option<String>,
}

/// Paging of an item's events.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventPageParams {
    /// Season of the item, when the number was used in several.
    pub season: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}
