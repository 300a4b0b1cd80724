//! Registering items from a spreadsheet (CSV): read row by row, checked and
//! stored 500 rows at a time, so a 100,000-row file never sits in memory;
//! a bad row is reported and never stops the good ones; re-importing the
//! same file creates nothing twice.

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::{prepare_items, store_batch, Checked};
use super::csv_format::column_of;
use super::NewItemRequest;
use crate::api::auth::Caller;
use crate::api::batch::{EntryResult, EntryStatus};
use crate::api::extract::from_value;
use crate::api::problem::ApiError;
use crate::db::DbConn;
use crate::domain::FieldError;

const ROWS_PER_TRANSACTION: usize = 500;

/// Columns a file must have.
const REQUIRED: &[&str] = &["tracking_number", "season", "kind", "province", "ward", "address_line"];

/// Rows not created that a report lists one by one; the rest are counted.
const LISTED_ROWS: usize = 100;
/// The longest column name a refusal repeats.
const ECHOED_HEADER_CHARS: usize = 60;
/// Unknown columns a refusal names one by one.
const ECHOED_UNKNOWN_COLUMNS: usize = 20;

/// The outcome of an import: counts for every row, a line for each of the
/// first rows that were not created (a duplicate, or refused and why), and
/// the refusals counted by field. A file of 100,000 bad rows gets an answer
/// of a few kilobytes, not one line per row.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// Data rows read (the header not counted).
    pub rows: usize,
    pub created: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// The first 100 rows not created; `line` is the row's line in the file (the header is line 1).
    pub results: Vec<ImportLine>,
    /// Rows not created beyond those listed in `results`.
    pub omitted_results: usize,
    /// Every refused row counted under the field its first error names, with one example reason.
    pub rejected_by_field: Vec<RejectedByField>,
}

/// One row that was not created.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportLine {
    pub line: usize,
    pub status: EntryStatus,
    pub tracking_number: Option<String>,
    pub error: Option<crate::api::problem::Problem>,
}

/// How many rows were refused for one field.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedByField {
    /// The field (or `row`, `header`) the first error of each row names.
    pub field: String,
    pub rows: usize,
    /// The reason given for the first such row.
    pub example: String,
}

impl ImportReport {
    fn count(&mut self, line: usize, status: EntryStatus, tracking_number: Option<String>, error: Option<crate::api::problem::Problem>) {
        match status {
            EntryStatus::Created => self.created += 1,
            EntryStatus::Duplicate => self.duplicates += 1,
            EntryStatus::Rejected => self.rejected += 1,
        }
        if status == EntryStatus::Created {
            return;
        }
        if let Some(problem) = &error {
            let (field, reason) = match problem.errors.first() {
                Some(first) => (first.field.clone(), first.reason.clone()),
                None => (String::from("row"), problem.detail.clone()),
            };
            match self.rejected_by_field.iter_mut().find(|group| group.field == field) {
                Some(group) => group.rows += 1,
                None => self.rejected_by_field.push(RejectedByField { field, rows: 1, example: reason }),
            }
        }
        if self.results.len() < LISTED_ROWS {
            self.results.push(ImportLine { line, status, tracking_number, error });
        } else {
            self.omitted_results += 1;
        }
    }
}

/// `14/03/2008` (as spreadsheets write dates in Vietnam) → `2008-03-14`.
fn iso_date(text: &str) -> String {
    NaiveDate::parse_from_str(text.trim(), "%d/%m/%Y").map(|d| d.to_string()).unwrap_or_else(|_| text.trim().to_string())
}

/// A row's cells as the JSON of a registration.
fn request_of(cells: &HashMap<&'static str, String>) -> Value {
    let get = |name: &str| cells.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let mut item = Map::new();
    for (column, field) in [("tracking_number", "tracking_number"), ("season", "season"), ("kind", "kind"), ("priority", "priority"),
        ("sender_org", "sender_org"), ("carrier_org", "carrier_org"), ("seal_number", "seal_number"), ("reference", "reference")]
    {
        if let Some(v) = get(column) {
            item.insert(field.into(), v.into());
        }
    }
    if let Some(v) = get("must_arrive_by") {
        item.insert("must_arrive_by".into(), iso_date(&v).into());
    }
    let mut candidate = Map::new();
    for field in ["candidate_number", "full_name", "phone", "email"] {
        if let Some(v) = get(field) {
            candidate.insert(field.into(), v.into());
        }
    }
    if let Some(v) = get("date_of_birth") {
        candidate.insert("date_of_birth".into(), iso_date(&v).into());
    }
    match get("recipient_organization") {
        Some(org) => {
            item.insert("recipient".into(), json!({"type": "organization", "organization": org}));
            if !candidate.is_empty() {
                item.insert("candidate".into(), Value::Object(candidate));
            }
        }
        None => {
            candidate.insert("type".into(), "candidate".into());
            item.insert("recipient".into(), Value::Object(candidate));
        }
    }
    item.insert(
        "destination".into(),
        json!({"province": get("province").unwrap_or_default(), "ward": get("ward").unwrap_or_default(), "address_line": get("address_line").unwrap_or_default()}),
    );
    Value::Object(item)
}

/// One data row as a registration request, or why its cells do not make one.
fn parse_row(columns: &[Option<&'static str>], record: &csv::StringRecord) -> Result<NewItemRequest, FieldError> {
    let cells: HashMap<&'static str, String> = columns.iter().zip(record.iter()).filter_map(|(c, v)| c.map(|c| (c, crate::csv_out::restore(v).to_string()))).collect();
    from_value::<NewItemRequest>(request_of(&cells))
}

fn refused(field: &str, reason: impl Into<String>) -> crate::api::problem::Problem {
    ApiError::Validation(vec![FieldError::new(field, reason)]).problem()
}

/// Reads the header; refuses files whose columns are unknown or incomplete.
fn columns(reader: &mut csv::Reader<impl Read>) -> Result<Vec<Option<&'static str>>, ApiError> {
    let header = reader.headers().map_err(|e| match e.kind() {
        csv::ErrorKind::Utf8 { .. } => ApiError::field("file", "is not UTF-8 text; save the spreadsheet as \"CSV UTF-8\""),
        _ => ApiError::field("file", format!("has no readable header row: {e}")),
    })?;
    let columns: Vec<Option<&'static str>> = header.iter().map(column_of).collect();
    let mut errors = Vec::new();
    let unknown: Vec<&str> = header.iter().zip(&columns).filter(|(name, column)| column.is_none() && !name.trim().is_empty()).map(|(name, _)| name).collect();
    for name in unknown.iter().take(ECHOED_UNKNOWN_COLUMNS) {
        errors.push(FieldError::new("header", format!("unknown column {:?}", crate::domain::fields::clip(name, ECHOED_HEADER_CHARS))));
    }
    if unknown.len() > ECHOED_UNKNOWN_COLUMNS {
        errors.push(FieldError::new("header", format!("and {} more unknown columns", unknown.len() - ECHOED_UNKNOWN_COLUMNS)));
    }
    for required in REQUIRED {
        if !columns.contains(&Some(required)) {
            errors.push(FieldError::new("header", format!("missing column {required}")));
        }
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Imports a CSV as `caller`, reporting progress (rows read) as it goes.
pub fn import_csv(
    conn: &mut DbConn,
    caller: &Caller,
    input: impl Read,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(usize),
) -> Result<ImportReport, ApiError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let columns = columns(&mut reader)?;
    let mut report = ImportReport::default();
    let mut pending: Vec<(usize, Result<NewItemRequest, crate::api::problem::Problem>)> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = report.rows + 2;
        let parsed = match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => parse_row(&columns, &record).map_err(|e| ApiError::Validation(vec![e]).problem()),
            Err(e) => Err(match e.kind() {
                csv::ErrorKind::Utf8 { .. } => refused("row", "is not UTF-8 text"),
                csv::ErrorKind::UnequalLengths { len, expected_len, .. } => {
                    refused("row", format!("has {len} cells where the header has {expected_len} (check the quoting)"))
                }
                _ => refused("row", e.to_string()),
            }),
        };
        report.rows += 1;
        pending.push((line, parsed));
        if pending.len() == ROWS_PER_TRANSACTION {
            store_rows(conn, caller, std::mem::take(&mut pending), now, &mut report)?;
            progress(report.rows);
        }
    }
    store_rows(conn, caller, pending, now, &mut report)?;
    progress(report.rows);
    Ok(report)
}

fn store_rows(
    conn: &mut DbConn,
    caller: &Caller,
    rows: Vec<(usize, Result<NewItemRequest, crate::api::problem::Problem>)>,
    now: DateTime<Utc>,
    report: &mut ImportReport,
) -> Result<(), ApiError> {
    if rows.is_empty() {
        return Ok(());
    }
    let valid: Vec<&NewItemRequest> = rows.iter().filter_map(|(_, row)| row.as_ref().ok()).collect();
    let mut prepared = prepare_items(conn, caller, &valid, now)?.into_iter();
    let checked: Vec<Checked> = rows
        .iter()
        .map(|(line, row)| {
            let new = match row {
                Ok(_) => prepared.next().expect("one per valid row").map_err(|errors| ApiError::Validation(errors).problem()),
                Err(problem) => Err(problem.clone()),
            };
            (*line, new)
        })
        .collect();
    for result in store_batch(conn, &super::scope_of(caller), checked)? {
        let EntryResult { index: line, status, tracking_number, error, .. } = result;
        report.count(line, status, tracking_number, error);
    }
    Ok(())
}

/// Reads what the HTTP side sends over a channel, as a blocking `Read` for
/// the CSV parser (which runs on the blocking pool).
pub struct ChannelReader {
    chunks: tokio::sync::mpsc::Receiver<actix_web::web::Bytes>,
    current: actix_web::web::Bytes,
}

impl ChannelReader {
    pub fn new(chunks: tokio::sync::mpsc::Receiver<actix_web::web::Bytes>) -> Self {
        ChannelReader { chunks, current: actix_web::web::Bytes::new() }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::csv_format::COLUMNS;
    use super::super::RecipientInput;
    use super::*;
    use proptest::prelude::*;

    fn all_columns() -> Vec<Option<&'static str>> {
        COLUMNS.iter().map(|c| Some(*c)).collect()
    }

    fn hostile_cell() -> impl Strategy<Value = String> {
        prop_oneof![4 => any::<String>(), 2 => "[0-9/é\\-\\p{Cc} ]{0,12}", 1 => "\\PC{1000,3000}", 1 => Just(String::new())]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_row_of_cells_parses_or_is_refused_without_panicking(cells in proptest::collection::vec(hostile_cell(), COLUMNS.len())) {
            let record = csv::StringRecord::from(cells);
            if let Err(error) = parse_row(&all_columns(), &record) {
                prop_assert!(!error.field.is_empty() && !error.reason.is_empty(), "{:?}", error);
            }
        }

        #[test]
        fn any_file_is_read_without_panicking(bytes in prop_oneof![any::<Vec<u8>>(), any::<String>().prop_map(String::into_bytes),
            "(tracking_number|season|kind|số hiệu|\\PC{0,8})(,(province|ward|address_line|\\PC{0,8})){0,6}\n(\\PC{0,10}[,\"\n\r]){0,40}".prop_map(String::into_bytes)])
        {
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes.as_slice());
            if let Ok(columns) = columns(&mut reader) {
                let mut record = csv::StringRecord::new();
                while let Ok(true) = reader.read_record(&mut record) {
                    let _ = parse_row(&columns, &record);
                }
            }
        }

        #[test]
        fn a_well_formed_row_keeps_its_values(day in 1u32..=28, month in 1u32..=12, year in 1990i32..2015, number in "[A-Z]{2}[0-9]{9}VN") {
            let mut cells = vec![String::new(); COLUMNS.len()];
            let mut set = |column: &str, value: String| {
                let at = COLUMNS.iter().position(|c| *c == column).unwrap();
                cells[at] = value;
            };
            set("tracking_number", number.clone());
            set("season", "2026-THPT".into());
            set("kind", "exam_notice".into());
            set("candidate_number", "15001234".into());
            set("full_name", "Nguyễn Văn An".into());
            set("date_of_birth", format!("{day:02}/{month:02}/{year}"));
            set("province", "Phú Thọ".into());
            set("ward", "Phường Việt Trì".into());
            set("address_line", "12 Hùng Vương".into());
            let request = parse_row(&all_columns(), &csv::StringRecord::from(cells));
            prop_assert!(request.is_ok(), "{:?}", request);
            let request = request.unwrap();
            prop_assert_eq!(request.tracking_number, number);
            let RecipientInput::Candidate(candidate) = request.recipient else { panic!("a candidate row") };
            prop_assert_eq!(candidate.date_of_birth, format!("{year}-{month:02}-{day:02}"));
        }
    }
}
