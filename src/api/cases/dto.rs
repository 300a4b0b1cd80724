//! Shapes of cases and their actions.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::cases::{CaseAction, CaseKind, CaseOutcome, CaseState, Severity};
use crate::domain::ItemStatus;

/// The item a case is about.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CaseItem {
    pub tracking_number: String,
    pub season: String,
    pub status: ItemStatus,
    /// Effective deadline.
    pub due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The sender's must-arrive-by time, if any.
    pub must_arrive_by: Option<chrono::DateTime<chrono::Utc>>,
}

/// An escalation case.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a2b4-…", "item": {"tracking_number": "EE473124829VN", "season": "2026-THPT", "status": "in_transit", "due_at": "2026-07-16T01:00:00Z"},
    "kind": "overdue", "severity": "high", "level": 2, "state": "open", "owner_org": "VNPOST",
    "response_due_at": "2026-07-16T05:00:00Z", "deadline": "2026-07-16T01:00:00Z", "minutes_left": -120, "incident_id": null, "place_kept": false, "plan": null, "expected_at": null, "outcome": null,
    "replacement_requested": false, "opened_at": "2026-07-16T01:01:00Z", "acknowledged_at": null,
    "resolved_at": null, "closed_at": null, "updated_at": "2026-07-16T03:01:00Z"
}))]
pub struct CaseView {
    pub id: String,
    pub item: CaseItem,
    pub kind: CaseKind,
    pub severity: Severity,
    /// 1 the carrier's handling office; 2 the carrier's provincial management
    /// (the sender's department informed); 3 the provincial overseer.
    pub level: i32,
    pub state: CaseState,
    /// Code of the organization that must answer now.
    pub owner_org: String,
    /// Acknowledge by then, or the case rises a level. Shortened to a third
    /// of the time left while the deadline is ahead (see the README's ladder).
    pub response_due_at: chrono::DateTime<chrono::Utc>,
    /// The deadline the case protects: the item's `must_arrive_by`, else its `due_at`.
    pub deadline: Option<chrono::DateTime<chrono::Utc>>,
    /// Whole minutes from now to `deadline`; negative once it has passed.
    pub minutes_left: Option<i64>,
    /// The area incident this delay case is grouped under (`/incidents/{id}`):
    /// while it is open the case is told through the incident and does not climb.
    pub incident_id: Option<String>,
    /// The receiving institution acknowledged the dossier's electronic
    /// pre-advice: the candidate's place does not hang on the paper.
    pub place_kept: bool,
    pub plan: Option<String>,
    pub expected_at: Option<chrono::DateTime<chrono::Utc>>,
    pub outcome: Option<CaseOutcome>,
    /// The sender has been asked to issue a replacement (lost items).
    pub replacement_requested: bool,
    pub opened_at: chrono::DateTime<chrono::Utc>,
    pub acknowledged_at: Option<chrono::DateTime<chrono::Utc>>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// One change on a case's timeline.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CaseEntryView {
    pub action: CaseAction,
    /// The case's level when it happened.
    pub level: i32,
    /// API client id, or `system` for the sweeper and automatic rules.
    pub actor: String,
    pub note: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A case with its timeline.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseView,
    pub timeline: Vec<CaseEntryView>,
}

/// The carrier takes the case on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"plan": "Kiểm tra túi thư tại TTKT Phú Thọ", "expected_at": "2026-07-16T17:00:00+07:00"}))]
pub struct AcknowledgeRequest {
    /// What will be done.
    pub plan: String,
    /// When the carrier expects to settle it (RFC 3339 with offset).
    pub expected_at: String,
}

/// The steering committee's direction on a level-3 case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"instruction": "Chuyển phát ngay bằng xe riêng đến Trường THPT Việt Trì", "organization": "VNPOST", "respond_by": "2026-07-16T15:00:00+07:00"}))]
pub struct DirectRequest {
    /// What must be done.
    pub instruction: String,
    /// Code of the organization that must act; it becomes the case's owner.
    pub organization: String,
    /// When it must answer (RFC 3339 with offset): the case's new response time.
    pub respond_by: String,
}

/// How the case ended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// `declared_lost` also records the loss on the item (and asks the sender for a replacement).
    pub outcome: CaseOutcome,
    #[serde(default)]
    pub note: Option<String>,
}

/// A note on the case's timeline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    #[serde(default)]
    pub note: Option<String>,
}

/// A comment on the case's timeline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "Đã gọi bưu cục Việt Trì, đang tìm túi thư"}))]
pub struct CommentRequest {
    pub note: String,
}

/// Filters of the case list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseListParams {
    #[param(value_type = Option<CaseKind>)]
    pub kind: Option<String>,
    /// 1, 2 or 3.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 3)]
    pub level: Option<String>,
    #[param(value_type = Option<CaseState>)]
    pub state: Option<String>,
    /// Owner organization code.
    pub owner: Option<String>,
    /// Only cases of this item.
    pub tracking_number: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// `json` (default) or `csv` (every matching case, UTF-8 with BOM).
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}
