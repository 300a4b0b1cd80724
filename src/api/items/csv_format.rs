//! The item spreadsheet as the export writes it: the columns the import
//! reads (`app::registration::COLUMNS`), UTF-8 with a BOM so spreadsheet
//! programs read Vietnamese correctly; in English (codes, UTC) or in
//! Vietnamese (the headers, labels and times clerks use), both of which
//! the import reads back.

use super::{ItemView, RecipientView};
use crate::app::registration::COLUMNS;
use crate::csv_out::CsvOut;
use crate::notify::templates::{item_kind, status_label, Lang};

/// The Vietnamese headers, column for column with `COLUMNS` (the import
/// knows each of them).
const VIETNAMESE_COLUMNS: &[&str] = &[
    "Số hiệu bưu gửi", "Kỳ thi", "Loại bưu gửi", "Mức ưu tiên", "Trạng thái", "Đơn vị gửi", "Doanh nghiệp bưu chính", "Đơn vị nhận",
    "Người nhận tại đơn vị", "Số báo danh", "Họ và tên", "Ngày sinh", "Điện thoại", "Thư điện tử", "Tỉnh/Thành phố", "Phường/Xã",
    "Địa chỉ", "Số niêm phong", "Hạn phát", "Ghi chú", "Hạn xử lý", "Lần quét cuối", "Bưu cục quét cuối", "Ngày đăng ký",
];

pub fn header(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Vi => VIETNAMESE_COLUMNS,
        Lang::En => COLUMNS,
    }
}

/// A time as Vietnamese spreadsheets write it, in Vietnam's time: the end
/// of a day (a deadline given as a day) as the day alone, seconds only when
/// there are some, so that the import reads back the same instant.
fn vietnam_time(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    let local = t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    match (local.hour(), local.minute(), local.second()) {
        (23, 59, 59) => local.format("%d/%m/%Y").to_string(),
        (_, _, 0) => local.format("%d/%m/%Y %H:%M").to_string(),
        _ => local.format("%d/%m/%Y %H:%M:%S").to_string(),
    }
}

/// One export row.
pub fn row(item: &ItemView, lang: Lang) -> Vec<String> {
    let vi = lang == Lang::Vi;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| match t {
        Some(t) if vi => vietnam_time(*t),
        Some(t) => t.to_rfc3339(),
        None => String::new(),
    };
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| if vi { d.format("%d/%m/%Y").to_string() } else { d.to_string() }).unwrap_or_default();
    let province = if vi {
        crate::domain::province::resolve(&item.destination.province).map_or_else(|| item.destination.province.clone(), |p| p.name.to_string())
    } else {
        item.destination.province.clone()
    };
    let (organization, attention, candidate) = match &item.recipient {
        RecipientView::Candidate(c) => (String::new(), String::new(), Some(c)),
        RecipientView::Organization { organization, attention } => (organization.clone(), text(attention), item.candidate.as_ref()),
    };
    vec![
        item.tracking_number.clone(),
        item.season.clone(),
        if vi { item_kind(item.kind, lang).into() } else { item.kind.as_str().into() },
        if vi { crate::app::reports::printable::priority_label(item.priority).into() } else { item.priority.as_str().into() },
        if vi { status_label(item.status, lang).into() } else { item.status.as_str().into() },
        item.sender_org.clone(),
        item.carrier_org.clone(),
        organization,
        attention,
        candidate.and_then(|c| c.candidate_number.clone()).unwrap_or_default(),
        candidate.and_then(|c| c.full_name.clone()).unwrap_or_default(),
        date(candidate.and_then(|c| c.date_of_birth)),
        candidate.and_then(|c| c.phone.clone()).unwrap_or_default(),
        candidate.and_then(|c| c.email.clone()).unwrap_or_default(),
        province,
        item.destination.ward.clone(),
        text(&item.destination.address_line),
        text(&item.seal_number),
        time(&item.must_arrive_by),
        text(&item.reference),
        time(&item.due_at),
        time(&item.last_event_at),
        text(&item.last_office_code),
        time(&Some(item.created_at)),
    ]
}

/// Rows as CSV text; the first chunk of an export starts with the BOM and the header.
pub fn write_rows(rows: &[Vec<String>], first_chunk: bool, lang: Lang) -> Result<Vec<u8>, csv::Error> {
    let mut out = if first_chunk { CsvOut::file(header(lang))? } else { CsvOut::continued() };
    for row in rows {
        out.row(row)?;
    }
    out.finish()
}

/// The rows as an `.xlsx` workbook: a bold, frozen header and every cell
/// text (a phone number keeps its leading zero; nothing is a formula).
pub fn workbook(rows: &[Vec<String>], lang: Lang) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(if lang == Lang::Vi { "Buu gui" } else { "Items" })?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (col, name) in header(lang).iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &bold)?;
        sheet.set_column_width(col as u16, 18)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (col, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, col as u16, cell)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}
