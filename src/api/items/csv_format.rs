//! The item spreadsheet: one column layout for export and import, with
//! English or Vietnamese headers, UTF-8 with a BOM so spreadsheet programs
//! read Vietnamese correctly.

use super::{ItemView, RecipientView};
use crate::csv_out::CsvOut;


/// Export columns, in order (the import reads the same names).
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
        candidate.map(|c| c.candidate_number.clone()).unwrap_or_default(),
        candidate.map(|c| c.full_name.clone()).unwrap_or_default(),
        candidate.map(|c| c.date_of_birth.to_string()).unwrap_or_default(),
        candidate.and_then(|c| c.phone.clone()).unwrap_or_default(),
        candidate.and_then(|c| c.email.clone()).unwrap_or_default(),
        item.destination.province.clone(),
        item.destination.ward.clone(),
        item.destination.address_line.clone(),
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
    let mut out = CsvOut::new(first_chunk);
    if first_chunk {
        out.row(COLUMNS)?;
    }
    for row in rows {
        out.row(row)?;
    }
    out.finish()
}
