//! The batch shape every bulk endpoint shares: one result per entry, in
//! order, and the counts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::problem::Problem;

/// Most entries one batch may carry.
pub const MAX_BATCH: usize = 1000;

/// What happened to one entry of a batch.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Created,
    /// Registered before with the same content; nothing new was stored.
    Duplicate,
    Rejected,
}

/// The outcome of one entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryResult {
    pub index: usize,
    pub status: EntryStatus,
    /// The item's id when created or duplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// The outcome of a batch: one result per entry, in order.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"results": [{"index": 0, "status": "created", "id": "0190…", "tracking_number": "EE473124829VN"}], "created": 1, "duplicates": 0, "rejected": 0}))]
pub struct BatchResponse {
    pub results: Vec<EntryResult>,
    pub created: usize,
    pub duplicates: usize,
    pub rejected: usize,
}

impl BatchResponse {
    pub fn new(results: Vec<EntryResult>) -> Self {
        let count = |s: EntryStatus| results.iter().filter(|r| r.status == s).count();
        BatchResponse {
            created: count(EntryStatus::Created),
            duplicates: count(EntryStatus::Duplicate),
            rejected: count(EntryStatus::Rejected),
            results,
        }
    }
}

impl EntryResult {
    pub fn rejected(index: usize, tracking_number: Option<String>, problem: Problem) -> Self {
        EntryResult { index, status: EntryStatus::Rejected, id: None, tracking_number, error: Some(problem) }
    }
}

/// Refuses an empty batch or one over the limit.
pub fn check_size(len: usize, field: &str) -> Result<(), super::problem::ApiError> {
    use super::problem::ApiError;
    if len > MAX_BATCH {
        return Err(ApiError::PayloadTooLarge(format!("a batch carries at most {MAX_BATCH} {field}; this one has {len}")));
    }
    if len == 0 {
        return Err(ApiError::field(field, "must contain at least one entry"));
    }
    Ok(())
}

/// Reads each entry of a batch on its own: one that does not fit `T`
/// becomes its problem, the others go on.
pub fn parse_entries<T: serde::de::DeserializeOwned>(values: Vec<serde_json::Value>) -> Vec<Result<T, Problem>> {
    values
        .into_iter()
        .map(|value| super::extract::from_value::<T>(value).map_err(|e| super::problem::ApiError::Validation(vec![e]).problem()))
        .collect()
}
