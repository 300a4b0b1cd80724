//! The one CSV writer behind every export. Spreadsheet programs run a cell
//! that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a
//! formula, so a tracking reference or an office code typed by one
//! organization could run in another's spreadsheet (OWASP "CSV injection").
//! Such cells get a leading single quote, which spreadsheets show as text;
//! [`restore`] takes it off again when the file is imported back.
//!
//! Every export is written the same way: UTF-8 with a byte order mark at the
//! start of the file, the header row first, fields quoted only when they
//! must be (RFC 4180 quoting), `\n` at the end of every row. A whole file
//! starts with [`CsvOut::file`]; a streamed file sends that as its first
//! chunk and [`CsvOut::continued`] for the others.

use std::borrow::Cow;

/// Byte order mark that tells spreadsheet programs the file is UTF-8
/// (without it Excel reads Vietnamese as mojibake).
pub const BOM: &str = "\u{feff}";

/// The media type an export is sent with.
pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

const FORMULA_STARTS: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet would read the cell as a formula, or the cell is
/// one that already looks neutralised (a quote before such a start), which
/// must be quoted again so that [`restore`] gives it back unchanged.
fn needs_quote(cell: &str) -> bool {
    match cell.chars().next() {
        Some(first) if FORMULA_STARTS.contains(&first) => true,
        Some('\'') => cell.strip_prefix('\'').is_some_and(needs_quote),
        _ => false,
    }
}

/// The cell as it is safe to write.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if needs_quote(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The value a neutralised cell stood for; any other cell as it is.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) => rest,
        _ => cell,
    }
}

/// Writes rows of text cells, each neutralised.
pub struct CsvOut {
    writer: csv::Writer<Vec<u8>>,
}

impl CsvOut {
    /// A new file; `with_bom` for a whole file, not for a later chunk of a
    /// streamed one. [`CsvOut::file`] and [`CsvOut::continued`] say which.
    fn new(with_bom: bool) -> Self {
        let start = if with_bom { BOM.as_bytes().to_vec() } else { Vec::new() };
        CsvOut { writer: csv::Writer::from_writer(start) }
    }

    /// The start of a file: the BOM, then the header row.
    pub fn file<I, S>(header: I) -> Result<Self, csv::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = CsvOut::new(true);
        out.row(header)?;
        Ok(out)
    }

    /// A file of several tables one after the other (rows of different
    /// lengths), with the BOM and no header of its own.
    pub fn sections() -> Self {
        let start = BOM.as_bytes().to_vec();
        CsvOut { writer: csv::WriterBuilder::new().flexible(true).from_writer(start) }
    }

    /// A later chunk of a streamed file, whose first chunk was a [`CsvOut::file`].
    pub fn continued() -> Self {
        CsvOut::new(false)
    }

    pub fn row<I, S>(&mut self, cells: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let safe: Vec<String> = cells.into_iter().map(|c| neutralise(c.as_ref()).into_owned()).collect();
        self.writer.write_record(&safe)
    }

    pub fn finish(self) -> Result<Vec<u8>, csv::Error> {
        self.writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))
    }
}

/// A whole file at once: the header, then every row.
pub fn file<H, N, R, C, S>(header: H, rows: R) -> Result<Vec<u8>, csv::Error>
where
    H: IntoIterator<Item = N>,
    N: AsRef<str>,
    R: IntoIterator<Item = C>,
    C: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = CsvOut::file(header)?;
    for row in rows {
        out.row(row)?;
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formula_starts_get_a_quote_and_other_cells_do_not() {
        for hostile in ["=1+1", "+84912", "-2+3", "@SUM(A1)", "\tx", "\rx", "'=x", "''@x"] {
            assert_eq!(neutralise(hostile), format!("'{hostile}"));
        }
        for plain in ["", "VNP-35000", "0912345678", "'quoted", "Nguyễn = Văn", "2026-THPT"] {
            assert_eq!(neutralise(plain), plain);
        }
    }

    #[test]
    fn written_rows_are_neutralised_after_the_bom() {
        let mut out = CsvOut::new(true);
        out.row(["a", "=HYPERLINK(\"http://x\")"]).unwrap();
        let text = String::from_utf8(out.finish().unwrap()).unwrap();
        assert_eq!(text, "\u{feff}a,\"'=HYPERLINK(\"\"http://x\"\")\"\n");
    }

    #[test]
    fn a_streamed_file_is_the_whole_file_cut_into_chunks() {
        let rows = [["1", "a,b"], ["2", "=c"], ["3", "\"d\""]];
        let whole = file(["n", "text"], rows.iter().map(|r| r.iter().copied())).unwrap();
        let mut first = CsvOut::file(["n", "text"]).unwrap();
        first.row(rows[0]).unwrap();
        let mut second = CsvOut::continued();
        second.row(rows[1]).unwrap();
        second.row(rows[2]).unwrap();
        let streamed = [first.finish().unwrap(), second.finish().unwrap()].concat();
        assert_eq!(streamed, whole);
        assert_eq!(String::from_utf8(whole).unwrap(), "\u{feff}n,text\n1,\"a,b\"\n2,'=c\n3,\"\"\"d\"\"\"\n");
    }

    proptest! {
        #[test]
        fn restore_undoes_neutralise(cell in "\\PC*|['=+@\\t\\r-]{0,4}\\PC{0,8}") {
            let safe = neutralise(&cell);
            prop_assert!(!safe.starts_with(FORMULA_STARTS));
            prop_assert_eq!(restore(&safe), cell.as_str());
        }
    }
}
