//! Reports, checked against the demo season's story (counted by hand from
//! fixtures/generate_demo.py's plan).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::util::TestApp;
use exampost::clock::Clock;

async fn token(app: &TestApp, client_id: &str, secret: &str) -> String {
    let reply = app.post("/api/v1/auth/token", None, &json!({"client_id": client_id, "client_secret": secret})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["access_token"].as_str().unwrap().to_string()
}

fn by_status(summary: &Value) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for row in summary["totals"]["by_kind_and_status"].as_array().unwrap() {
        *counts.entry(row["status"].as_str().unwrap().to_string()).or_default() += row["count"].as_u64().unwrap();
    }
    counts
}

#[actix_web::test]
async fn reports_on_the_demo_season() {
    let app = TestApp::new().await;
    exampost::seed::seed(&mut **app.conn(), exampost::seed::DEMO, app.clock.now()).unwrap();
    let overseer = token(&app, "8f0c2a1e-0000-4000-8000-000000000005", "demo-skhcn-pt-secret").await;
    let vtp = token(&app, "8f0c2a1e-0000-4000-8000-000000000004", "demo-vtp-secret").await;

    let summary = app.get("/api/v1/reports/summary?season=2026-THPT", Some(&overseer)).await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    assert_eq!(summary.body["province"], "phu-tho");
    assert_eq!(summary.body["totals"]["items"], 63);
    let expected: BTreeMap<String, u64> = [
        ("delivered", 34), ("at_delivery_office", 1), ("in_transit", 10), ("out_for_delivery", 3), ("delivery_failed", 3), ("held_at_office", 2),
        ("accepted", 2), ("registered", 3), ("exception", 3), ("lost", 1), ("returned", 1),
    ]
    .iter()
    .map(|(s, n)| (s.to_string(), *n))
    .collect();
    assert_eq!(by_status(&summary.body), expected);
    // Cases the scans opened and left open: a broken seal, a misrouting, a damaged item, a loss, five
    // repeated failures (the sixth settled when its item was returned), and the exam papers that reached
    // their site without a departure scan (a gap in the sealed chain).
    let open: u64 = summary.body["open_cases"].as_array().unwrap().iter().map(|c| c["count"].as_u64().unwrap()).sum();
    assert_eq!(open, 10);
    assert!(summary.body["totals"]["overdue"].as_u64().unwrap() >= 2, "the two overdue items of the story");
    let vnpost = summary.body["totals"]["by_carrier"].as_array().unwrap().iter().find(|p| p["group"] == "VNPOST").unwrap().clone();
    assert!(vnpost["delivered"].as_u64().unwrap() > 0 && vnpost["median_delivery_hours"].as_f64().unwrap() > 0.0);

    // A carrier sees its own performance only.
    let own = app.get("/api/v1/reports/summary?season=2026-THPT", Some(&vtp)).await;
    let carriers: Vec<&str> = own.body["totals"]["by_carrier"].as_array().unwrap().iter().map(|p| p["group"].as_str().unwrap()).collect();
    assert_eq!(carriers, vec!["VTP"]);
    assert!(own.body["totals"]["items"].as_u64().unwrap() < 61);

    // Unanswered cases climb; the steering report lists those at level 2 and 3.
    app.clock.advance(chrono::Duration::hours(9));
    exampost::app::cases::sweep(&mut **app.conn(), app.clock.as_ref()).unwrap();
    // Nine hours on, by the server's clock the first token has expired.
    let overseer = token(&app, "8f0c2a1e-0000-4000-8000-000000000005", "demo-skhcn-pt-secret").await;
    let steering = app.get("/api/v1/reports/steering?season=2026-THPT", Some(&overseer)).await;
    assert_eq!(steering.status, 200, "{}", steering.text);
    let escalated = steering.body["escalated_cases"].as_array().unwrap();
    assert!(!escalated.is_empty());
    assert!(escalated.iter().all(|c| c["level"].as_i64().unwrap() >= 2));
    assert!(escalated.iter().any(|c| c["kind"] == "tampering"));

    let csv = app.get("/api/v1/reports/steering?season=2026-THPT&format=csv", Some(&overseer)).await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type().starts_with("text/csv"));
    // Every section is in the CSV, each under its title.
    assert!(csv.text.starts_with("\u{feff}Báo cáo,Giá trị"), "{}", csv.text);
    for title in ["Bưu gửi theo loại và trạng thái", "Chất lượng phát theo mức ưu tiên", "Chất lượng phát theo doanh nghiệp bưu chính",
                  "Sự cố nghiêm trọng đang mở", "Sự cố cấp 2 và cấp 3 đang mở", "Sự cố diện rộng", "Đầu mối liên hệ"] {
        assert!(csv.text.contains(title), "no {title} in the CSV");
    }
    for case in escalated {
        assert!(csv.text.contains(case["tracking_number"].as_str().unwrap()));
    }
    // Critical cases are listed at any level: items never accepted are at level 1, the broken seals higher.
    let critical = steering.body["critical_cases"].as_array().unwrap();
    assert!(critical.iter().any(|c| c["kind"] == "not_accepted" && c["level"] == 1), "{critical:?}");
    assert!(critical.iter().any(|c| c["kind"] == "tampering"), "{critical:?}");
    assert!(critical.iter().any(|c| c["kind"] == "lost"), "{critical:?}");
    let html = app.get("/api/v1/reports/steering?season=2026-THPT&format=html", Some(&overseer)).await;
    assert!(html.content_type().starts_with("text/html"));
    // A provincial document: its formal header, the province's name, labels in Vietnamese.
    for words in ["ỦY BAN NHÂN DÂN TỈNH PHÚ THỌ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập – Tự do – Hạnh phúc", "BÁO CÁO",
                  "Kỳ thi tốt nghiệp THPT và tuyển sinh năm 2026", "Hỏa tốc", "Giấy báo dự thi", "Đã phát thành công", "Đầu mối liên hệ"] {
        assert!(html.text.contains(words), "no {words} in the printable report");
    }
    assert!(!html.text.contains("phu-tho") && !html.text.contains(">urgent<"), "codes leak into the printable report");
    // The plan's contact table, with its tasks, lead and coordinating units and an exam site.
    let contacts = steering.body["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 5, "{contacts:?}");
    assert!(html.text.contains("Vận chuyển, bảo quản đề thi và giấy báo") && html.text.contains("Chủ trì") && html.text.contains("Phối hợp"));
    assert!(html.text.contains("Điểm thi THPT Chuyên Hùng Vương"));
    // The demo's flood is in the report, in plain words.
    let incidents = steering.body["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["label"], "Chậm do lũ lụt");
    assert!(html.text.contains("Sự cố diện rộng") && html.text.contains("Chậm do lũ lụt") && html.text.contains("VNP-KTHN"));

    app.get("/api/v1/reports/summary?season=2026-THPT&province=ha-noi", Some(&overseer)).await.problem(403);
    // The season defaults to the current one; a period narrows by registration day.
    let current = app.get("/api/v1/reports/summary", Some(&overseer)).await;
    assert_eq!((current.body["season"].as_str(), current.body["totals"]["items"].as_u64()), (Some("2026-THPT"), Some(63)));
    let today = app.clock.now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive();
    let future = today + chrono::Duration::days(30);
    let none = app.get(&format!("/api/v1/reports/summary?from={future}"), Some(&overseer)).await;
    assert_eq!(none.body["totals"]["items"], 0, "{}", none.text);
    let everything = app.get(&format!("/api/v1/reports/summary?from=2020-01-01&to={future}"), Some(&overseer)).await;
    assert_eq!(everything.body["totals"]["items"], 63);
    let backwards = app.get(&format!("/api/v1/reports/summary?from={today}&to=2020-01-01"), Some(&overseer)).await;
    assert_eq!(backwards.problem(422)["errors"][0]["field"], "to");
    let bad = app.get("/api/v1/reports/steering?season=THPT&format=pdf&carrier=NOPE", Some(&overseer)).await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["carrier", "format", "season"]);
    app.get("/api/v1/reports/summary?season=2026-THPT&colour=red", Some(&overseer)).await.problem(400);
}
