//! Request and response shapes of the item registry.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::registration;
use crate::domain::{ItemKind, ItemStatus, Priority};

/// An item to register.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "tracking_number": "EE473124829VN",
    "season": "2026-THPT",
    "kind": "admission_notice",
    "priority": "urgent",
    "carrier_org": "VNPOST",
    "recipient": {"type": "candidate", "candidate_number": "15001234", "full_name": "Nguyễn Văn An",
                  "date_of_birth": "2008-03-14", "phone": "0912345678"},
    "destination": {"province": "Phú Thọ", "ward": "Phường Việt Trì", "address_line": "12 Trần Phú"},
    "must_arrive_by": "2026-08-20",
    "reference": "QĐ 123/SGD"
}))]
pub struct NewItemRequest {
    /// UPU S10 number, e.g. `EE473124829VN`; spaces and case are normalised.
    pub tracking_number: String,
    /// Exam season: year and programme, e.g. `2026-THPT`, `2026-TS10`.
    pub season: String,
    pub kind: ItemKind,
    /// Defaults to `standard`.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Code of the sending education organization. Education clients may
    /// omit it (their own); it must then be their own.
    #[serde(default)]
    pub sender_org: Option<String>,
    /// Code of the carrier. Carrier clients may omit it (their own); it must then be their own.
    #[serde(default)]
    pub carrier_org: Option<String>,
    pub recipient: RecipientInput,
    /// The candidate an item concerns when it goes to an organization (an
    /// application or enrollment dossier the candidate sends), so that the
    /// candidate can follow it.
    #[serde(default)]
    pub candidate: Option<CandidateInput>,
    pub destination: DestinationInput,
    /// Seal number of a confidential item, checked at every stage.
    #[serde(default)]
    pub seal_number: Option<String>,
    /// Sealed and confidential (an exam paper always is): every handover scan
    /// must read the seal, and the item never appears in the public lookup.
    /// Requires `seal_number`.
    #[serde(default)]
    pub confidential: bool,
    /// A dossier (application, change of preference, enrollment) the
    /// candidate sends themselves, registered by the accepting carrier or by
    /// the receiving institution: leave `sender_org` out and give `candidate`.
    #[serde(default)]
    pub sent_by_candidate: bool,
    /// For a candidate's dossier: the province it was posted in (code or name); default the registering organization's.
    #[serde(default)]
    pub origin_province: Option<String>,
    /// Must arrive by: a day (`YYYY-MM-DD`, the end of that day in Vietnam)
    /// or an RFC 3339 time with offset.
    #[serde(default)]
    pub must_arrive_by: Option<String>,
    /// Free-form reference of the sender (dispatch number, file name...).
    #[serde(default)]
    pub reference: Option<String>,
}

/// Who receives the item.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RecipientInput {
    /// A candidate, at the destination address.
    Candidate(CandidateInput),
    /// An organization (a school, university or department), by code.
    Organization(OrganizationRecipientInput),
}

/// A candidate (thí sinh).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateInput {
    /// Số báo danh: 4-20 letters or digits.
    pub candidate_number: String,
    pub full_name: String,
    /// `YYYY-MM-DD`.
    #[schema(value_type = String, format = Date, example = "2008-03-14")]
    pub date_of_birth: String,
    /// Vietnamese phone number; normalised to `0xxxxxxxxx`.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// An organization receiving the item.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationRecipientInput {
    /// Organization code.
    pub organization: String,
    /// Person or office to hand it to.
    #[serde(default)]
    pub attention: Option<String>,
}

/// Where the item goes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationInput {
    /// Province code, name or former name (resolved to one of the 34 current units).
    pub province: String,
    /// Ward or commune (phường, xã).
    pub ward: String,
    pub address_line: String,
}

/// A batch of items to register (at most 1000).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBatchRequest {
    /// Each entry is a `NewItemRequest`; each is checked and stored on its own.
    #[schema(value_type = Vec<NewItemRequest>)]
    pub items: Vec<serde_json::Value>,
}

/// An item as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b", "tracking_number": "EE473124829VN", "season": "2026-THPT",
    "kind": "admission_notice", "priority": "urgent", "status": "registered", "sender_org": "SGD-PT", "carrier_org": "VNPOST",
    "recipient": {"type": "candidate", "candidate_number": "15001234", "full_name": "Nguyễn Văn An",
                  "date_of_birth": "2008-03-14", "phone": "0912345678", "email": null},
    "candidate": null,
    "destination": {"province": "phu-tho", "ward": "Phường Việt Trì", "address_line": "12 Trần Phú"},
    "seal_number": null, "confidential": false, "sent_by_candidate": false, "must_arrive_by": "2026-08-20T16:59:59Z", "reference": "QĐ 123/SGD",
    "created_at": "2026-07-01T02:00:00Z", "updated_at": "2026-07-01T02:00:00Z",
    "last_event_at": null, "last_office_code": null, "has_anomaly": false, "due_at": "2026-08-20T16:59:59Z",
    "replaces": null, "replaced_by": null
}))]
pub struct ItemView {
    pub id: String,
    pub tracking_number: String,
    pub season: String,
    pub kind: ItemKind,
    pub priority: Priority,
    pub status: ItemStatus,
    /// Sender organization code.
    pub sender_org: String,
    /// Carrier organization code.
    pub carrier_org: String,
    pub recipient: RecipientView,
    /// The candidate concerned, when the recipient is an organization.
    pub candidate: Option<CandidateView>,
    pub destination: DestinationView,
    pub seal_number: Option<String>,
    /// Sealed: a seal check at every handover, never in the public lookup.
    pub confidential: bool,
    /// The candidate sent it; `sender_org` is the organization that registered it for them.
    pub sent_by_candidate: bool,
    pub must_arrive_by: Option<chrono::DateTime<chrono::Utc>>,
    pub reference: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// When the event that set the current status happened.
    pub last_event_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Office of that event.
    pub last_office_code: Option<String>,
    /// Some event contradicts the history (e.g. a scan after delivery).
    pub has_anomaly: bool,
    /// Effective deadline: the earlier of the transit time from acceptance and `must_arrive_by`.
    pub due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The lost item this one replaces.
    pub replaces: Option<String>,
    /// The item that replaces this lost one: follow it instead.
    pub replaced_by: Option<String>,
}

/// A replacement for a lost item: a new number; everything else is copied
/// (same candidate, destination and sender), at urgent priority.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tracking_number": "EE473124938VN", "must_arrive_by": "2026-07-20", "reference": "Cấp lại giấy báo trúng tuyển"}))]
pub struct ReplacementRequest {
    /// The replacement's UPU S10 number.
    pub tracking_number: String,
    /// Carrier code; default the lost item's carrier.
    #[serde(default)]
    pub carrier_org: Option<String>,
    /// Default: the lost item's, if still ahead.
    #[serde(default)]
    pub must_arrive_by: Option<String>,
    #[serde(default)]
    pub seal_number: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
}

/// An item with its whole timeline.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemDetail {
    #[serde(flatten)]
    pub item: ItemView,
    /// Every event in the order it happened, void ones marked.
    pub timeline: Vec<crate::api::timeline::EventView>,
}

/// Who receives an item: a candidate, or an organization by code.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RecipientView {
    Candidate(CandidateView),
    Organization {
        /// Organization code.
        organization: String,
        attention: Option<String>,
    },
}

/// The candidate an item goes to or concerns.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"candidate_number": "15001234", "full_name": "Nguyễn Văn An", "date_of_birth": "2008-03-14", "phone": "0912345678", "email": null}))]
pub struct CandidateView {
    /// Each personal field is shown only to the readers whose task needs it
    /// (README, "Minimal exposure"); otherwise `null`.
    pub candidate_number: Option<String>,
    pub full_name: Option<String>,
    pub date_of_birth: Option<chrono::NaiveDate>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// Where an item goes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"province": "phu-tho", "ward": "Phường Việt Trì", "address_line": "12 Trần Phú"}))]
pub struct DestinationView {
    /// Province code.
    pub province: String,
    pub ward: String,
    /// A candidate's address is shown only to the readers whose task needs it; otherwise `null`.
    pub address_line: Option<String>,
}

/// Filters of the item list. Organizations are named by code; times are
/// RFC 3339 with offset.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ItemListParams {
    #[param(value_type = Option<ItemKind>)]
    pub kind: Option<String>,
    #[param(value_type = Option<Priority>)]
    pub priority: Option<String>,
    #[param(value_type = Option<ItemStatus>)]
    pub status: Option<String>,
    /// Carrier organization code.
    pub carrier: Option<String>,
    /// Sender organization code.
    pub sender: Option<String>,
    /// Destination province (code, name or former name).
    pub province: Option<String>,
    pub season: Option<String>,
    /// Registered at or after this time.
    pub created_since: Option<String>,
    /// Changed at or after this time.
    pub updated_since: Option<String>,
    /// `true`: only items past their deadline and not yet delivered, returned or lost.
    #[param(value_type = Option<bool>)]
    pub overdue: Option<String>,
    /// `true`/`false`: items with / without an active case.
    #[param(value_type = Option<bool>)]
    pub has_open_case: Option<String>,
    /// Recipient organization code (a school or university).
    pub recipient: Option<String>,
    /// Destination ward, exactly as registered.
    pub destination_ward: Option<String>,
    /// The candidate's number (số báo danh).
    pub candidate_number: Option<String>,
    /// `json` (default), `csv` (UTF-8 with BOM, every page streamed) or
    /// `xlsx` (a workbook of up to 100,000 rows, every cell text).
    #[param(pattern = "^(json|csv|xlsx)$")]
    pub format: Option<String>,
    /// The CSV's language: `en` (default: the codes and UTC times the API
    /// uses) or `vi` (Vietnamese headers and labels, Vietnam time, dates as
    /// dd/mm/yyyy, province names); the import reads either back.
    #[param(pattern = "^(en|vi)$")]
    pub lang: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

pub use crate::api::extract::SeasonParam;

impl From<NewItemRequest> for registration::RegisterItem {
    fn from(request: NewItemRequest) -> Self {
        registration::RegisterItem {
            tracking_number: request.tracking_number,
            season: request.season,
            kind: request.kind,
            priority: request.priority,
            sender_org: request.sender_org,
            carrier_org: request.carrier_org,
            recipient: match request.recipient {
                RecipientInput::Candidate(candidate) => registration::Recipient::Candidate(candidate.into()),
                RecipientInput::Organization(org) => {
                    registration::Recipient::Organization { organization: org.organization, attention: org.attention }
                }
            },
            candidate: request.candidate.map(Into::into),
            destination: registration::Destination {
                province: request.destination.province,
                ward: request.destination.ward,
                address_line: request.destination.address_line,
            },
            seal_number: request.seal_number,
            confidential: request.confidential,
            sent_by_candidate: request.sent_by_candidate,
            origin_province: request.origin_province,
            must_arrive_by: request.must_arrive_by,
            reference: request.reference,
        }
    }
}

impl From<CandidateInput> for registration::Candidate {
    fn from(input: CandidateInput) -> Self {
        registration::Candidate {
            candidate_number: input.candidate_number,
            full_name: input.full_name,
            date_of_birth: input.date_of_birth,
            phone: input.phone,
            email: input.email,
        }
    }
}

impl ItemListParams {
    /// The filters, without the paging.
    pub fn filters(&self) -> registration::ListItems {
        registration::ListItems {
            kind: self.kind.clone(),
            priority: self.priority.clone(),
            status: self.status.clone(),
            carrier: self.carrier.clone(),
            sender: self.sender.clone(),
            province: self.province.clone(),
            season: self.season.clone(),
            created_since: self.created_since.clone(),
            updated_since: self.updated_since.clone(),
            overdue: self.overdue.clone(),
            has_open_case: self.has_open_case.clone(),
            recipient: self.recipient.clone(),
            destination_ward: self.destination_ward.clone(),
            candidate_number: self.candidate_number.clone(),
            format: self.format.clone(),
        }
    }
}
