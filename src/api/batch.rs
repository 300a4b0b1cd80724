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

/// Longest tracking number echoed back as sent when it is not a valid S10
/// number: enough for any real carrier's number, never an unbounded echo.
const MAX_ECHOED_NUMBER_CHARS: usize = 40;

/// The tracking number to report for an entry, as the caller can match it
/// to its own records: normalised when it is a valid S10 number, as sent
/// when it is short, otherwise none.
pub fn sent_tracking_number(sent: &str) -> Option<String> {
    match crate::domain::s10::normalize(sent) {
        Ok(number) => Some(number),
        Err(_) => {
            let trimmed = sent.trim();
            let echoable = !trimmed.is_empty() && trimmed.chars().count() <= MAX_ECHOED_NUMBER_CHARS && !trimmed.chars().any(char::is_control);
            echoable.then(|| trimmed.to_string())
        }
    }
}

/// The `tracking_number` each raw entry of a batch carried (see
/// [`sent_tracking_number`]), read before parsing so that an entry refused
/// for any reason can still be matched by its number.
pub fn sent_tracking_numbers(entries: &[serde_json::Value]) -> Vec<Option<String>> {
    entries.iter().map(|entry| entry.get("tracking_number").and_then(serde_json::Value::as_str).and_then(sent_tracking_number)).collect()
}

/// Gives each rejected result that has no tracking number the one its entry carried.
pub fn name_rejected_entries(results: &mut [EntryResult], sent: &[Option<String>]) {
    for result in results.iter_mut().filter(|r| r.status == EntryStatus::Rejected && r.tracking_number.is_none()) {
        result.tracking_number = sent.get(result.index).cloned().flatten();
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Entry {
        tracking_number: String,
        season: Option<String>,
        count: u32,
    }

    #[test]
    fn rejected_entries_keep_the_number_they_were_sent_with() {
        let entries = vec![
            json!({"tracking_number": " rr473124829vn ", "count": "many"}),
            json!({"tracking_number": "CARRIER-REF-1", "count": -1}),
            json!({"tracking_number": "X".repeat(5000), "count": "one"}),
            json!("not an object"),
        ];
        let sent = sent_tracking_numbers(&entries);
        let mut results: Vec<EntryResult> = parse_entries::<Entry>(entries)
            .into_iter()
            .enumerate()
            .map(|(index, parsed)| EntryResult::rejected(index, None, parsed.unwrap_err()))
            .collect();
        name_rejected_entries(&mut results, &sent);
        let numbers: Vec<Option<&str>> = results.iter().map(|r| r.tracking_number.as_deref()).collect();
        assert_eq!(numbers, vec![Some("RR473124829VN"), Some("CARRIER-REF-1"), None, None]);
        assert_eq!(results[0].error.as_ref().unwrap().errors[0].field, "count");
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            "\\PC{0,3000}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::btree_map(prop_oneof![Just("tracking_number".to_string()), Just("season".to_string()), Just("count".to_string()), any::<String>()], inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn reading_entries_never_panics(entries in proptest::collection::vec(any_json(), 0..8)) {
            let sent = sent_tracking_numbers(&entries);
            let parsed = parse_entries::<Entry>(entries.clone());
            prop_assert_eq!(parsed.len(), entries.len());
            prop_assert_eq!(sent.len(), entries.len());
            for problem in parsed.iter().filter_map(|p| p.as_ref().err()) {
                prop_assert_eq!(problem.status, 422);
                prop_assert!(!problem.errors.is_empty());
            }
            let _ = parse_entries::<crate::api::events::BatchEventEntry>(entries.clone());
            let _ = parse_entries::<crate::api::items::NewItemRequest>(entries);
        }

        #[test]
        fn echoed_numbers_are_short(text in any::<String>()) {
            if let Some(number) = sent_tracking_number(&text) {
                prop_assert!(number.chars().count() <= MAX_ECHOED_NUMBER_CHARS);
            }
        }
    }
}
