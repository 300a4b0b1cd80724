//! The item spreadsheet as the export writes it: the columns the import
//! reads (`app::registration::COLUMNS`), UTF-8 with a BOM so spreadsheet
//! programs read Vietnamese correctly.

use super::{ItemView, RecipientView};
use crate::app::registration::COLUMNS;
use crate::csv_out::CsvOut;

/// One export row.
pub fn row(item: &ItemView) -> Vec<String> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let (organization, candidate) = match &item.recipient {
        RecipientView::Candidate(c) => (String::new(), Some(c)),
        RecipientView::Organization { organization, .. } => (organization.clone(), item.candidate.as_ref()),
    };
    vec![
        item.tracking_number.clone(),
        item.season.clone(),
        item.kind.as_str().into(),
        item.priority.as_str().into(),
        item.status.as_str().into(),
        item.sender_org.clone(),
        item.carrier_org.clone(),
        organization,
        candidate.and_then(|c| c.candidate_number.clone()).unwrap_or_default(),
        candidate.and_then(|c| c.full_name.clone()).unwrap_or_default(),
        candidate.and_then(|c| c.date_of_birth).map(|d| d.to_string()).unwrap_or_default(),
        candidate.and_then(|c| c.phone.clone()).unwrap_or_default(),
        candidate.and_then(|c| c.email.clone()).unwrap_or_default(),
        item.destination.province.clone(),
        item.destination.ward.clone(),
        text(&item.destination.address_line),
        text(&item.seal_number),
        time(&item.must_arrive_by),
        text(&item.reference),
        time(&item.due_at),
        time(&item.last_event_at),
        text(&item.last_office_code),
        item.created_at.to_rfc3339(),
    ]
}

/// Rows as CSV text; the first chunk of an export starts with the BOM and the header.
pub fn write_rows(rows: &[Vec<String>], first_chunk: bool) -> Result<Vec<u8>, csv::Error> {
    let mut out = if first_chunk { CsvOut::file(COLUMNS)? } else { CsvOut::continued() };
    for row in rows {
        out.row(row)?;
    }
    out.finish()
}
