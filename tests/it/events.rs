//! Scan events through the real HTTP app: retries, order, corrections, scope.

use serde_json::{json, Value};

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{Party, Reply, TestApp};
use exampost::domain::OrgKind;

/// A scan of `type` at `time` (local Vietnam time, with offset).
pub(crate) fn scan(client_event_id: &str, event_type: &str, time: &str) -> Value {
    let mut event = json!({
        "client_event_id": client_event_id,
        "type": event_type,
        "occurred_at": format!("{time}+07:00"),
        "office_code": "VNP-290000",
        "office_name": "Bưu cục Việt Trì",
        "operator_id": "nv0421",
        "device_id": "PDA-17",
    });
    let extra = match event_type {
        "delivery_failed" => json!({"reason": "recipient_absent", "action": "retry_next_round"}),
        "delivered" => json!({"recipient_name": "Nguyễn Thị Minh Anh", "identity_check": "citizen_id_card"}),
        "seal_checked" => json!({"seal_number": "SEAL-0001", "intact": true}),
        _ => json!({}),
    };
    event.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    event
}

/// A realistic scan log of one item, in the order it happened.
fn scan_log(prefix: &str) -> Vec<Value> {
    [
        ("accepted", "2020-07-10T08:00:00"),
        ("seal_checked", "2020-07-10T08:05:00"),
        ("arrived_office", "2020-07-10T14:00:00"),
        ("departed_office", "2020-07-10T18:30:00"),
        ("arrived_delivery_office", "2020-07-11T06:10:00"),
        ("out_for_delivery", "2020-07-11T07:30:00"),
        ("delivery_failed", "2020-07-11T10:45:00"),
        ("out_for_delivery", "2020-07-12T07:30:00"),
        ("delivered", "2020-07-12T09:12:00"),
    ]
    .iter()
    .enumerate()
    .map(|(n, (t, at))| scan(&format!("{prefix}-{n}"), t, at))
    .collect()
}

pub(crate) async fn register(app: &TestApp, dept: &Party, number: &str) {
    let reply = app.post("/api/v1/items", Some(&dept.token), &item_json(number, "2020-THPT")).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

pub(crate) async fn post_event(app: &TestApp, carrier: &Party, number: &str, event: &Value) -> Reply {
    app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), event).await
}

pub(crate) fn batch_entry(number: &str, event: &Value) -> Value {
    let mut entry = event.clone();
    entry["tracking_number"] = json!(number);
    entry
}

fn timeline_types(detail: &Value) -> Vec<String> {
    detail["timeline"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_string()).collect()
}

/// A day after the scan logs' July 2020 (the clock a test of them starts at):
/// their times are neither in the future nor more than a year before their
/// items were registered.
pub(crate) fn in_the_scan_logs_season() -> chrono::DateTime<chrono::Utc> {
    "2020-07-20T00:00:00Z".parse().expect("a valid time")
}

#[actix_web::test]
async fn in_order_and_shuffled_scan_logs_reach_the_same_state() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let (first, second) = (s10(1), s10(2));
    register(&app, &dept, &first).await;
    register(&app, &dept, &second).await;

    for event in scan_log("a") {
        let reply = post_event(&app, &carrier, &first, &event).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    // The same log for the second item, reversed and interleaved, in one batch.
    let mut shuffled: Vec<Value> = scan_log("b").iter().map(|e| batch_entry(&second, e)).collect();
    shuffled.reverse();
    shuffled.swap(1, 5);
    let reply = app.post("/api/v1/events/batch", Some(&carrier.token), &json!({ "events": shuffled })).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["created"], 9, "{}", reply.text);

    let a = app.get(&format!("/api/v1/items/{first}"), Some(&dept.token)).await.body;
    let b = app.get(&format!("/api/v1/items/{second}"), Some(&dept.token)).await.body;
    for detail in [&a, &b] {
        assert_eq!(detail["status"], "delivered");
        assert_eq!(detail["has_anomaly"], false);
        assert_eq!(detail["last_event_at"], "2020-07-12T02:12:00Z");
        assert_eq!(detail["last_office_code"], "VNP-290000");
    }
    assert_eq!(timeline_types(&a), timeline_types(&b));
    assert_eq!(timeline_types(&a)[0], "accepted");
    let arrived = &a["timeline"][2];
    assert_eq!((arrived["upu_code"].as_str(), arrived["occurred_offset"].as_str()), (Some("EMJ"), Some("+07:00")));
    assert_eq!(arrived["occurred_at"], "2020-07-10T07:00:00Z");
    assert_eq!(a["timeline"][8]["upu_code"], "EMI");
    assert_eq!(a["timeline"][6]["details"]["reason"], "recipient_absent");
    assert_eq!(a["timeline"][1]["details"]["matches_registered"], true);
}

#[actix_web::test]
async fn retries_are_idempotent_and_reused_ids_conflict() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    register(&app, &dept, &number).await;
    let event = scan("x-1", "accepted", "2020-07-10T08:00:00");
    let first = post_event(&app, &carrier, &number, &event).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["item_status"], "accepted");
    let retry = post_event(&app, &carrier, &number, &event).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.body["event"]["id"], first.body["event"]["id"]);
    let mut changed = event.clone();
    changed["office_code"] = json!("VNP-100000");
    let conflict = post_event(&app, &carrier, &number, &changed).await;
    assert_eq!(conflict.problem(409)["existing_id"], first.body["event"]["id"]);
    // A retry inside a batch is a duplicate too.
    let reply = app.post("/api/v1/events/batch", Some(&carrier.token), &json!({"events": [batch_entry(&number, &event)]})).await;
    assert_eq!(reply.body["results"][0]["status"], "duplicate");
    assert_eq!(reply.body["results"][0]["id"], first.body["event"]["id"]);
    assert_eq!(app.count("events"), 1);
}

#[actix_web::test]
async fn repeats_inside_one_batch_are_stored_once() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let (first, second) = (s10(1), s10(2));
    register(&app, &dept, &first).await;
    register(&app, &dept, &second).await;
    let stored_before = scan("r-0", "accepted", "2020-07-10T08:00:00");
    assert_eq!(post_event(&app, &carrier, &first, &stored_before).await.status, 201);

    let arrived = scan("r-1", "arrived_office", "2020-07-10T14:00:00");
    let mut same_id_other_office = arrived.clone();
    same_id_other_office["office_code"] = json!("VNP-100000");
    let events = json!({"events": [
        batch_entry(&first, &arrived),
        batch_entry(&first, &stored_before),
        batch_entry(&first, &arrived),
        batch_entry(&first, &same_id_other_office),
        batch_entry(&second, &scan("r-2", "accepted", "2020-07-10T09:00:00")),
    ]});
    let reply = app.post("/api/v1/events/batch", Some(&carrier.token), &events).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let results = reply.body["results"].as_array().unwrap();
    let statuses: Vec<&str> = results.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["created", "duplicate", "duplicate", "rejected", "created"], "{}", reply.text);
    assert_eq!(results[2]["id"], results[0]["id"], "the repeat names the event the batch stored");
    assert_eq!(results[3]["error"]["status"], 409);
    assert_eq!(results[3]["error"]["existing_id"], results[0]["id"]);
    assert_eq!((reply.body["created"].as_u64(), reply.body["duplicates"].as_u64()), (Some(2), Some(2)));
    assert_eq!(app.count("events"), 3);
    let detail = app.get(&format!("/api/v1/items/{first}"), Some(&dept.token)).await;
    assert_eq!(detail.body["status"], "in_transit", "{}", detail.text);
    let detail = app.get(&format!("/api/v1/items/{second}"), Some(&dept.token)).await;
    assert_eq!(detail.body["status"], "accepted", "{}", detail.text);
}

/// Two batches in flight at once, each with half of the same items' scans:
/// whichever commits last must derive the state from both halves (on
/// PostgreSQL each transaction would otherwise miss the other's events).
#[actix_web::test]
async fn concurrent_batches_on_the_same_items_derive_from_all_events() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let numbers: Vec<String> = (1..=20).map(s10).collect();
    for number in &numbers {
        register(&app, &dept, number).await;
    }
    let (mut odd, mut even) = (Vec::new(), Vec::new());
    for number in &numbers {
        for (n, event) in scan_log(number).into_iter().enumerate() {
            if n % 2 == 0 { even.push(batch_entry(number, &event)) } else { odd.push(batch_entry(number, &event)) }
        }
    }
    let (a, b) = futures_util::future::join(
        app.post("/api/v1/events/batch", Some(&carrier.token), &json!({ "events": even })),
        app.post("/api/v1/events/batch", Some(&carrier.token), &json!({ "events": odd })),
    )
    .await;
    assert_eq!((a.status, b.status), (200, 200), "{} {}", a.text, b.text);
    assert_eq!(a.body["created"].as_u64().unwrap() + b.body["created"].as_u64().unwrap(), 20 * 9);
    for number in &numbers {
        let detail = app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await;
        assert_eq!(detail.body["status"], "delivered", "{number}: {}", detail.text);
        assert_eq!(detail.body["last_event_at"], "2020-07-12T02:12:00Z", "{number}");
    }
}

#[actix_web::test]
async fn concurrent_identical_scans_store_one_event() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    register(&app, &dept, &number).await;
    let event = scan("c-1", "accepted", "2020-07-10T08:00:00");
    let replies = futures_util::future::join_all((0..8).map(|_| post_event(&app, &carrier, &number, &event))).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 200, 200, 201], "{:?}", replies.iter().map(|r| &r.text).collect::<Vec<_>>());
    assert_eq!(app.count("events"), 1);
}

#[actix_web::test]
async fn a_batch_of_good_and_bad_events_lands_the_good_ones() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let other_carrier = app.new_party("VTP", OrgKind::Carrier, "ho-chi-minh");
    let (ours, theirs) = (s10(1), s10(2));
    register(&app, &dept, &ours).await;
    let mut body = item_json(&theirs, "2020-THPT");
    body["carrier_org"] = json!("VTP");
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &body).await.status, 201);

    let mut no_offset = batch_entry(&ours, &scan("b-2", "arrived_office", "2020-07-10T14:00:00"));
    no_offset["occurred_at"] = json!("10/07/2020 14:00:00");
    let mut future = batch_entry(&ours, &scan("b-3", "departed_office", "2020-07-10T18:00:00"));
    future["occurred_at"] = json!("2999-01-01T00:00:00+07:00");
    let mut missing_office = batch_entry(&ours, &scan("b-4", "arrived_office", "2020-07-10T15:00:00"));
    missing_office.as_object_mut().unwrap().remove("office_code");
    let mut failed_without_reason = batch_entry(&ours, &scan("b-5", "delivery_failed", "2020-07-10T16:00:00"));
    failed_without_reason.as_object_mut().unwrap().remove("reason");
    let events = json!({"events": [
        batch_entry(&ours, &scan("b-0", "accepted", "2020-07-10T08:00:00")),
        batch_entry(&ours, &scan("b-1", "teleported", "2020-07-10T09:00:00")),
        no_offset,
        future,
        missing_office,
        failed_without_reason,
        batch_entry(&s10(99), &scan("b-6", "accepted", "2020-07-10T08:00:00")),
        batch_entry(&theirs, &scan("b-7", "accepted", "2020-07-10T08:00:00")),
        batch_entry("RR123456786VN", &scan("b-8", "accepted", "2020-07-10T08:00:00")),
        batch_entry(&ours, &scan("b-9", "arrived_office", "2020-07-10T14:00:00")),
    ]});
    let reply = app.post("/api/v1/events/batch", Some(&carrier.token), &events).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let results = reply.body["results"].as_array().unwrap();
    let statuses: Vec<&str> = results.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["created", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected", "created"]);
    let field = |i: usize| results[i]["error"]["errors"][0]["field"].as_str().unwrap_or("").to_string();
    assert_eq!(field(1), "type");
    assert!(results[1]["error"]["errors"][0]["reason"].as_str().unwrap().contains("`delivered`"));
    assert_eq!(field(2), "occurred_at");
    assert_eq!(field(3), "occurred_at");
    assert_eq!(field(4), "office_code");
    assert_eq!(field(5), "reason");
    assert_eq!(results[6]["error"]["status"], 404);
    assert_eq!(results[7]["error"]["status"], 404, "another carrier's item is not ours to scan");
    assert_eq!(field(8), "tracking_number");
    assert_eq!(app.count("events"), 2);
    let detail = app.get(&format!("/api/v1/items/{ours}"), Some(&dept.token)).await;
    assert_eq!(detail.body["status"], "in_transit");

    // The other carrier's view: it sees its own item, and cannot scan or read ours.
    let refused = post_event(&app, &other_carrier, &ours, &scan("v-1", "accepted", "2020-07-10T08:00:00")).await;
    refused.problem(404);
    app.get(&format!("/api/v1/items/{ours}/events"), Some(&other_carrier.token)).await.problem(404);
    assert_eq!(app.count("events"), 2);

    let too_many: Vec<Value> = (0..1001).map(|n| batch_entry(&ours, &scan(&format!("m-{n}"), "accepted", "2020-07-10T08:00:00"))).collect();
    app.post("/api/v1/events/batch", Some(&carrier.token), &json!({ "events": too_many })).await.problem(413);
    assert_eq!(app.count("events"), 2);
}

#[actix_web::test]
async fn voiding_keeps_the_history_and_recomputes_the_status() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let other_carrier = app.new_party("VTP", OrgKind::Carrier, "ho-chi-minh");
    let number = s10(1);
    register(&app, &dept, &number).await;
    for event in [
        scan("v-0", "accepted", "2020-07-10T08:00:00"),
        scan("v-1", "out_for_delivery", "2020-07-11T07:30:00"),
        scan("v-2", "delivered", "2020-07-11T09:00:00"),
    ] {
        assert_eq!(post_event(&app, &carrier, &number, &event).await.status, 201);
    }
    let detail = app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.body;
    let delivered_id = detail["timeline"][2]["id"].as_str().unwrap().to_string();
    let void_path = format!("/api/v1/events/{delivered_id}/void");

    app.post(&void_path, Some(&other_carrier.token), &json!({"reason": "did_not_occur"})).await.problem(404);
    app.post(&void_path, Some(&dept.token), &json!({"reason": "did_not_occur"})).await.problem(403);
    let bad = app.post(&void_path, Some(&carrier.token), &json!({"reason": "oops"})).await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "reason");

    let voided = app.post(&void_path, Some(&carrier.token), &json!({"reason": "did_not_occur", "note": "wrong parcel"})).await;
    assert_eq!(voided.status, 200, "{}", voided.text);
    assert_eq!(voided.body["item_status"], "out_for_delivery");
    assert_eq!(voided.body["event"]["voided"]["reason"], "did_not_occur");
    app.post(&void_path, Some(&carrier.token), &json!({"reason": "did_not_occur"})).await.problem(409);

    let detail = app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.body;
    assert_eq!(detail["status"], "out_for_delivery");
    assert_eq!(timeline_types(&detail).len(), 3, "the voided event stays in the history");
    assert_eq!(detail["timeline"][2]["voided"]["note"], "wrong parcel");
    assert_eq!(app.count("events"), 3);
}

#[actix_web::test]
async fn scans_after_delivery_are_anomalies() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    register(&app, &dept, &number).await;
    for event in [scan("d-0", "accepted", "2020-07-10T08:00:00"), scan("d-1", "delivered", "2020-07-11T09:00:00")] {
        assert_eq!(post_event(&app, &carrier, &number, &event).await.status, 201);
    }
    let stray = post_event(&app, &carrier, &number, &scan("d-2", "departed_office", "2020-07-12T10:00:00")).await;
    assert_eq!(stray.status, 201, "{}", stray.text);
    assert_eq!(stray.body["item_status"], "delivered");
    assert_eq!(stray.body["event"]["anomaly"], "after_final_state");
    let detail = app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.body;
    assert_eq!((detail["status"].as_str(), detail["has_anomaly"].as_bool()), (Some("delivered"), Some(true)));
    assert!(detail["timeline"][1]["anomaly"].is_null());
    // A late scan that happened before delivery is no anomaly and changes nothing.
    let late = post_event(&app, &carrier, &number, &scan("d-3", "arrived_office", "2020-07-10T15:00:00")).await;
    assert_eq!(late.body["item_status"], "delivered");
    assert!(late.body["event"]["anomaly"].is_null());
}

#[actix_web::test]
async fn broken_or_foreign_seals_and_unchecked_identity() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    register(&app, &dept, &number).await;
    let mut foreign = scan("s-1", "seal_checked", "2020-07-10T09:00:00");
    foreign["seal_number"] = json!("SEAL-9999");
    let reply = post_event(&app, &carrier, &number, &foreign).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["item_status"], "exception");
    assert_eq!(reply.body["event"]["details"]["matches_registered"], false);

    let mut delivered = scan("s-2", "delivered", "2020-07-11T09:00:00");
    delivered.as_object_mut().unwrap().remove("identity_check");
    let refused = post_event(&app, &carrier, &number, &delivered).await;
    assert_eq!(refused.problem(422)["errors"][0]["field"], "identity_check");

    // Education clients read timelines but do not scan.
    post_event(&app, &dept, &number, &scan("s-3", "accepted", "2020-07-10T08:00:00")).await.problem(403);
    assert_eq!(app.count("events"), 1);
}

#[actix_web::test]
async fn timeline_pages() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    register(&app, &dept, &number).await;
    let log = scan_log("p");
    let entries: Vec<Value> = log.iter().map(|e| batch_entry(&number, e)).collect();
    assert_eq!(app.post("/api/v1/events/batch", Some(&carrier.token), &json!({ "events": entries })).await.body["created"], 9);
    let mut seen = Vec::new();
    let mut path = format!("/api/v1/items/{number}/events?limit=4");
    loop {
        let page = app.get(&path, Some(&dept.token)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(page.body["items"].as_array().unwrap().iter().map(|e| e["client_event_id"].as_str().unwrap().to_string()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/items/{number}/events?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, (0..9).map(|n| format!("p-{n}")).collect::<Vec<_>>());
}

