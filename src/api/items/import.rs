//! The answer to a spreadsheet import, and the bridge that lets the
//! blocking CSV reader consume the upload as it arrives.

use std::io::Read;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::batch::EntryStatus;
use crate::api::problem::{ApiError, Problem};
use crate::app::registration;

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
    /// Columns no field is read from (`STT` and the like), as the file names them.
    pub ignored_columns: Vec<String>,
    /// The encoding the file was read in (`UTF-8`, `UTF-16LE`, `UTF-16BE`, `windows-1258`).
    pub encoding: String,
    /// The cell delimiter found in the header row.
    pub delimiter: String,
}

/// One row that was not created.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportLine {
    pub line: usize,
    pub status: EntryStatus,
    pub tracking_number: Option<String>,
    pub error: Option<Problem>,
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

#[derive(Debug, Deserialize, IntoParams)]
pub struct ImportParams {
    /// `csv`: answer with the refused rows as a spreadsheet (the file's own
    /// columns, then `dòng (line)` and `lỗi (error)`) to fix and import again.
    pub rejected: Option<String>,
}

/// The refused rows as a sheet: the file's header and cells, each row with
/// its line and why it was refused; the import ignores the two added columns.
pub fn rejected_sheet(report: &registration::ImportReport) -> Result<actix_web::HttpResponse, ApiError> {
    let header = report.header.iter().map(String::as_str).chain(["dòng (line)", "lỗi (error)"]);
    let rows = report.rejected_rows.iter().map(|row| {
        let mut cells = row.cells.clone();
        cells.resize(report.header.len(), String::new());
        cells.push(row.line.to_string());
        cells.push(row.reason.clone());
        cells
    });
    let body = crate::csv_out::file(header, rows).map_err(ApiError::internal)?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type(crate::csv_out::CONTENT_TYPE)
        .insert_header(("content-disposition", "attachment; filename=\"rejected-rows.csv\""))
        .insert_header(("x-import-rows", report.rows.to_string()))
        .insert_header(("x-import-created", report.created.to_string()))
        .insert_header(("x-import-duplicates", report.duplicates.to_string()))
        .insert_header(("x-import-rejected", report.rejected.to_string()))
        .body(body))
}

impl From<registration::ImportReport> for ImportReport {
    fn from(report: registration::ImportReport) -> Self {
        let vietnamese = report.vietnamese;
        let problem = |error: crate::app::Error| {
            let problem = ApiError::from(error).problem();
            if vietnamese {
                super::super::language::problem_in_vietnamese(problem)
            } else {
                problem
            }
        };
        ImportReport {
            rows: report.rows,
            created: report.created,
            duplicates: report.duplicates,
            rejected: report.rejected,
            results: report
                .results
                .into_iter()
                .map(|line| ImportLine {
                    line: line.line,
                    status: if line.error.is_some() { EntryStatus::Rejected } else { EntryStatus::Duplicate },
                    tracking_number: line.tracking_number,
                    error: line.error.map(problem),
                })
                .collect(),
            omitted_results: report.omitted_results,
            rejected_by_field: report
                .rejected_by_field
                .into_iter()
                .map(|group| RejectedByField { field: group.field, rows: group.rows, example: group.example })
                .collect(),
            ignored_columns: report.ignored_columns,
            encoding: report.encoding,
            delimiter: report.delimiter.to_string(),
        }
    }
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
