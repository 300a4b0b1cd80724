//! Escalation through the real HTTP app, with the server's clock moved by
//! the test: detection at its boundaries, the ladder, the lifecycle, the
//! lost → replaced → delivered story, tampering.

use chrono::{Duration, FixedOffset};
use serde_json::{json, Value};

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{Party, Reply, TestApp};
use exampost::clock::Clock;
use exampost::domain::OrgKind;

/// A scan that happened now by the server's clock (Vietnam time).
fn scan_now(app: &TestApp, id: &str, event_type: &str, extra: Value) -> Value {
    let now = app.clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap());
    let mut event = json!({"client_event_id": id, "type": event_type, "occurred_at": now.to_rfc3339(), "office_code": "VNP-35000"});
    event.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    event
}

async fn scan(app: &TestApp, carrier: &Party, number: &str, event: Value) -> Reply {
    let reply = app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &event).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply
}

/// Messages queued for one recipient and topic.
fn outbox_to(app: &TestApp, target: &str, topic: &str) -> i64 {
    use diesel::prelude::*;
    use exampost::db::schema::outbox::dsl;
    dsl::outbox.filter(dsl::target.eq(target)).filter(dsl::topic.eq(topic)).count().get_result(&mut **app.conn()).unwrap()
}

fn sweep(app: &TestApp) -> exampost::app::cases::SweepReport {
    exampost::app::cases::sweep(&mut **app.conn(), app.clock.as_ref()).unwrap()
}

async fn cases_of(app: &TestApp, token: &str, number: &str) -> Vec<Value> {
    let reply = app.get(&format!("/api/v1/cases?tracking_number={number}"), Some(token)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"].as_array().unwrap().clone()
}

fn kinds(cases: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = cases.iter().map(|c| c["kind"].as_str().unwrap().to_string()).collect();
    kinds.sort();
    kinds
}

/// An urgent item within Phú Thọ (24 h deadline, 12 h stall limit, 2 h to acknowledge), accepted now.
async fn urgent_accepted(app: &TestApp, dept: &Party, carrier: &Party, serial: u32) -> String {
    let number = s10(serial);
    let mut body = item_json(&number, "2026-THPT");
    body["priority"] = json!("urgent");
    body.as_object_mut().unwrap().remove("must_arrive_by");
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &body).await.status, 201);
    scan(app, carrier, &number, scan_now(app, &format!("acc-{serial}"), "accepted", json!({}))).await;
    number
}

#[actix_web::test]
async fn overdue_and_stalled_open_at_their_boundaries_once() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = urgent_accepted(&app, &dept, &carrier, 1).await;
    let detail = app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.body;
    let accepted: chrono::DateTime<chrono::Utc> = detail["timeline"][0]["occurred_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(detail["due_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap(), accepted + Duration::hours(24));

    app.clock.set(accepted + Duration::hours(12));
    assert_eq!(sweep(&app).cases_opened, 0, "12 h without a scan is still within the limit");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(sweep(&app).cases_opened, 1);
    assert_eq!(kinds(&cases_of(&app, &dept.token, &number).await), vec!["stalled"]);

    app.clock.set(accepted + Duration::hours(24));
    sweep(&app);
    assert!(!kinds(&cases_of(&app, &dept.token, &number).await).contains(&"overdue".to_string()));
    app.clock.advance(Duration::seconds(1));
    sweep(&app);
    let cases = cases_of(&app, &dept.token, &number).await;
    assert_eq!(kinds(&cases), vec!["overdue", "stalled"]);
    let overdue = cases.iter().find(|c| c["kind"] == "overdue").unwrap();
    assert_eq!((overdue["severity"].as_str(), overdue["level"].as_i64(), overdue["owner_org"].as_str()), (Some("high"), Some(1), Some("VNPOST")));

    // Sweeping again opens nothing twice.
    assert_eq!(sweep(&app).cases_opened, 0);
    assert_eq!(app.count("cases"), 2);
}

#[actix_web::test]
async fn an_unanswered_case_climbs_the_ladder_to_the_overseer() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let overseer = app.new_party("DIC-PT", OrgKind::Overseer, "phu-tho");
    let number = urgent_accepted(&app, &dept, &carrier, 1).await;
    app.clock.advance(Duration::hours(24) + Duration::minutes(1));
    sweep(&app);
    let overdue = cases_of(&app, &dept.token, &number).await.into_iter().find(|c| c["kind"] == "overdue").unwrap();
    let path = format!("/api/v1/cases/{}", overdue["id"].as_str().unwrap());

    app.clock.advance(Duration::hours(2) - Duration::seconds(1));
    sweep(&app);
    assert_eq!(app.get(&path, Some(&dept.token)).await.body["level"], 1, "not yet due");
    app.clock.advance(Duration::seconds(1));
    assert!(sweep(&app).cases_escalated >= 1);
    let case = app.get(&path, Some(&dept.token)).await.body;
    assert_eq!((case["level"].as_i64(), case["owner_org"].as_str()), (Some(2), Some("VNPOST")));
    app.clock.advance(Duration::hours(2));
    sweep(&app);
    let case = app.get(&path, Some(&overseer.token)).await.body;
    assert_eq!((case["level"].as_i64(), case["owner_org"].as_str()), (Some(3), Some("DIC-PT")));
    app.clock.advance(Duration::hours(10));
    sweep(&app);
    let case = app.get(&path, Some(&dept.token)).await.body;
    assert_eq!(case["level"], 3, "the top is the top");
    let actions: Vec<&str> = case["timeline"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["opened", "escalated", "escalated"]);
    assert!(case["timeline"].as_array().unwrap().iter().all(|e| e["actor"] == "system"));
}

#[actix_web::test]
async fn lifecycle_rules_and_who_may_act() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let other_carrier = app.new_party("VTP", OrgKind::Carrier, "ho-chi-minh");
    let number = urgent_accepted(&app, &dept, &carrier, 1).await;
    app.clock.advance(Duration::hours(25));
    sweep(&app);
    let overdue = cases_of(&app, &carrier.token, &number).await.into_iter().find(|c| c["kind"] == "overdue").unwrap();
    let base = format!("/api/v1/cases/{}", overdue["id"].as_str().unwrap());
    let expected = (app.clock.now() + Duration::hours(6)).to_rfc3339();
    let plan = json!({"plan": "Kiểm tra túi thư", "expected_at": expected});

    app.post(&format!("{base}/acknowledge"), Some(&other_carrier.token), &plan).await.problem(404);
    app.post(&format!("{base}/acknowledge"), Some(&dept.token), &plan).await.problem(403);
    let missing = app.post(&format!("{base}/acknowledge"), Some(&carrier.token), &json!({"plan": "x", "expected_at": "tomorrow"})).await;
    assert_eq!(missing.problem(422)["errors"][0]["field"], "expected_at");
    let acked = app.post(&format!("{base}/acknowledge"), Some(&carrier.token), &plan).await;
    assert_eq!(acked.status, 200, "{}", acked.text);
    assert_eq!((acked.body["state"].as_str(), acked.body["plan"].as_str()), (Some("acknowledged"), Some("Kiểm tra túi thư")));
    app.post(&format!("{base}/acknowledge"), Some(&carrier.token), &plan).await.problem(409);

    // Acknowledged cases do not rise while the promised time holds (a broken
    // promise sends them up: see ladder.rs).
    app.clock.advance(Duration::hours(6) - Duration::seconds(1));
    sweep(&app);
    assert_eq!(app.get(&base, Some(&dept.token)).await.body["level"], 1);

    app.post(&format!("{base}/comment"), Some(&dept.token), &json!({"note": "Thí sinh cần nhận trước 17h"})).await;
    app.post(&format!("{base}/close"), Some(&dept.token), &json!({})).await.problem(409);
    let no_outcome = app.post(&format!("{base}/resolve"), Some(&carrier.token), &json!({"note": "done"})).await;
    assert_eq!(no_outcome.problem(422)["errors"][0]["field"], "outcome");
    let resolved = app.post(&format!("{base}/resolve"), Some(&carrier.token), &json!({"outcome": "found_and_delivered"})).await;
    assert_eq!(resolved.body["state"], "resolved", "{}", resolved.text);
    app.post(&format!("{base}/close"), Some(&carrier.token), &json!({})).await.problem(403);
    let closed = app.post(&format!("{base}/close"), Some(&dept.token), &json!({"note": "ok"})).await;
    assert_eq!(closed.body["state"], "closed", "{}", closed.text);
    app.post(&format!("{base}/acknowledge"), Some(&carrier.token), &plan).await.problem(409);
    app.post(&format!("{base}/escalate"), Some(&dept.token), &json!({})).await.problem(409);
    let actions: Vec<String> = closed.body["timeline"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    assert_eq!(actions, vec!["opened", "acknowledged", "commented", "resolved", "closed"]);
}

#[actix_web::test]
async fn a_delivery_settles_delay_cases() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = urgent_accepted(&app, &dept, &carrier, 1).await;
    app.clock.advance(Duration::hours(30));
    sweep(&app);
    assert_eq!(kinds(&cases_of(&app, &dept.token, &number).await), vec!["overdue", "stalled"]);
    let delivered = json!({"recipient_name": "Nguyễn Thị Minh Anh", "identity_check": "citizen_id_card"});
    scan(&app, &carrier, &number, scan_now(&app, "del-1", "delivered", delivered)).await;
    let cases = cases_of(&app, &dept.token, &number).await;
    assert!(cases.iter().all(|c| c["state"] == "resolved" && c["outcome"] == "found_and_delivered"), "{cases:?}");
    app.clock.advance(Duration::hours(100));
    assert_eq!(sweep(&app).cases_opened, 0, "a delivered item calls for nothing");
}

#[actix_web::test]
async fn a_broken_seal_opens_a_critical_case_at_once() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = urgent_accepted(&app, &dept, &carrier, 1).await;
    let reply = scan(&app, &carrier, &number, scan_now(&app, "seal-1", "seal_checked", json!({"seal_number": "SEAL-0001", "intact": false}))).await;
    assert_eq!(reply.body["item_status"], "exception");
    let cases = cases_of(&app, &dept.token, &number).await;
    assert_eq!(kinds(&cases), vec!["tampering"]);
    assert_eq!(cases[0]["severity"], "critical");
    // A critical case has an hour to be acknowledged.
    let opened: chrono::DateTime<chrono::Utc> = cases[0]["opened_at"].as_str().unwrap().parse().unwrap();
    let due: chrono::DateTime<chrono::Utc> = cases[0]["response_due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due - opened, Duration::hours(1));
    // Repeated failures and misrouting open their cases too.
    let failed = json!({"reason": "recipient_absent", "action": "retry_next_round"});
    scan(&app, &carrier, &number, scan_now(&app, "f-1", "delivery_failed", failed.clone())).await;
    assert_eq!(kinds(&cases_of(&app, &dept.token, &number).await), vec!["tampering"]);
    app.clock.advance(Duration::hours(1));
    scan(&app, &carrier, &number, scan_now(&app, "f-2", "delivery_failed", failed)).await;
    scan(&app, &carrier, &number, scan_now(&app, "m-1", "misrouted", json!({}))).await;
    assert_eq!(kinds(&cases_of(&app, &dept.token, &number).await), vec!["misrouted", "repeated_failure", "tampering"]);
}

#[actix_web::test]
async fn lost_then_replaced_then_delivered() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let contact = json!({"name": "Trần Thị Lan", "email": "lan@sgd.example", "case_kinds": ["lost"]});
    assert_eq!(app.post("/api/v1/contacts", Some(&dept.token), &contact).await.status, 201);
    let number = urgent_accepted(&app, &dept, &carrier, 1).await;

    // Silent long past the deadline: loss is suspected; the carrier declares it lost.
    app.clock.advance(Duration::hours(24 + 72 + 1));
    sweep(&app);
    let cases = cases_of(&app, &carrier.token, &number).await;
    assert!(kinds(&cases).contains(&"suspected_loss".to_string()), "{cases:?}");
    let suspected = cases.iter().find(|c| c["kind"] == "suspected_loss").unwrap();
    let resolved = app
        .post(&format!("/api/v1/cases/{}/resolve", suspected["id"].as_str().unwrap()), Some(&carrier.token), &json!({"outcome": "declared_lost"}))
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    let item = app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.body;
    assert_eq!(item["status"], "lost");
    let lost_case = cases_of(&app, &dept.token, &number).await.into_iter().find(|c| c["kind"] == "lost").unwrap();
    assert_eq!((lost_case["replacement_requested"].as_bool(), lost_case["state"].as_str()), (Some(true), Some("open")));
    assert_eq!(lost_case["timeline"].as_array().map(|t| t.len()), None, "list views carry no timeline");
    let asked = app.get(&format!("/api/v1/cases/{}", lost_case["id"].as_str().unwrap()), Some(&dept.token)).await.body;
    assert!(asked["timeline"].as_array().unwrap().iter().any(|e| e["action"] == "replacement_requested"));
    // The sender's contact is asked at once, at level 1.
    assert_eq!(outbox_to(&app, "lan@sgd.example", "case.opened"), 1);

    // Only the sender replaces, only a lost item, only once.
    let replacement = json!({"tracking_number": s10(2)});
    app.post(&format!("/api/v1/items/{number}/replacement"), Some(&carrier.token), &replacement).await.problem(403);
    let created = app.post(&format!("/api/v1/items/{number}/replacement"), Some(&dept.token), &replacement).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!((created.body["priority"].as_str(), created.body["replaces"].as_str()), (Some("urgent"), Some(number.as_str())));
    assert_eq!(created.body["recipient"]["candidate_number"], "15001234");
    assert_eq!(created.body["destination"]["address_line"], "12 Trần Phú");
    let again = app.post(&format!("/api/v1/items/{number}/replacement"), Some(&dept.token), &json!({"tracking_number": s10(3)})).await;
    assert_eq!(again.problem(409)["existing_id"], created.body["id"]);
    let old = app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.body;
    assert_eq!(old["replaced_by"], s10(2));
    let lost_case = app.get(&format!("/api/v1/cases/{}", lost_case["id"].as_str().unwrap()), Some(&dept.token)).await.body;
    assert_eq!((lost_case["state"].as_str(), lost_case["outcome"].as_str()), (Some("resolved"), Some("replaced")));

    // The replacement travels and arrives.
    let new_number = s10(2);
    scan(&app, &carrier, &new_number, scan_now(&app, "r-0", "accepted", json!({}))).await;
    let delivered = json!({"recipient_name": "Nguyễn Thị Minh Anh", "identity_check": "citizen_id_card"});
    scan(&app, &carrier, &new_number, scan_now(&app, "r-1", "delivered", delivered)).await;
    assert_eq!(app.get(&format!("/api/v1/items/{new_number}"), Some(&dept.token)).await.body["status"], "delivered");

    // A replacement for an item that is not lost is refused.
    let not_lost = app.post(&format!("/api/v1/items/{new_number}/replacement"), Some(&dept.token), &json!({"tracking_number": s10(4)})).await;
    assert!(not_lost.problem(409)["detail"].as_str().unwrap().contains("not lost"));
}

#[actix_web::test]
async fn deadline_at_risk_before_the_delivery_office() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    let mut body = item_json(&number, "2026-THPT");
    let by = app.clock.now() + Duration::hours(30);
    body["must_arrive_by"] = json!(by.to_rfc3339());
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &body).await.status, 201);
    scan(&app, &carrier, &number, scan_now(&app, "a-0", "accepted", json!({}))).await;
    app.clock.set(by - Duration::hours(24));
    sweep(&app);
    assert!(cases_of(&app, &dept.token, &number).await.is_empty());
    app.clock.advance(Duration::seconds(1));
    sweep(&app);
    assert_eq!(kinds(&cases_of(&app, &dept.token, &number).await), vec!["deadline_at_risk"]);
}

#[actix_web::test]
async fn contact_points_and_rules() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let contact = json!({"name": "Nguyễn Văn Hùng", "position": "Trưởng phòng", "email": "hung@vnpost.vn", "case_kinds": ["overdue"], "levels": [1, 2]});
    let created = app.post("/api/v1/contacts", Some(&carrier.token), &contact).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let unreachable = app.post("/api/v1/contacts", Some(&carrier.token), &json!({"name": "Ai đó"})).await;
    assert_eq!(unreachable.problem(422)["errors"][0]["field"], "phone");
    let bad_level = app.post("/api/v1/contacts", Some(&carrier.token), &json!({"name": "x", "phone": "0912345678", "levels": [4]})).await;
    assert_eq!(bad_level.problem(422)["errors"][0]["field"], "levels");
    let listed = app.get("/api/v1/contacts?organization=VNPOST", Some(&dept.token)).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["case_kinds"], json!(["overdue"]));
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(app.raw("DELETE", &format!("/api/v1/contacts/{id}"), &[("authorization", &format!("Bearer {}", dept.token))], vec![]).await.status, 404);
    assert_eq!(app.raw("DELETE", &format!("/api/v1/contacts/{id}"), &[("authorization", &format!("Bearer {}", carrier.token))], vec![]).await.status, 204);
    assert_eq!(app.count("contact_points"), 0);

    let rules = app.get("/api/v1/rules", Some(&dept.token)).await;
    assert_eq!(rules.body.as_array().unwrap().len(), 3);
    let ops = app.org("EXAMPOST", OrgKind::Overseer, "ha-noi");
    let admin = app.party(&ops, exampost::domain::Role::Admin);
    let update = json!({"transit_hours_same_province": 12, "transit_hours_other_province": 24, "stall_hours": 6, "ack_hours": 1, "suspected_loss_hours": 48, "at_risk_margin_hours": 12});
    app.put_json("/api/v1/rules/urgent", &dept.token, &update).await.problem(403);
    let changed = app.put_json("/api/v1/rules/urgent", &admin.token, &update).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let mut bad = update.clone();
    bad["transit_hours_other_province"] = json!(1);
    assert_eq!(app.put_json("/api/v1/rules/urgent", &admin.token, &bad).await.problem(422)["errors"][0]["field"], "transit_hours_other_province");
    // The new transit time applies to the next acceptance.
    let number = urgent_accepted(&app, &dept, &carrier, 9).await;
    let item = app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.body;
    let accepted: chrono::DateTime<chrono::Utc> = item["timeline"][0]["occurred_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(item["due_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap(), accepted + Duration::hours(12));
}

#[actix_web::test]
async fn departments_find_what_is_late_and_export_cases() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let late = urgent_accepted(&app, &dept, &carrier, 1).await;
    let on_time = s10(2);
    let mut body = item_json(&on_time, "2026-THPT");
    body["recipient"]["candidate_number"] = json!("15007777");
    body["destination"]["ward"] = json!("Phường Nông Trang");
    body.as_object_mut().unwrap().remove("must_arrive_by");
    // Standard and accepted: 25 h later it is within every limit (accepted, 48 h stall, 72 h transit).
    body["priority"] = json!("standard");
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &body).await.status, 201);
    scan(&app, &carrier, &on_time, scan_now(&app, "acc-on-time", "accepted", json!({}))).await;
    app.clock.advance(Duration::hours(25));
    sweep(&app);

    let numbers = |reply: &Reply| -> Vec<String> {
        reply.body["items"].as_array().unwrap().iter().map(|i| i["tracking_number"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(numbers(&app.get("/api/v1/items?overdue=true", Some(&dept.token)).await), vec![late.clone()]);
    assert_eq!(numbers(&app.get("/api/v1/items?has_open_case=true", Some(&dept.token)).await), vec![late.clone()]);
    assert_eq!(numbers(&app.get("/api/v1/items?has_open_case=false", Some(&dept.token)).await), vec![on_time.clone()]);
    assert_eq!(numbers(&app.get("/api/v1/items?candidate_number=15007777", Some(&dept.token)).await), vec![on_time.clone()]);
    let ward = app.get("/api/v1/items?destination_ward=Ph%C6%B0%E1%BB%9Dng%20N%C3%B4ng%20Trang", Some(&dept.token)).await;
    assert_eq!(numbers(&ward), vec![on_time.clone()]);
    let bad = app.get("/api/v1/items?overdue=maybe&recipient=NOPE", Some(&dept.token)).await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["overdue", "recipient"]);

    let csv = app.get("/api/v1/cases?format=csv", Some(&dept.token)).await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(csv.text.starts_with("\u{feff}case_id,tracking_number,kind"));
    assert_eq!(csv.text.lines().count(), 3, "header, overdue and stalled");
    assert!(csv.text.contains(&late));
    app.get("/api/v1/cases?format=xml", Some(&dept.token)).await.problem(422);
}
