//! Candidates' own dossiers and their electronic pre-advice (issue 13): the
//! candidate sends, the carrier registers at acceptance, the university
//! reads the data ahead of the paper and acknowledges it, and that keeps the
//! candidate's place when the paper is late or lost.

use chrono::{Duration, FixedOffset};
use serde_json::{json, Value};

use crate::items::{item_json, s10};
use crate::util::{Party, TestApp};
use exampost::clock::Clock;
use exampost::domain::OrgKind;

const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// An application dossier a candidate posts to DHQG-HN, as the carrier registers it at the counter.
fn dossier(number: &str) -> Value {
    let mut body = item_json(number, "2026-THPT");
    body["kind"] = json!("application_dossier");
    body["sent_by_candidate"] = json!(true);
    body["recipient"] = json!({"type": "organization", "organization": "DHQG-HN", "attention": "Phòng Đào tạo"});
    body["candidate"] = json!({"candidate_number": "15001234", "full_name": "Nguyễn Thị Minh Anh", "date_of_birth": "2008-03-14",
                               "email": "minh.anh@example.vn"});
    body["destination"] = json!({"province": "Hà Nội", "ward": "Phường Cầu Giấy", "address_line": "144 Xuân Thủy"});
    body.as_object_mut().unwrap().remove("seal_number");
    body
}

async fn scan(app: &TestApp, carrier: &Party, number: &str, id: &str, event_type: &str, extra: Value) {
    let now = app.clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()).to_rfc3339();
    let mut event = json!({"client_event_id": id, "type": event_type, "occurred_at": now, "office_code": "VNP-35000"});
    event.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let reply = app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &event).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

#[actix_web::test]
async fn a_candidate_sends_a_dossier_and_the_university_holds_its_pre_advice() {
    let app = TestApp::new().await;
    let carrier = app.new_party("VNPOST", OrgKind::Carrier, "ha-noi");
    let university = app.new_party("DHQG-HN", OrgKind::Education, "ha-noi");
    let other_school = app.new_party("THPT-VT", OrgKind::Education, "phu-tho");
    let contact = json!({"name": "Phòng Đào tạo", "email": "daotao@dhqg.example"});
    assert_eq!(app.post("/api/v1/contacts", Some(&university.token), &contact).await.status, 201);

    // What a candidate's dossier may not be.
    let mut notice = dossier(&s10(9));
    notice["kind"] = json!("exam_notice");
    assert_eq!(app.post("/api/v1/items", Some(&carrier.token), &notice).await.problem(422)["errors"][0]["field"], "sent_by_candidate");
    let mut named = dossier(&s10(9));
    named["sender_org"] = json!("THPT-VT");
    assert!(app.post("/api/v1/items", Some(&carrier.token), &named).await.error_fields().contains(&"sender_org".to_string()));
    let mut anonymous = dossier(&s10(9));
    anonymous.as_object_mut().unwrap().remove("candidate");
    assert!(app.post("/api/v1/items", Some(&carrier.token), &anonymous).await.error_fields().contains(&"candidate".to_string()));
    let mut not_theirs = dossier(&s10(9));
    not_theirs["carrier_org"] = json!("VNPOST");
    assert_eq!(app.post("/api/v1/items", Some(&other_school.token), &not_theirs).await.problem(422)["errors"][0]["field"], "sent_by_candidate");
    assert_eq!(app.count("items"), 0);

    // The carrier registers it at acceptance: no sending organization needed.
    let number = s10(1);
    let created = app.post("/api/v1/items", Some(&carrier.token), &dossier(&number)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!((created.body["sent_by_candidate"].as_bool(), created.body["sender_org"].as_str()), (Some(true), Some("VNPOST")));
    scan(&app, &carrier, &number, "acc-1", "accepted", json!({})).await;
    // The university sees it; the candidate follows it.
    assert_eq!(app.get(&format!("/api/v1/items/{number}"), Some(&university.token)).await.status, 200);
    let lookup = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number, "candidate_number": "15001234"})).await;
    assert_eq!(lookup.status, 200, "{}", lookup.text);
    assert!(lookup.body["pre_advice_label"].is_null());

    // The pre-advice: attached by the carrier, read and acknowledged by the university.
    let path = format!("/api/v1/items/{number}/pre-advice");
    let bad = app.put_json(&path, &carrier.token, &json!({"programme": "7480201 CNTT", "document_digest": "abc"})).await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "document_digest");
    let attached = app.put_json(&path, &carrier.token, &json!({"programme": "7480201 Công nghệ thông tin", "document_digest": DIGEST})).await;
    assert_eq!(attached.status, 200, "{}", attached.text);
    assert_eq!(attached.body["candidate_number"], "15001234");
    assert_eq!(app.get("/api/v1/pre-advices?status=", Some(&university.token)).await.problem(422)["errors"][0]["field"], "status");
    let pending = app.get("/api/v1/pre-advices?status=pending", Some(&university.token)).await;
    assert_eq!(pending.body.as_array().unwrap().len(), 1, "{}", pending.text);
    // Its list shows the candidate's name: a read of personal data, on the audit for Hà Nội's committee.
    let committee = app.new_party("BCD-HN", OrgKind::Overseer, "ha-noi");
    let reads = app.get("/api/v1/audit?action=list", Some(&committee.token)).await;
    assert_eq!(reads.body["items"][0]["tracking_numbers"], json!([number]), "{}", reads.text);
    assert_eq!(reads.body["items"][0]["query"], "status=pending");
    assert_eq!(pending.body[0]["programme"], "7480201 Công nghệ thông tin");
    assert_eq!(app.get("/api/v1/pre-advices", Some(&other_school.token)).await.body, json!([]));
    app.post(&format!("{path}/acknowledge"), Some(&carrier.token), &json!({})).await.problem(403);
    let acknowledged = app.post(&format!("{path}/acknowledge"), Some(&university.token), &json!({})).await;
    assert!(acknowledged.body["acknowledged_at"].is_string(), "{}", acknowledged.text);
    app.post(&format!("{path}/acknowledge"), Some(&university.token), &json!({})).await.problem(409);
    app.put_json(&path, &carrier.token, &json!({"programme": "khác", "document_digest": DIGEST})).await.problem(409);
    assert_eq!(app.get("/api/v1/pre-advices?status=pending", Some(&university.token)).await.body, json!([]));
    let lookup = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number, "candidate_number": "15001234"})).await;
    assert_eq!(lookup.body["pre_advice_label"], "Trường đã nhận hồ sơ điện tử");

    // The paper is late: the case and its mail say the place is kept.
    app.clock.advance(Duration::hours(80));
    exampost::app::cases::sweep(&mut **app.conn(), app.clock.as_ref()).unwrap();
    let cases = app.get(&format!("/api/v1/cases?tracking_number={number}&kind=overdue"), Some(&university.token)).await.body;
    assert_eq!(cases["items"][0]["place_kept"], true, "{cases}");
    let mails: Vec<String> = {
        use diesel::prelude::*;
        use exampost::db::schema::outbox::dsl;
        dsl::outbox.filter(dsl::target.eq("daotao@dhqg.example")).select(dsl::body).load(&mut **app.conn()).unwrap()
    };
    assert!(mails.iter().any(|m| m.contains("chỗ của thí sinh được giữ")), "{mails:?}");

    // Lost: the university (or the carrier that registered it) replaces it.
    scan(&app, &carrier, &number, "lost-1", "lost_declared", json!({})).await;
    app.post(&format!("/api/v1/items/{number}/replacement"), Some(&other_school.token), &json!({"tracking_number": s10(2)})).await.problem(404);
    let replaced = app.post(&format!("/api/v1/items/{number}/replacement"), Some(&university.token), &json!({"tracking_number": s10(2)})).await;
    assert_eq!(replaced.status, 201, "{}", replaced.text);
    assert_eq!(replaced.body["sent_by_candidate"], true);
}
