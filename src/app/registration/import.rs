//! Registering items from a spreadsheet (CSV): read row by row, checked and
//! stored 500 rows at a time, so a 100,000-row file never sits in memory;
//! a bad row is reported and never stops the good ones; re-importing the
//! same file creates nothing twice.

use std::collections::HashMap;
use std::io::Read;

use chrono::NaiveDate;
use serde::de::IntoDeserializer;
use serde::Deserialize;

use super::{prepare_many, store_batch, Candidate, Destination, EntryOutcome, Recipient, RegisterItem};
use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::{FieldError, ItemKind, Priority};

/// The spreadsheet's columns, in the order the export writes them; the
/// import reads the same names.
pub const COLUMNS: &[&str] = &[
    "tracking_number", "season", "kind", "priority", "status", "sender_org", "carrier_org", "recipient_organization",
    "candidate_number", "full_name", "date_of_birth", "phone", "email", "province", "ward", "address_line",
    "seal_number", "must_arrive_by", "reference", "due_at", "last_event_at", "last_office_code", "created_at",
];

/// Vietnamese headers accepted on import, and their column.
pub const VIETNAMESE_HEADERS: &[(&str, &str)] = &[
    ("số hiệu", "tracking_number"), ("số hiệu bưu gửi", "tracking_number"), ("kỳ thi", "season"), ("loại", "kind"),
    ("loại bưu gửi", "kind"), ("mức ưu tiên", "priority"), ("ưu tiên", "priority"), ("đơn vị gửi", "sender_org"),
    ("doanh nghiệp bưu chính", "carrier_org"), ("bưu chính", "carrier_org"), ("đơn vị nhận", "recipient_organization"),
    ("số báo danh", "candidate_number"), ("họ và tên", "full_name"), ("họ tên", "full_name"), ("ngày sinh", "date_of_birth"),
    ("điện thoại", "phone"), ("số điện thoại", "phone"), ("thư điện tử", "email"), ("tỉnh", "province"),
    ("tỉnh/thành phố", "province"), ("phường/xã", "ward"), ("xã/phường", "ward"), ("địa chỉ", "address_line"),
    ("số niêm phong", "seal_number"), ("hạn phát", "must_arrive_by"), ("phải đến trước", "must_arrive_by"),
    ("tham chiếu", "reference"), ("ghi chú", "reference"),
];

/// The column a header names, in either language (case and spaces ignored).
pub fn column_of(header: &str) -> Option<&'static str> {
    let h = header.trim().trim_start_matches('\u{feff}').to_lowercase();
    let h = h.split_whitespace().collect::<Vec<_>>().join(" ");
    COLUMNS.iter().find(|c| **c == h).copied().or_else(|| VIETNAMESE_HEADERS.iter().find(|(v, _)| *v == h).map(|(_, c)| *c))
}

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
/// first rows that were not created, and the refusals counted by field. A
/// file of 100,000 bad rows gets an answer of a few kilobytes.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Data rows read (the header not counted).
    pub rows: usize,
    pub created: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// The first 100 rows not created.
    pub results: Vec<ImportLine>,
    /// Rows not created beyond those listed in `results`.
    pub omitted_results: usize,
    /// Every refused row counted under the field its first error names.
    pub rejected_by_field: Vec<RejectedByField>,
}

/// One row that was not created: a duplicate (`error` is `None`) or refused.
#[derive(Debug)]
pub struct ImportLine {
    /// The row's line in the file (the header is line 1).
    pub line: usize,
    pub tracking_number: Option<String>,
    pub error: Option<Error>,
}

/// How many rows were refused for one field.
#[derive(Debug)]
pub struct RejectedByField {
    /// The field (or `row`, `header`) the first error of each row names.
    pub field: String,
    pub rows: usize,
    /// The reason given for the first such row.
    pub example: String,
}

impl ImportReport {
    fn count(&mut self, line: usize, outcome: EntryOutcome) {
        let (tracking_number, error) = match outcome {
            EntryOutcome::Created(_) => {
                self.created += 1;
                return;
            }
            EntryOutcome::Duplicate(item) => {
                self.duplicates += 1;
                (Some(item.tracking_number), None)
            }
            EntryOutcome::Rejected { tracking_number, error } => {
                self.rejected += 1;
                (tracking_number, Some(error))
            }
        };
        if let Some(error) = &error {
            let (field, reason) = match error {
                Error::Invalid(errors) if !errors.is_empty() => (errors[0].field.clone(), errors[0].reason.clone()),
                other => (String::from("row"), other.to_string()),
            };
            match self.rejected_by_field.iter_mut().find(|group| group.field == field) {
                Some(group) => group.rows += 1,
                None => self.rejected_by_field.push(RejectedByField { field, rows: 1, example: reason }),
            }
        }
        if self.results.len() < LISTED_ROWS {
            self.results.push(ImportLine { line, tracking_number, error });
        } else {
            self.omitted_results += 1;
        }
    }
}

/// Imports a CSV as `actor`, reporting progress (rows read) as it goes.
/// A file whose header is unreadable, unknown or incomplete is refused whole.
pub fn import(
    conn: &mut DbConn,
    clock: &dyn Clock,
    actor: &Actor,
    input: impl Read,
    progress: &mut dyn FnMut(usize),
) -> Result<ImportReport, Error> {
    super::authorize(actor)?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let columns = columns(&mut reader)?;
    let mut report = ImportReport::default();
    let mut pending: Vec<(usize, Result<RegisterItem, FieldError>)> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = report.rows + 2;
        let parsed = match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => parse_row(&columns, &record),
            Err(e) => Err(FieldError::new(
                "row",
                match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text".to_string(),
                    csv::ErrorKind::UnequalLengths { len, expected_len, .. } => {
                        format!("has {len} cells where the header has {expected_len} (check the quoting)")
                    }
                    _ => e.to_string(),
                },
            )),
        };
        report.rows += 1;
        pending.push((line, parsed));
        if pending.len() == ROWS_PER_TRANSACTION {
            store_rows(conn, clock, actor, std::mem::take(&mut pending), &mut report)?;
            progress(report.rows);
        }
    }
    store_rows(conn, clock, actor, pending, &mut report)?;
    progress(report.rows);
    Ok(report)
}

fn store_rows(
    conn: &mut DbConn,
    clock: &dyn Clock,
    actor: &Actor,
    rows: Vec<(usize, Result<RegisterItem, FieldError>)>,
    report: &mut ImportReport,
) -> Result<(), Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut lines = Vec::with_capacity(rows.len());
    let mut commands = Vec::with_capacity(rows.len());
    let mut unreadable = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        lines.push(line);
        match row {
            Ok(command) => {
                commands.push(command);
                unreadable.push(None);
            }
            Err(error) => unreadable.push(Some(error)),
        }
    }
    let mut checked = prepare_many(conn, actor, &commands, clock.now())?.into_iter();
    let prepared = unreadable
        .into_iter()
        .map(|refusal| match refusal {
            Some(error) => Err(vec![error]),
            None => checked.next().expect("one check per readable row"),
        })
        .collect();
    for (line, outcome) in lines.into_iter().zip(store_batch(conn, &actor.item_scope(), prepared)?) {
        report.count(line, outcome);
    }
    Ok(())
}

/// `14/03/2008` (as spreadsheets write dates in Vietnam) → `2008-03-14`.
fn iso_date(text: &str) -> String {
    NaiveDate::parse_from_str(text.trim(), "%d/%m/%Y").map(|d| d.to_string()).unwrap_or_else(|_| text.trim().to_string())
}

fn required(field: &str) -> FieldError {
    FieldError::new(field, "is required")
}

/// A value of one of the domain's enums, refused in the words the JSON API uses.
fn variant<T: for<'de> Deserialize<'de>>(field: &str, text: &str) -> Result<T, FieldError> {
    T::deserialize(text.into_deserializer()).map_err(|e: serde::de::value::Error| FieldError::new(field, e.to_string()))
}

/// A candidate from its cells, or the first of its required cells that is empty.
fn candidate(prefix: &str, cells: [Option<String>; 5]) -> Result<Candidate, FieldError> {
    let [number, name, dob, phone, email] = cells;
    Ok(Candidate {
        candidate_number: number.ok_or_else(|| required(&format!("{prefix}.candidate_number")))?,
        full_name: name.ok_or_else(|| required(&format!("{prefix}.full_name")))?,
        date_of_birth: dob.ok_or_else(|| required(&format!("{prefix}.date_of_birth")))?,
        phone,
        email,
    })
}

/// One data row as a registration, or the first reason its cells do not
/// make one. Empty cells are absent. The cells are read in the order a JSON
/// registration's fields are (`candidate`, `kind`, `priority`, `recipient`,
/// then the missing ones), so a row is refused for what the same
/// registration sent as JSON would be.
fn parse_row(columns: &[Option<&'static str>], record: &csv::StringRecord) -> Result<RegisterItem, FieldError> {
    let cells: HashMap<&'static str, String> =
        columns.iter().zip(record.iter()).filter_map(|(c, v)| c.map(|c| (c, crate::csv_out::restore(v).to_string()))).collect();
    let get = |name: &str| cells.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let candidate_cells =
        [get("candidate_number"), get("full_name"), get("date_of_birth").map(|d| iso_date(&d)), get("phone"), get("email")];
    let recipient_org = get("recipient_organization");
    let concerned = match &recipient_org {
        Some(_) if candidate_cells.iter().any(Option::is_some) => Some(candidate("candidate", candidate_cells.clone())?),
        _ => None,
    };
    let kind = get("kind").map(|k| variant::<ItemKind>("kind", &k)).transpose()?;
    let priority = get("priority").map(|p| variant::<Priority>("priority", &p)).transpose()?;
    let recipient = match recipient_org {
        Some(organization) => Recipient::Organization { organization, attention: None },
        None => Recipient::Candidate(candidate("recipient", candidate_cells)?),
    };
    Ok(RegisterItem {
        tracking_number: get("tracking_number").ok_or_else(|| required("tracking_number"))?,
        season: get("season").ok_or_else(|| required("season"))?,
        kind: kind.ok_or_else(|| required("kind"))?,
        priority,
        sender_org: get("sender_org"),
        carrier_org: get("carrier_org"),
        recipient,
        candidate: concerned,
        destination: Destination {
            province: get("province").unwrap_or_default(),
            ward: get("ward").unwrap_or_default(),
            address_line: get("address_line").unwrap_or_default(),
        },
        seal_number: get("seal_number"),
        confidential: false,
        sent_by_candidate: false,
        origin_province: None,
        must_arrive_by: get("must_arrive_by").map(|d| iso_date(&d)),
        reference: get("reference"),
    })
}

/// Reads the header; refuses files whose columns are unknown or incomplete.
fn columns(reader: &mut csv::Reader<impl Read>) -> Result<Vec<Option<&'static str>>, Error> {
    let header = reader.headers().map_err(|e| match e.kind() {
        csv::ErrorKind::Utf8 { .. } => Error::field("file", "is not UTF-8 text; save the spreadsheet as \"CSV UTF-8\""),
        _ => Error::field("file", format!("has no readable header row: {e}")),
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
        Err(Error::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
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
            let Recipient::Candidate(candidate) = request.recipient else { panic!("a candidate row") };
            prop_assert_eq!(candidate.date_of_birth, format!("{year}-{month:02}-{day:02}"));
        }
    }
}
