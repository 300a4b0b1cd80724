//! What a scan says, as the application takes it: plain values, whoever
//! sends them (the API, the seed, a case resolved as lost).

use serde_json::{json, Map, Value};

use crate::domain::events::{EventType, IdentityCheck, NonDeliveryAction, NonDeliveryReason, OfficeType, VoidReason};

/// Record one scan of the item with this number. The texts are as sent:
/// the service checks them.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordScan {
    pub tracking_number: String,
    /// The item's season, when its number was used in several; default the newest.
    pub season: Option<String>,
    /// The carrier's own id of the scan, unique per carrier: a retry is safe.
    pub client_event_id: String,
    /// RFC 3339 with the UTC offset.
    pub occurred_at: String,
    pub office_code: String,
    pub office_name: Option<String>,
    pub operator_id: Option<String>,
    pub device_id: Option<String>,
    /// The seal read at this scan (required at every handover of a sealed item).
    pub seal: Option<SealReading>,
    pub detail: ScanDetail,
}

/// A seal as read at a scan: its number, and whether it was intact.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SealReading {
    pub seal_number: String,
    pub intact: bool,
}

/// The event type and the fields that go with it. It reads from the
/// `type`-tagged form the fixtures and the API's documents share.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ScanDetail {
    Accepted,
    ArrivedOffice {
        #[serde(default)]
        office_type: Option<OfficeType>,
    },
    DepartedOffice {
        #[serde(default)]
        office_type: Option<OfficeType>,
    },
    ArrivedDeliveryOffice,
    OutForDelivery,
    DeliveryFailed {
        reason: NonDeliveryReason,
        action: NonDeliveryAction,
        #[serde(default)]
        note: Option<String>,
    },
    Delivered {
        recipient_name: String,
        #[serde(default)]
        identity_check: Option<IdentityCheck>,
    },
    HeldAtOffice {
        #[serde(default)]
        note: Option<String>,
        /// The holding office's street address, shown to the candidate.
        #[serde(default)]
        office_address: Option<String>,
        /// When the office is open, e.g. "7:00–19:00, thứ Hai đến thứ Bảy".
        #[serde(default)]
        opening_hours: Option<String>,
        /// The last day it is kept before going back (`YYYY-MM-DD` or `dd/mm/yyyy`).
        #[serde(default)]
        hold_until: Option<String>,
    },
    ReturnedToSender {
        #[serde(default)]
        reason: Option<String>,
    },
    SealChecked { seal_number: String, intact: bool },
    Damaged {
        #[serde(default)]
        description: Option<String>,
    },
    Misrouted {
        #[serde(default)]
        note: Option<String>,
    },
    LostDeclared {
        #[serde(default)]
        note: Option<String>,
    },
}

impl ScanDetail {
    pub fn event_type(&self) -> EventType {
        match self {
            ScanDetail::Accepted => EventType::Accepted,
            ScanDetail::ArrivedOffice { .. } => EventType::ArrivedOffice,
            ScanDetail::DepartedOffice { .. } => EventType::DepartedOffice,
            ScanDetail::ArrivedDeliveryOffice => EventType::ArrivedDeliveryOffice,
            ScanDetail::OutForDelivery => EventType::OutForDelivery,
            ScanDetail::DeliveryFailed { .. } => EventType::DeliveryFailed,
            ScanDetail::Delivered { .. } => EventType::Delivered,
            ScanDetail::HeldAtOffice { .. } => EventType::HeldAtOffice,
            ScanDetail::ReturnedToSender { .. } => EventType::ReturnedToSender,
            ScanDetail::SealChecked { .. } => EventType::SealChecked,
            ScanDetail::Damaged { .. } => EventType::Damaged,
            ScanDetail::Misrouted { .. } => EventType::Misrouted,
            ScanDetail::LostDeclared { .. } => EventType::LostDeclared,
        }
    }

    pub fn office_type(&self) -> Option<OfficeType> {
        match self {
            ScanDetail::ArrivedOffice { office_type } | ScanDetail::DepartedOffice { office_type } => *office_type,
            _ => None,
        }
    }

    /// The type's own fields, as stored in the event's `details` (and
    /// hashed into its content: the same scan must keep the same JSON, or a
    /// retry of a scan stored earlier would conflict with it).
    pub fn fields(&self) -> Map<String, Value> {
        let name = |t: Option<&'static str>| t.map_or(Value::Null, Value::from);
        let fields = match self {
            ScanDetail::Accepted | ScanDetail::ArrivedDeliveryOffice | ScanDetail::OutForDelivery => json!({}),
            ScanDetail::ArrivedOffice { office_type } | ScanDetail::DepartedOffice { office_type } => {
                json!({ "office_type": name(office_type.map(OfficeType::as_str)) })
            }
            ScanDetail::DeliveryFailed { reason, action, note } => json!({ "reason": reason.as_str(), "action": action.as_str(), "note": note }),
            ScanDetail::Delivered { recipient_name, identity_check } => {
                json!({ "recipient_name": recipient_name, "identity_check": name(identity_check.map(IdentityCheck::as_str)) })
            }
            ScanDetail::HeldAtOffice { note, office_address, opening_hours, hold_until } => {
                // The holding office's facts only when given, so that a held scan
                // stored before they existed keeps its JSON (the recorder checks them).
                let mut fields = json!({ "note": note });
                for (key, value) in [("office_address", office_address), ("opening_hours", opening_hours), ("hold_until", hold_until)] {
                    if let Some(value) = value {
                        fields[key] = json!(value);
                    }
                }
                fields
            }
            ScanDetail::Misrouted { note } | ScanDetail::LostDeclared { note } => json!({ "note": note }),
            ScanDetail::ReturnedToSender { reason } => json!({ "reason": reason }),
            ScanDetail::SealChecked { seal_number, intact } => json!({ "seal_number": seal_number, "intact": intact }),
            ScanDetail::Damaged { description } => json!({ "description": description }),
        };
        match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// Declare a recorded event void.
#[derive(Debug, Clone, PartialEq)]
pub struct VoidScan {
    /// The event's public id.
    pub event_id: String,
    pub reason: VoidReason,
    pub note: Option<String>,
}
