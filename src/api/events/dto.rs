//! Request and response shapes of scan events.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::timeline::EventView;
use crate::app::scans::{RecordScan, ScanDetail, SealReading, VoidScan};
use crate::domain::events::{EventType, IdentityCheck, NonDeliveryAction, NonDeliveryReason, OfficeType, VoidReason};
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
    /// The seal as read at this scan. Required at every handover (acceptance,
    /// departure, arrival, out for delivery, delivery) of a confidential
    /// item: a handover without it, a broken or foreign seal, or a gap in the
    /// chain opens a critical tampering case at once.
    #[serde(default)]
    pub seal: Option<SealReadingRequest>,
    /// The event type and its own fields.
    #[serde(flatten)]
    pub detail: EventDetail,
}

/// A seal as read at a scan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"seal_number": "SEAL-0001", "intact": true}))]
pub struct SealReadingRequest {
    /// The number read off the seal.
    pub seal_number: String,
    pub intact: bool,
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
        /// The holding office's street address, shown to the candidate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        office_address: Option<String>,
        /// When the office is open, e.g. "7:00–19:00, thứ Hai đến thứ Bảy".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        opening_hours: Option<String>,
        /// The last day it is kept before going back (`YYYY-MM-DD` or `dd/mm/yyyy`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hold_until: Option<String>,
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

impl From<EventDetail> for ScanDetail {
    fn from(detail: EventDetail) -> Self {
        match detail {
            EventDetail::Accepted {} => ScanDetail::Accepted,
            EventDetail::ArrivedOffice { office_type } => ScanDetail::ArrivedOffice { office_type },
            EventDetail::DepartedOffice { office_type } => ScanDetail::DepartedOffice { office_type },
            EventDetail::ArrivedDeliveryOffice {} => ScanDetail::ArrivedDeliveryOffice,
            EventDetail::OutForDelivery {} => ScanDetail::OutForDelivery,
            EventDetail::DeliveryFailed { reason, action, note } => ScanDetail::DeliveryFailed { reason, action, note },
            EventDetail::Delivered { recipient_name, identity_check } => ScanDetail::Delivered { recipient_name, identity_check },
            EventDetail::HeldAtOffice { note, office_address, opening_hours, hold_until } => {
                ScanDetail::HeldAtOffice { note, office_address, opening_hours, hold_until }
            }
            EventDetail::ReturnedToSender { reason } => ScanDetail::ReturnedToSender { reason },
            EventDetail::SealChecked { seal_number, intact } => ScanDetail::SealChecked { seal_number, intact },
            EventDetail::Damaged { description } => ScanDetail::Damaged { description },
            EventDetail::Misrouted { note } => ScanDetail::Misrouted { note },
            EventDetail::LostDeclared { note } => ScanDetail::LostDeclared { note },
        }
    }
}

impl NewEventRequest {
    /// The scan this request sends, of the item with this number.
    pub fn scan_of(self, tracking_number: String, season: Option<String>) -> RecordScan {
        RecordScan {
            tracking_number,
            season,
            client_event_id: self.client_event_id,
            occurred_at: self.occurred_at,
            office_code: self.office_code,
            office_name: self.office_name,
            operator_id: self.operator_id,
            device_id: self.device_id,
            seal: self.seal.map(|s| SealReading { seal_number: s.seal_number, intact: s.intact }),
            detail: self.detail.into(),
        }
    }
}

impl From<BatchEventEntry> for RecordScan {
    fn from(entry: BatchEventEntry) -> Self {
        entry.event.scan_of(entry.tracking_number, entry.season)
    }
}

impl VoidRequest {
    pub fn command(self, event_id: String) -> VoidScan {
        VoidScan { event_id, reason: self.reason, note: self.note }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The stored details of a scan are what they were when the API stored
    /// its request's own fields: a retry of a scan recorded before must hash
    /// the same.
    #[test]
    fn scan_fields_are_the_request_fields() {
        let details = [
            json!({"type": "accepted"}),
            json!({"type": "arrived_office"}),
            json!({"type": "arrived_office", "office_type": "inward_exchange"}),
            json!({"type": "departed_office", "office_type": "transit"}),
            json!({"type": "arrived_delivery_office"}),
            json!({"type": "out_for_delivery"}),
            json!({"type": "delivery_failed", "reason": "recipient_absent", "action": "retry_next_round"}),
            json!({"type": "delivery_failed", "reason": "other", "action": "contact_sender", "note": "gate locked"}),
            json!({"type": "delivered", "recipient_name": "Nguyễn Văn A"}),
            json!({"type": "delivered", "recipient_name": "B", "identity_check": "citizen_id_card"}),
            json!({"type": "held_at_office", "note": "n"}),
            json!({"type": "held_at_office", "office_address": "2 Trần Phú", "opening_hours": "7:00–19:00", "hold_until": "2099-07-25"}),
            json!({"type": "returned_to_sender"}),
            json!({"type": "returned_to_sender", "reason": "refused"}),
            json!({"type": "seal_checked", "seal_number": "S-1", "intact": false}),
            json!({"type": "damaged", "description": "wet"}),
            json!({"type": "misrouted"}),
            json!({"type": "lost_declared", "note": "n"}),
        ];
        for raw in details {
            let detail: EventDetail = serde_json::from_value(raw.clone()).unwrap();
            let mut expected = serde_json::to_value(&detail).unwrap();
            expected.as_object_mut().unwrap().remove("type");
            let scan = ScanDetail::from(detail.clone());
            assert_eq!(serde_json::Value::Object(scan.fields()), expected, "{raw}");
            assert_eq!(scan.event_type(), detail.event_type());
            assert_eq!(scan.office_type(), detail.office_type());
        }
    }
}
