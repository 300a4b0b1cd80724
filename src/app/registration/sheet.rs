//! Spreadsheets as clerks have them: any of the encodings Vietnamese
//! offices save CSV in (UTF-8 with or without BOM, UTF-16, Windows-1258),
//! comma, semicolon or tab between cells, and the headers and values they
//! write in Vietnamese, with or without diacritics.

use std::io::Read;

use encoding_rs::{Decoder, Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1258};
use unicode_normalization::UnicodeNormalization;

use crate::domain::{ItemKind, Priority};

/// How much of a file is read to tell its encoding and delimiter.
const SNIFF_BYTES: usize = 64 * 1024;

/// A file decoded to UTF-8 as it is read.
pub struct Decoded<R> {
    inner: R,
    /// `None`: the file is UTF-8 already; its bytes pass through.
    decoder: Option<Decoder>,
    out: Vec<u8>,
    at: usize,
    done: bool,
    pub encoding: &'static str,
    /// The cell delimiter the first line uses.
    pub delimiter: u8,
}

impl<R: Read> Decoded<R> {
    /// Reads the start of the file to tell its encoding (a byte-order mark,
    /// else valid UTF-8, else UTF-16 by its zero bytes, else Windows-1258,
    /// which Vietnamese Excel writes) and the delimiter of its first line.
    pub fn new(mut inner: R) -> std::io::Result<Decoded<R>> {
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut inner).take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
        let (encoding, bom) = match Encoding::for_bom(&head) {
            Some((encoding, bom)) => (encoding, bom),
            None => (sniff_encoding(&head), 0),
        };
        let done = head.len() < SNIFF_BYTES;
        let mut decoded = Decoded {
            inner,
            decoder: (encoding != UTF_8).then(|| encoding.new_decoder_without_bom_handling()),
            out: Vec::new(),
            at: 0,
            done: false,
            encoding: encoding.name(),
            delimiter: b',',
        };
        decoded.push(&head[bom..], done);
        decoded.done = done;
        decoded.delimiter = sniff_delimiter(&decoded.out);
        Ok(decoded)
    }

    fn push(&mut self, bytes: &[u8], last: bool) {
        self.out.drain(..self.at);
        self.at = 0;
        match &mut self.decoder {
            None => self.out.extend_from_slice(bytes),
            Some(decoder) => {
                let mut text = String::with_capacity(decoder.max_utf8_buffer_length(bytes.len()).unwrap_or(bytes.len() * 3));
                let _ = decoder.decode_to_string(bytes, &mut text, last);
                self.out.extend_from_slice(text.as_bytes());
            }
        }
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.out.len() && !self.done {
            let mut chunk = vec![0u8; SNIFF_BYTES];
            let n = self.inner.read(&mut chunk)?;
            self.done = n == 0;
            self.push(&chunk[..n], self.done);
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn sniff_encoding(head: &[u8]) -> &'static Encoding {
    match std::str::from_utf8(head) {
        Ok(_) => UTF_8,
        // Cut in the middle of a character by the sniffing window: UTF-8 all the same.
        Err(e) if e.error_len().is_none() => UTF_8,
        Err(_) => {
            let zeros_at = |parity: usize| head.iter().enumerate().filter(|(i, b)| i % 2 == parity && **b == 0).count();
            let half = head.len() / 4;
            if zeros_at(1) > half {
                UTF_16LE
            } else if zeros_at(0) > half {
                UTF_16BE
            } else {
                WINDOWS_1258
            }
        }
    }
}

/// The delimiter of the first line: whichever of comma, semicolon and tab
/// occurs most outside quotes (Excel in a Vietnamese locale saves `;`).
fn sniff_delimiter(text: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in text {
        if b == b'\n' && !quoted {
            break;
        }
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (delimiter, count) in counts.iter_mut() {
                if b == *delimiter {
                    *count += 1;
                }
            }
        }
    }
    counts.iter().max_by_key(|(d, count)| (*count, *d == b',')).map_or(b',', |(d, _)| *d)
}

/// Whether a file starts as a workbook does (`.xlsx`/`.ods` are zip
/// archives, `.xls` an OLE compound file), whatever its content type said.
pub fn is_workbook(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

/// What a workbook may unpack to. A zip of a few megabytes can declare
/// gigabytes of XML; the declared sizes are read before anything is unpacked.
pub const MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;
/// The cells (non-empty) an import sheet may hold: 100,000 rows of 20 columns.
pub const MAX_CELLS: usize = 2_000_000;
/// The area, first to last row times first to last column, an import sheet
/// may span. Two cells at A1 and XFD1048576 span 17 billion cells, which a
/// reader that fills a rectangle would allocate.
pub const MAX_SPAN: u64 = 4_000_000;
/// Columns past this one are not an import's.
pub const MAX_COLUMNS: u32 = 256;

/// A workbook's first sheet as CSV (UTF-8, commas), so that the import
/// reads it as it reads any spreadsheet: dates as dd/mm/yyyy, whole
/// numbers with every digit. An `.xlsx` is streamed cell by cell within
/// [`MAX_CELLS`] and [`MAX_SPAN`]; other workbooks (`.xls`, `.ods`) are
/// read whole by calamine.
pub fn workbook_as_csv(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    // calamine indexes what a file says without checking it (a cell naming a
    // shared string the file lacks panics): a damaged file is refused, not a crash.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_workbook(bytes)))
        .unwrap_or_else(|_| Err("is a damaged workbook that cannot be read; save it again or as CSV".into()))
}

fn read_workbook(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    if bytes.starts_with(b"PK\x03\x04") {
        check_unpacked_size(&bytes)?;
        if let Ok(book) = calamine::Xlsx::new(std::io::Cursor::new(&bytes)) {
            return xlsx_as_csv(book);
        }
    }
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).map_err(|e| format!("is not a workbook that can be read: {e}"))?;
    let range = book.worksheet_range_at(0).ok_or("has no sheet")?.map_err(|e| format!("its first sheet cannot be read: {e}"))?;
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in range.rows() {
        out.write_record(row.iter().map(|cell| cell_text(cell.clone()))).map_err(|e| e.to_string())?;
    }
    out.into_inner().map_err(|e| e.to_string())
}

/// Refuses a zip that unpacks to more than [`MAX_UNPACKED_BYTES`]: first by
/// the sizes its directory declares, then by the bytes really unpacked (a
/// zip can declare small sizes and hold more), counting no further than
/// the limit. An OpenDocument sheet is refused: one cell can ask to be
/// repeated four billion times, and its reader would do so.
fn check_unpacked_size(bytes: &[u8]) -> Result<(), String> {
    let unreadable = |e: zip::result::ZipError| format!("is not a workbook that can be read: {e}");
    let too_big = |total: u64| format!("unpacks to more than {} MB (at least {} MB), more than a workbook may hold; save the sheet alone or as CSV", MAX_UNPACKED_BYTES / 1_000_000, total / 1_000_000);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(unreadable)?;
    if archive.by_name("content.xml").is_ok() && archive.by_name("xl/workbook.xml").is_err() {
        return Err("is an OpenDocument sheet (.ods); save it as .xlsx or CSV".into());
    }
    let mut declared: u64 = 0;
    for index in 0..archive.len() {
        declared = declared.saturating_add(archive.by_index_raw(index).map_err(unreadable)?.size());
    }
    if declared > MAX_UNPACKED_BYTES {
        return Err(too_big(declared));
    }
    let mut unpacked: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(unreadable)?;
        let allowance = MAX_UNPACKED_BYTES - unpacked;
        let read = std::io::copy(&mut std::io::Read::take(entry, allowance + 1), &mut std::io::sink()).map_err(|e| format!("is not a workbook that can be read: {e}"))?;
        unpacked += read;
        if unpacked > MAX_UNPACKED_BYTES {
            return Err(too_big(unpacked));
        }
    }
    Ok(())
}

fn xlsx_as_csv<R: std::io::Read + std::io::Seek>(mut book: calamine::Xlsx<R>) -> Result<Vec<u8>, String> {
    use calamine::Reader;
    let name = book.sheet_names().first().cloned().ok_or("has no sheet")?;
    let mut reader = book.worksheet_cells_reader(&name).map_err(|e| format!("its first sheet cannot be read: {e}"))?;
    let mut cells: Vec<(u32, u32, String)> = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(|e| format!("its first sheet cannot be read: {e}"))? {
        let (row, column) = cell.get_position();
        let text = cell_text(cell.get_value().clone().into());
        if text.is_empty() {
            continue;
        }
        if column >= MAX_COLUMNS {
            return Err(format!("has a value in column {} (row {}); an import sheet has at most {MAX_COLUMNS} columns", column + 1, row + 1));
        }
        if cells.len() == MAX_CELLS {
            return Err(format!("has more than {MAX_CELLS} cells; split it into several files"));
        }
        cells.push((row, column, text));
    }
    cells.sort_unstable_by_key(|(row, column, _)| (*row, *column));
    let mut out = csv::Writer::from_writer(Vec::new());
    let (Some(first), Some(last)) = (cells.first(), cells.last()) else {
        return out.into_inner().map_err(|e| e.to_string());
    };
    // The sheet's first row and column are where its data starts, as calamine's range has it.
    let (top, bottom) = (first.0, last.0);
    let left = cells.iter().map(|c| c.1).min().unwrap_or(0);
    let width = cells.iter().map(|c| c.1).max().unwrap_or(0) - left + 1;
    let span = u64::from(bottom - top + 1) * u64::from(width);
    if span > MAX_SPAN {
        return Err(format!("spans rows {} to {} and {width} columns, more than {MAX_SPAN} cells; remove what lies far below or beside the table", top + 1, bottom + 1));
    }
    let mut line = vec![""; width as usize];
    let mut next = cells.iter().peekable();
    for row in top..=bottom {
        line.iter_mut().for_each(|cell| *cell = "");
        while let Some((_, column, text)) = next.next_if(|(r, _, _)| *r == row) {
            line[(column - left) as usize] = text;
        }
        out.write_record(&line).map_err(|e| e.to_string())?;
    }
    out.into_inner().map_err(|e| e.to_string())
}

/// A cell as the import reads it.
fn cell_text(cell: calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Data::Float(f) => f.to_string(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s,
        Data::Bool(b) => b.to_string(),
        Data::DateTime(t) => match t.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.format("%d/%m/%Y").to_string(),
            Some(t) => t.format("%d/%m/%Y %H:%M").to_string(),
            None => String::new(),
        },
        Data::Error(_) | Data::Empty => String::new(),
    }
}

/// A cell's text in composed form: Windows-1258 and some keyboards write a
/// tone mark as a separate character ("ễ" as "ê" + "̃").
pub fn composed(text: &str) -> String {
    if text.is_ascii() {
        text.to_string()
    } else {
        text.nfc().collect()
    }
}

/// A header or value as clerks may type it, for matching: lower case, no
/// diacritics, punctuation as spaces, spaces collapsed ("Ngày tháng năm
/// sinh" → "ngay thang nam sinh", "Tỉnh/TP" → "tinh tp").
pub fn folded(text: &str) -> String {
    let plain = deunicode::deunicode(&composed(text).replace(['đ', 'Đ'], "d")).to_lowercase();
    plain.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Headers clerks use, folded, and the column each names. The English
/// column names (`tracking_number`) fold to themselves with spaces.
const HEADERS: &[(&str, &str)] = &[
    ("tracking number", "tracking_number"), ("so hieu", "tracking_number"), ("so hieu buu gui", "tracking_number"),
    ("ma buu gui", "tracking_number"), ("ma vach", "tracking_number"), ("so buu gui", "tracking_number"),
    ("season", "season"), ("ky thi", "season"), ("ma ky thi", "season"),
    ("kind", "kind"), ("loai", "kind"), ("loai buu gui", "kind"), ("loai giay to", "kind"), ("loai tai lieu", "kind"),
    ("priority", "priority"), ("uu tien", "priority"), ("muc uu tien", "priority"), ("do khan", "priority"), ("muc do khan", "priority"),
    ("status", "status"), ("trang thai", "status"),
    ("sender org", "sender_org"), ("don vi gui", "sender_org"),
    ("carrier org", "carrier_org"), ("doanh nghiep buu chinh", "carrier_org"), ("buu chinh", "carrier_org"),
    ("recipient organization", "recipient_organization"), ("don vi nhan", "recipient_organization"),
    ("attention", "attention"), ("nguoi nhan tai don vi", "attention"), ("kinh gui", "attention"),
    ("candidate number", "candidate_number"), ("so bao danh", "candidate_number"), ("sbd", "candidate_number"),
    ("full name", "full_name"), ("ho va ten", "full_name"), ("ho ten", "full_name"), ("ho ten thi sinh", "full_name"),
    ("ho va ten thi sinh", "full_name"), ("ten thi sinh", "full_name"),
    ("date of birth", "date_of_birth"), ("ngay sinh", "date_of_birth"), ("ngay thang nam sinh", "date_of_birth"),
    ("phone", "phone"), ("dien thoai", "phone"), ("so dien thoai", "phone"), ("sdt", "phone"), ("so dt", "phone"),
    ("email", "email"), ("thu dien tu", "email"), ("e mail", "email"),
    ("province", "province"), ("tinh", "province"), ("tinh thanh pho", "province"), ("tinh tp", "province"), ("tinh thanh", "province"),
    ("ward", "ward"), ("phuong xa", "ward"), ("xa phuong", "ward"), ("xa phuong dac khu", "ward"), ("phuong xa dac khu", "ward"),
    ("address line", "address_line"), ("dia chi", "address_line"), ("dia chi nhan", "address_line"), ("dia chi chi tiet", "address_line"),
    ("so nha duong pho", "address_line"),
    ("seal number", "seal_number"), ("so niem phong", "seal_number"),
    ("must arrive by", "must_arrive_by"), ("han phat", "must_arrive_by"), ("phai den truoc", "must_arrive_by"),
    ("reference", "reference"), ("tham chieu", "reference"), ("ghi chu", "reference"),
    ("due at", "due_at"), ("han xu ly", "due_at"), ("last event at", "last_event_at"), ("lan quet cuoi", "last_event_at"),
    ("last office code", "last_office_code"), ("buu cuc quet cuoi", "last_office_code"),
    ("created at", "created_at"), ("ngay dang ky", "created_at"),
];

/// The column a header names, in either language, diacritics or none.
pub fn column_of(header: &str) -> Option<&'static str> {
    let folded = folded(header.trim_start_matches('\u{feff}'));
    HEADERS.iter().find(|(alias, _)| *alias == folded).map(|(_, column)| *column)
}

/// An item kind by its code or its Vietnamese name.
pub fn kind_of(text: &str) -> Option<ItemKind> {
    let folded = folded(text);
    ItemKind::ALL.iter().copied().find(|kind| {
        folded == folded_code(kind.as_str()) || folded == self::folded(crate::notify::templates::item_kind(*kind, crate::notify::templates::Lang::Vi))
    }).or(match folded.as_str() {
        "giay bao thi" | "the du thi" => Some(ItemKind::ExamNotice),
        "giay chung nhan ket qua" | "giay bao diem" | "phieu bao diem" => Some(ItemKind::ResultCertificate),
        "giay bao nhap hoc" => Some(ItemKind::AdmissionNotice),
        "cong van" | "tai lieu" | "cong dien" => Some(ItemKind::OfficialDispatch),
        _ => None,
    })
}

/// A priority by its code or the urgency words of Vietnamese documents
/// (hỏa tốc, thượng khẩn, khẩn, thường).
pub fn priority_of(text: &str) -> Option<Priority> {
    match folded(text).as_str() {
        "urgent" | "hoa toc" | "thuong khan" => Some(Priority::Urgent),
        "priority" | "khan" | "uu tien" => Some(Priority::Priority),
        "standard" | "thuong" | "binh thuong" => Some(Priority::Standard),
        _ => None,
    }
}

fn folded_code(code: &str) -> String {
    code.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn workbook(cells: &[(u32, u16, &str)]) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (row, column, text) in cells {
            sheet.write_string(*row, *column, *text).unwrap();
        }
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn a_workbook_reads_as_csv_with_gaps_kept() {
        let csv = workbook_as_csv(workbook(&[(0, 0, "a"), (0, 2, "c"), (2, 1, "x")])).unwrap();
        assert_eq!(String::from_utf8(csv).unwrap(), "a,,c\n,,\n,x,\n");
    }

    #[test]
    fn sparse_far_cells_are_refused_before_anything_is_allocated() {
        let far_down = workbook_as_csv(workbook(&[(0, 0, "a"), (1_048_575, 10, "b")])).unwrap_err();
        assert!(far_down.contains("spans rows 1 to 1048576"), "{far_down}");
        let far_right = workbook_as_csv(workbook(&[(0, 0, "a"), (5, 16_383, "b")])).unwrap_err();
        assert!(far_right.contains("column 16384"), "{far_right}");
    }

    #[test]
    fn a_zip_declaring_gigabytes_is_refused_unopened() {
        let mut bytes = workbook(&[(0, 0, "a")]);
        // Make the first central directory entry claim 4 GB unpacked.
        let at = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[at + 24..at + 28].copy_from_slice(&u32::MAX.to_le_bytes());
        let refused = workbook_as_csv(bytes).unwrap_err();
        assert!(refused.contains("unpacks to more than 268 MB (at least 4294 MB)"), "{refused}");
    }

    /// Found by the property below: calamine panicked on a cell naming a
    /// shared string of a workbook whose string table it could not find.
    #[test]
    fn a_workbook_that_lost_its_shared_strings_is_refused() {
        let mut bytes = workbook(&[(0, 0, "Số hiệu"), (1, 0, "EE473004137VN")]);
        let name = b"sharedStrings.xml";
        let mut at = 0;
        while let Some(found) = bytes[at..].windows(name.len()).position(|w| w == name) {
            bytes[at + found + 6] = b'X';
            at += found + name.len();
        }
        assert!(at > 0, "the workbook has a shared string table");
        assert!(workbook_as_csv(bytes).unwrap_err().contains("damaged"));
    }

    proptest! {
        /// Bytes that look like a workbook, or a real one with bytes flipped,
        /// are read or refused, never a panic.
        #[test]
        fn any_workbook_bytes_are_read_or_refused_without_panicking(
            tail in proptest::collection::vec(any::<u8>(), 0..400),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        ) {
            let mut fake = b"PK\x03\x04".to_vec();
            fake.extend(&tail);
            let _ = workbook_as_csv(fake);
            let mut real = workbook(&[(0, 0, "Số hiệu"), (1, 0, "EE473004137VN"), (1, 2, "Nguyễn Văn An")]);
            for (at, byte) in flips {
                let i = at.index(real.len());
                real[i] = byte;
            }
            let _ = workbook_as_csv(real);
        }
    }

    /// A zip may declare small sizes and hold more: what is unpacked is counted.
    #[test]
    fn a_zip_that_understates_its_size_is_caught_unpacking() {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        writer.start_file("xl/workbook.xml", options).unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..(MAX_UNPACKED_BYTES >> 20) + 2 {
            writer.write_all(&chunk).unwrap();
        }
        let mut bytes = writer.finish().unwrap().into_inner();
        // Both the local header and the directory now claim 1 KB.
        for signature in [&b"PK\x03\x04"[..], b"PK\x01\x02"] {
            let at = bytes.windows(4).position(|w| w == signature).unwrap();
            let size_at = if signature == b"PK\x03\x04" { at + 22 } else { at + 24 };
            bytes[size_at..size_at + 4].copy_from_slice(&1024u32.to_le_bytes());
        }
        let refused = workbook_as_csv(bytes).unwrap_err();
        assert!(refused.contains("unpacks to more than"), "{refused}");
    }

    #[test]
    fn an_opendocument_sheet_is_refused() {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        writer.start_file("mimetype", options).unwrap();
        writer.write_all(b"application/vnd.oasis.opendocument.spreadsheet").unwrap();
        writer.start_file("content.xml", options).unwrap();
        writer.write_all(br#"<table:table-cell table:number-columns-repeated="4000000000"/>"#).unwrap();
        let bytes = writer.finish().unwrap().into_inner();
        assert!(workbook_as_csv(bytes).unwrap_err().contains(".ods"));
    }

    fn decode_all(bytes: &[u8]) -> (String, &'static str, u8) {
        let mut decoded = Decoded::new(bytes).unwrap();
        let mut text = String::new();
        decoded.read_to_string(&mut text).unwrap();
        (text, decoded.encoding, decoded.delimiter)
    }

    #[test]
    fn encodings_and_delimiters_are_told_apart() {
        let text = "Mã bưu gửi;Họ tên thí sinh\nRR1;Nguyễn Văn An\n";
        assert_eq!(decode_all(text.as_bytes()), (text.to_string(), "UTF-8", b';'));
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(decode_all(&bom).0, text);
        let utf16: Vec<u8> = [0xFFu8, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(decode_all(&utf16), (text.to_string(), "UTF-16LE", b';'));
        let no_bom: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(decode_all(&no_bom).1, "UTF-16LE");
        // "Nguyễn" in Windows-1258: ê (0xEA) then the combining tilde (0xDE).
        let (decoded, encoding, delimiter) = decode_all(b"ho ten\tx\nNguy\xEA\xDEn\t1\n");
        assert_eq!((encoding, delimiter), ("windows-1258", b'\t'));
        assert_eq!(composed(&decoded), "ho ten\tx\nNguyễn\t1\n");
    }

    #[test]
    fn clerks_headers_and_values_are_understood() {
        assert_eq!(column_of("SBD"), Some("candidate_number"));
        assert_eq!(column_of(" Ngày tháng năm sinh "), Some("date_of_birth"));
        assert_eq!(column_of("Mã bưu gửi"), Some("tracking_number"));
        assert_eq!(column_of("Tỉnh/Thành phố"), Some("province"));
        assert_eq!(column_of("tracking_number"), Some("tracking_number"));
        assert_eq!(column_of("STT"), None);
        assert_eq!(kind_of("Giấy báo dự thi"), Some(ItemKind::ExamNotice));
        assert_eq!(kind_of("giay bao trung tuyen"), Some(ItemKind::AdmissionNotice));
        assert_eq!(kind_of("exam_notice"), Some(ItemKind::ExamNotice));
        assert_eq!(priority_of("Khẩn"), Some(Priority::Priority));
        assert_eq!(priority_of("HỎA TỐC"), Some(Priority::Urgent));
        assert_eq!(priority_of("soon"), None);
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panicking(bytes in prop_oneof![any::<Vec<u8>>(), proptest::collection::vec(any::<u8>(), 65_000..70_000)]) {
            let mut decoded = Decoded::new(bytes.as_slice()).unwrap();
            let mut out = Vec::new();
            decoded.read_to_end(&mut out).unwrap();
            prop_assert!(std::str::from_utf8(&out).is_ok() || decoded.encoding == "UTF-8");
        }

        #[test]
        fn any_text_folds_without_panicking(text in "\\PC{0,60}") {
            let _ = (column_of(&text), kind_of(&text), priority_of(&text));
        }
    }
}
