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
    exampost::seed::seed(&mut app.conn(), exampost::seed::DEMO, app.clock.now()).unwrap();
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
    exampost::app::cases::sweep(&mut app.conn(), app.clock.as_ref()).unwrap();
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
    assert!(csv.text.starts_with("\u{feff}case_id,tracking_number,kind,severity,level,state,owner_org,opened_at,response_due_at"));
    assert_eq!(csv.text.lines().count(), escalated.len() + 1);
    let html = app.get("/api/v1/reports/steering?season=2026-THPT&format=html", Some(&overseer)).await;
    assert!(html.content_type().starts_with("text/html"));
    assert!(html.text.contains("Báo cáo tình hình bưu gửi thi cử") && html.text.contains("Đầu mối liên hệ"));
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
    let bad = app.get("/api/v1/reports/steering?season=THPT&format=pdf&carrier=NOPE", Some(&overseer)).await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["carrier", "format", "season"]);
    app.get("/api/v1/reports/summary?season=2026-THPT&colour=red", Some(&overseer)).await.problem(400);
}
