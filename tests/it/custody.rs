//! Sealed chains of custody (issue 12): exam papers and confidential
//! dispatches read their seal at every handover; a handover without a
//! reading, a broken or foreign seal, or a gap in the chain opens a critical
//! tampering case at once; confidential items never reach the public lookup.

use chrono::{Duration, FixedOffset};
use serde_json::{json, Value};

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{Party, Reply, TestApp};
use exampost::clock::Clock;
use exampost::domain::OrgKind;

fn exam_paper(number: &str) -> Value {
    let mut body = item_json(number, "2026-THPT");
    body["kind"] = json!("exam_paper");
    body["recipient"] = json!({"type": "organization", "organization": "THPT-VT", "attention": "Trưởng điểm thi"});
    body["seal_number"] = json!("DT-0001");
    body.as_object_mut().unwrap().remove("priority");
    body
}

async fn handover(app: &TestApp, carrier: &Party, number: &str, id: &str, event_type: &str, seal: Option<Value>) -> Reply {
    app.clock.advance(Duration::minutes(10));
    let now = app.clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap());
    let mut event = json!({"client_event_id": id, "type": event_type, "occurred_at": now.to_rfc3339(), "office_code": "VNP-35000"});
    if let Some(seal) = seal {
        event["seal"] = seal;
    }
    if event_type == "delivered" {
        event["recipient_name"] = json!("Trưởng điểm thi");
        event["identity_check"] = json!("organization_stamp");
    }
    let reply = app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &event).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply
}

fn sound() -> Option<Value> {
    Some(json!({"seal_number": "DT-0001", "intact": true}))
}

async fn tampering(app: &TestApp, token: &str, number: &str) -> Vec<Value> {
    let reply = app.get(&format!("/api/v1/cases?tracking_number={number}&kind=tampering"), Some(token)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn an_exam_paper_is_sealed_urgent_and_addressed_to_a_site() {
    let app = TestApp::new().await;
    let (dept, _carrier) = department_and_carrier(&app);
    app.new_party("THPT-VT", OrgKind::Education, "phu-tho");
    let mut unsealed = exam_paper(&s10(1));
    unsealed.as_object_mut().unwrap().remove("seal_number");
    let refused = app.post("/api/v1/items", Some(&dept.token), &unsealed).await;
    assert!(refused.error_fields().contains(&"seal_number".to_string()), "{}", refused.text);
    let mut to_candidate = item_json(&s10(2), "2026-THPT");
    to_candidate["kind"] = json!("exam_paper");
    let refused = app.post("/api/v1/items", Some(&dept.token), &to_candidate).await;
    assert!(refused.error_fields().contains(&"recipient".to_string()), "{}", refused.text);
    let mut dispatch = item_json(&s10(4), "2026-THPT");
    dispatch["kind"] = json!("official_dispatch");
    dispatch["confidential"] = json!(true);
    dispatch.as_object_mut().unwrap().remove("seal_number");
    let refused = app.post("/api/v1/items", Some(&dept.token), &dispatch).await;
    assert_eq!(refused.problem(422)["errors"][0]["field"], "seal_number");
    assert_eq!(app.count("items"), 0, "refused registrations store nothing");

    let created = app.post("/api/v1/items", Some(&dept.token), &exam_paper(&s10(3))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!((created.body["confidential"].as_bool(), created.body["priority"].as_str()), (Some(true), Some("urgent")));
}

#[actix_web::test]
async fn a_whole_sealed_chain_raises_nothing_and_a_handover_without_a_reading_is_tampering() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    app.new_party("THPT-VT", OrgKind::Education, "phu-tho");
    let number = s10(1);
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &exam_paper(&number)).await.status, 201);
    for (n, step) in ["accepted", "departed_office", "arrived_office", "departed_office", "arrived_delivery_office", "out_for_delivery", "delivered"]
        .iter()
        .enumerate()
    {
        handover(&app, &carrier, &number, &format!("h{n}"), step, sound()).await;
    }
    assert!(tampering(&app, &dept.token, &number).await.is_empty());

    // The same chain on another paper, but one departure read no seal.
    let other = s10(2);
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &exam_paper(&other)).await.status, 201);
    handover(&app, &carrier, &other, "o0", "accepted", sound()).await;
    handover(&app, &carrier, &other, "o1", "departed_office", None).await;
    let cases = tampering(&app, &dept.token, &other).await;
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["severity"], "critical");
    let detail = app.get(&format!("/api/v1/cases/{}", cases[0]["id"].as_str().unwrap()), Some(&dept.token)).await.body;
    let notes: Vec<&str> = detail["timeline"].as_array().unwrap().iter().filter_map(|e| e["note"].as_str()).collect();
    assert!(notes.iter().any(|n| n.contains("without a seal check")), "{notes:?}");
}

#[actix_web::test]
async fn a_foreign_seal_or_a_gap_in_the_chain_is_tampering_at_once() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    app.new_party("THPT-VT", OrgKind::Education, "phu-tho");
    let foreign = s10(1);
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &exam_paper(&foreign)).await.status, 201);
    handover(&app, &carrier, &foreign, "f0", "accepted", Some(json!({"seal_number": "DT-9999", "intact": true}))).await;
    assert_eq!(tampering(&app, &dept.token, &foreign).await.len(), 1);

    let gap = s10(2);
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &exam_paper(&gap)).await.status, 201);
    handover(&app, &carrier, &gap, "g0", "accepted", sound()).await;
    handover(&app, &carrier, &gap, "g1", "arrived_office", sound()).await;
    let cases = tampering(&app, &dept.token, &gap).await;
    assert_eq!(cases.len(), 1, "an arrival with no departure before it");

    // An ordinary item may skip readings and departures.
    let plain = s10(3);
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &item_json(&plain, "2026-THPT")).await.status, 201);
    handover(&app, &carrier, &plain, "p0", "accepted", None).await;
    handover(&app, &carrier, &plain, "p1", "arrived_office", None).await;
    assert!(tampering(&app, &dept.token, &plain).await.is_empty());

    // A seal reading names its seal.
    let now = app.clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap());
    let bad = json!({"client_event_id": "x", "type": "departed_office", "occurred_at": now.to_rfc3339(), "office_code": "VNP-35000",
                     "seal": {"seal_number": "  ", "intact": true}});
    let reply = app.post(&format!("/api/v1/items/{gap}/events"), Some(&carrier.token), &bad).await;
    assert_eq!(reply.problem(422)["errors"][0]["field"], "seal.seal_number");
}

#[actix_web::test]
async fn confidential_items_never_appear_in_the_public_lookup() {
    let app = TestApp::new().await;
    let (dept, _carrier) = department_and_carrier(&app);
    let number = s10(1);
    let mut body = item_json(&number, "2026-THPT");
    body["kind"] = json!("official_dispatch");
    body["confidential"] = json!(true);
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &body).await.status, 201);
    // The right number and the right candidate number: still nothing to the public.
    let lookup = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number, "candidate_number": "15001234"})).await;
    assert_eq!(lookup.status, 404, "{}", lookup.text);
    let dossier = app
        .post("/api/v1/public/dossier", None, &json!({"candidate_number": "15001234", "date_of_birth": "2008-03-14", "season": "2026-THPT"}))
        .await;
    assert_eq!(dossier.status, 404, "{}", dossier.text);
}
