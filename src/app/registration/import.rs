//! Registering items from a spreadsheet (CSV): read row by row, checked and
//! stored 500 rows at a time, so a 100,000-row file never sits in memory;
//! a bad row is reported and never stops the good ones; re-importing the
//! same file creates nothing twice.

use std::collections::HashMap;
use std::io::Read;

use chrono::NaiveDate;

use super::{prepare_many, store_batch, Candidate, Destination, EntryOutcome, Recipient, RegisterItem};
use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::{s10, FieldError, ItemKind, Priority};

/// The spreadsheet's columns, in the order the export writes them; the
/// import reads the same names.
pub const COLUMNS: &[&str] = &[
    "tracking_number", "season", "kind", "priority", "status", "sender_org", "carrier_org", "recipient_organization",
    "attention", "candidate_number", "full_name", "date_of_birth", "phone", "email", "province", "ward", "address_line",
    "seal_number", "must_arrive_by", "reference", "due_at", "last_event_at", "last_office_code", "created_at",
];

/// The column a header names, in either language (see `sheet`).
pub use super::sheet::column_of;

const ROWS_PER_TRANSACTION: usize = 500;

/// Columns a file must have.
const REQUIRED: &[&str] = &["tracking_number", "season", "kind", "province", "ward", "address_line"];

/// Rows not created that a report lists one by one; the rest are counted.
const LISTED_ROWS: usize = 100;
/// The longest column name a refusal repeats.
const ECHOED_HEADER_CHARS: usize = 60;
/// Ignored columns a report names one by one.
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
    /// Columns no field is read from (`STT` and the like), as the file names them.
    pub ignored_columns: Vec<String>,
    /// The encoding the file was read in, and its cell delimiter.
    pub encoding: String,
    pub delimiter: char,
    /// The file's header, and every refused row as the file had it, with
    /// the reason: the sheet to fix and import again.
    pub header: Vec<String>,
    pub rejected_rows: Vec<RejectedRow>,
    /// The file's headers are Vietnamese: its rows' reasons are given in Vietnamese.
    pub vietnamese: bool,
}

/// A refused row as the file had it.
#[derive(Debug)]
pub struct RejectedRow {
    pub line: usize,
    pub cells: Vec<String>,
    pub reason: String,
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
    let mut input = std::io::BufReader::with_capacity(64 * 1024, input);
    let unreadable = |e: std::io::Error| Error::field("file", format!("could not be read: {e}"));
    let head = std::io::BufRead::fill_buf(&mut input).map_err(unreadable)?;
    if head.is_empty() {
        return Err(Error::field("file", "is empty: send a spreadsheet with its header row"));
    }
    if super::sheet::is_workbook(head) {
        // A workbook is read whole (the caller bounds its size), then as CSV.
        let mut bytes = Vec::new();
        input.read_to_end(&mut bytes).map_err(unreadable)?;
        let csv = super::sheet::workbook_as_csv(bytes).map_err(|reason| Error::field("file", reason))?;
        let mut report = import_text(conn, clock, actor, csv.as_slice(), progress)?;
        report.encoding = "workbook".into();
        return Ok(report);
    }
    import_text(conn, clock, actor, input, progress)
}

/// Imports a CSV file (any encoding `sheet::Decoded` tells).
fn import_text(
    conn: &mut DbConn,
    clock: &dyn Clock,
    actor: &Actor,
    input: impl Read,
    progress: &mut dyn FnMut(usize),
) -> Result<ImportReport, Error> {
    let decoded = super::sheet::Decoded::new(input).map_err(|e| Error::field("file", format!("could not be read: {e}")))?;
    let (encoding, delimiter) = (decoded.encoding, decoded.delimiter);
    let mut reader = csv::ReaderBuilder::new().flexible(false).delimiter(delimiter).from_reader(decoded);
    let (columns, ignored_columns) = columns(&mut reader)?;
    let header: Vec<String> = reader.headers().map(|h| h.iter().map(super::sheet::composed).collect()).unwrap_or_default();
    let vietnamese = header.iter().any(|h| column_of(h).is_some_and(|column| super::sheet::folded(h) != column.replace('_', " ")));
    let mut report = ImportReport {
        ignored_columns,
        header,
        vietnamese,
        encoding: encoding.to_string(),
        delimiter: char::from(delimiter),
        ..ImportReport::default()
    };
    let mut pending: Vec<Row> = Vec::new();
    let mut first_line_of: HashMap<(String, String), usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = report.rows + 2;
        let (tracking_number, parsed) = match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let number = cell(&columns, &record, "tracking_number");
                let season = cell(&columns, &record, "season");
                let key = (number.as_deref().map(|n| s10::normalize(n).unwrap_or_else(|_| n.to_uppercase())).unwrap_or_default(), season.unwrap_or_default().to_uppercase());
                let parsed = match first_line_of.get(&key) {
                    Some(first) if !key.0.is_empty() => Err(FieldError::new("tracking_number", format!("repeats line {first} of this file"))),
                    _ => {
                        first_line_of.entry(key).or_insert(line);
                        parse_row(&columns, &record)
                    }
                };
                (number, parsed)
            }
            Err(e) => (
                None,
                Err(FieldError::new(
                    "row",
                    match e.kind() {
                        csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text".to_string(),
                        csv::ErrorKind::UnequalLengths { len, expected_len, .. } => {
                            format!("has {len} cells where the header has {expected_len} (check the quoting)")
                        }
                        _ => e.to_string(),
                    },
                )),
            ),
        };
        report.rows += 1;
        let cells = record.iter().map(|c| super::sheet::composed(c)).collect();
        pending.push(Row { line, tracking_number, cells, parsed });
        if pending.len() == ROWS_PER_TRANSACTION {
            store_rows(conn, clock, actor, std::mem::take(&mut pending), &mut report)?;
            progress(report.rows);
        }
    }
    store_rows(conn, clock, actor, pending, &mut report)?;
    progress(report.rows);
    Ok(report)
}

/// A data row read: its line, the tracking number its cell gives (for
/// the report, even when the row is refused), and the registration.
struct Row {
    line: usize,
    tracking_number: Option<String>,
    cells: Vec<String>,
    parsed: Result<RegisterItem, FieldError>,
}

/// A cell's text by column, trimmed, composed; `None` when empty.
fn cell(columns: &[Option<&'static str>], record: &csv::StringRecord, name: &str) -> Option<String> {
    let at = columns.iter().position(|c| *c == Some(name))?;
    record.get(at).map(|v| super::sheet::composed(crate::csv_out::restore(v).trim())).filter(|v| !v.is_empty())
}

fn store_rows(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, rows: Vec<Row>, report: &mut ImportReport) -> Result<(), Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut lines = Vec::with_capacity(rows.len());
    let mut commands = Vec::with_capacity(rows.len());
    let mut unreadable = Vec::with_capacity(rows.len());
    for row in rows {
        lines.push((row.line, row.tracking_number, row.cells));
        match row.parsed {
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
    for ((line, number, cells), outcome) in lines.into_iter().zip(store_batch(conn, &actor.item_scope(), prepared)?) {
        let outcome = match outcome {
            EntryOutcome::Rejected { tracking_number, error } => {
                EntryOutcome::Rejected { tracking_number: tracking_number.or(number), error: in_file_language(report.vietnamese, error) }
            }
            other => other,
        };
        if let EntryOutcome::Rejected { error, .. } = &outcome {
            let reason = match error {
                Error::Invalid(errors) => errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect::<Vec<_>>().join("; "),
                other => other.to_string(),
            };
            report.rejected_rows.push(RejectedRow { line, cells, reason });
        }
        report.count(line, outcome);
    }
    Ok(())
}

/// A refusal in the language of the file's headers: Vietnamese reasons
/// for a Vietnamese sheet (the fields keep the names the API documents).
fn in_file_language(vietnamese: bool, error: Error) -> Error {
    match error {
        Error::Invalid(errors) if vietnamese => Error::Invalid(
            errors
                .into_iter()
                .map(|e| {
                    let reason = crate::domain::vi::reason(&e.reason).unwrap_or(e.reason);
                    FieldError::new(e.field, reason)
                })
                .collect(),
        ),
        other => other,
    }
}

/// `14/03/2008` (as spreadsheets write dates in Vietnam) → `2008-03-14`.
fn iso_date(text: &str) -> String {
    NaiveDate::parse_from_str(text.trim(), "%d/%m/%Y").map(|d| d.to_string()).unwrap_or_else(|_| text.trim().to_string())
}

/// `20/06/2026 17:00` (a Vietnamese export's time, Vietnam's) → RFC 3339;
/// a day alone as `iso_date`; anything else as written.
fn local_time(text: &str) -> String {
    let text = text.trim();
    match chrono::NaiveDateTime::parse_from_str(text, "%d/%m/%Y %H:%M:%S").or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%d/%m/%Y %H:%M")) {
        Ok(t) => format!("{}+07:00", t.format("%Y-%m-%dT%H:%M:%S")),
        Err(_) => iso_date(text),
    }
}

fn required(field: &str) -> FieldError {
    FieldError::new(field, "is required")
}

/// A value that is none of a field's values: the refusal lists them.
fn refused_value<T: std::fmt::Display>(field: &str, text: &str, values: &[T]) -> FieldError {
    let known: Vec<String> = values.iter().map(ToString::to_string).collect();
    FieldError::new(field, format!("{:?} is not one of {} (or their Vietnamese names)", crate::domain::fields::clip(text, 40), known.join(", ")))
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
    let get = |name: &str| cell(columns, record, name);
    let candidate_cells =
        [get("candidate_number"), get("full_name"), get("date_of_birth").map(|d| iso_date(&d)), get("phone"), get("email")];
    let recipient_org = get("recipient_organization");
    let concerned = match &recipient_org {
        Some(_) if candidate_cells.iter().any(Option::is_some) => Some(candidate("candidate", candidate_cells.clone())?),
        _ => None,
    };
    let kind = get("kind").map(|k| super::sheet::kind_of(&k).ok_or_else(|| refused_value("kind", &k, ItemKind::ALL))).transpose()?;
    let priority =
        get("priority").map(|p| super::sheet::priority_of(&p).ok_or_else(|| refused_value("priority", &p, Priority::ALL))).transpose()?;
    let recipient = match recipient_org {
        Some(organization) => Recipient::Organization { organization, attention: get("attention") },
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
        must_arrive_by: get("must_arrive_by").map(|d| local_time(&d)),
        reference: get("reference"),
    })
}

/// Reads the header: the column each cell names (`None`: ignored, listed
/// in the report); refuses a file without the columns every row needs.
fn columns(reader: &mut csv::Reader<impl Read>) -> Result<(Vec<Option<&'static str>>, Vec<String>), Error> {
    let header = reader.headers().map_err(|e| match e.kind() {
        csv::ErrorKind::Utf8 { .. } => Error::field("file", "is not text in UTF-8, UTF-16 or Windows-1258"),
        _ => Error::field("file", format!("has no readable header row: {e}")),
    })?;
    let mut columns: Vec<Option<&'static str>> = header.iter().map(column_of).collect();
    // A column named twice is read from its first place only.
    for i in 0..columns.len() {
        if columns[i].is_some() && columns[..i].contains(&columns[i]) {
            columns[i] = None;
        }
    }
    let mut ignored: Vec<String> = header
        .iter()
        .zip(&columns)
        .filter(|(name, column)| column.is_none() && !name.trim().is_empty())
        .map(|(name, _)| crate::domain::fields::clip(name.trim(), ECHOED_HEADER_CHARS).to_string())
        .collect();
    if ignored.len() > ECHOED_UNKNOWN_COLUMNS {
        let more = ignored.len() - ECHOED_UNKNOWN_COLUMNS;
        ignored.truncate(ECHOED_UNKNOWN_COLUMNS);
        ignored.push(format!("… and {more} more"));
    }
    let errors: Vec<FieldError> = REQUIRED
        .iter()
        .filter(|required| !columns.contains(&Some(**required)))
        .map(|required| FieldError::new("header", format!("missing column {required}")))
        .collect();
    if errors.is_empty() {
        Ok((columns, ignored))
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
            if let Ok((columns, _)) = columns(&mut reader) {
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
