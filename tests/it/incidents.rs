//! Area incidents (issue 12): a flood delays every item in an area at once;
//! the items due in its window are linked, their delay cases grouped under
//! it with one mail per incident and update, the committee extends their
//! deadlines, the candidates' page says why, and closing it lets the ladder
//! run again.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::{json, Value};

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{Party, TestApp};
use exampost::clock::Clock;
use exampost::domain::OrgKind;

fn sweep(app: &TestApp) -> exampost::app::cases::SweepReport {
    exampost::app::cases::sweep(&mut **app.conn(), app.clock.as_ref()).unwrap()
}

fn vietnam(t: DateTime<Utc>) -> String {
    t.with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()).to_rfc3339()
}

fn mails(app: &TestApp, topic: &str) -> Vec<(String, String)> {
    use diesel::prelude::*;
    use exampost::db::schema::outbox::dsl;
    dsl::outbox.filter(dsl::topic.eq(topic)).filter(dsl::channel.eq("email")).select((dsl::target, dsl::body)).load(&mut **app.conn()).unwrap()
}

/// An urgent item to a candidate in `province`, accepted now (due in 24 h or 48 h).
async fn accepted_item(app: &TestApp, dept: &Party, carrier: &Party, serial: u32, province: &str) -> String {
    let number = s10(serial);
    let mut body = item_json(&number, "2026-THPT");
    body["priority"] = json!("urgent");
    body["recipient"]["candidate_number"] = json!(format!("1500{serial:04}"));
    body["destination"]["province"] = json!(province);
    body.as_object_mut().unwrap().remove("must_arrive_by");
    let reply = app.post("/api/v1/items", Some(&dept.token), &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let now = vietnam(app.clock.now());
    let scan = json!({"client_event_id": format!("acc-{serial}"), "type": "accepted", "occurred_at": now, "office_code": "VNP-35000"});
    assert_eq!(app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &scan).await.status, 201);
    number
}

fn flood(app: &TestApp, province: &str) -> Value {
    json!({
        "kind": "flood", "provinces": [province],
        "starts_at": vietnam(app.clock.now()), "ends_at": vietnam(app.clock.now() + Duration::days(3)),
        "description": "Lũ quét, quốc lộ bị chia cắt"
    })
}

#[actix_web::test]
async fn a_flood_groups_its_items_delays_under_one_story() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let committee = app.new_party("BCD-LC", OrgKind::Overseer, "lao-cai");
    let contact = json!({"name": "Trực ban", "email": "trucban@sgd.example"});
    assert_eq!(app.post("/api/v1/contacts", Some(&dept.token), &contact).await.status, 201);
    let contact = json!({"name": "Điều hành", "email": "dieuhanh@vnpost.example"});
    assert_eq!(app.post("/api/v1/contacts", Some(&carrier.token), &contact).await.status, 201);
    let flooded: Vec<String> = accepted_items(&app, &dept, &carrier, 1..=3, "lao-cai").await;
    let dry = accepted_item(&app, &dept, &carrier, 9, "phu-tho").await;

    // Refusals first: nothing is stored.
    let mut nowhere = flood(&app, "lao-cai");
    nowhere["provinces"] = json!([]);
    assert_eq!(app.post("/api/v1/incidents", Some(&carrier.token), &nowhere).await.problem(422)["errors"][0]["field"], "provinces");
    let mut backwards = flood(&app, "lao-cai");
    backwards["ends_at"] = json!(vietnam(app.clock.now() - Duration::hours(1)));
    assert_eq!(app.post("/api/v1/incidents", Some(&carrier.token), &backwards).await.problem(422)["errors"][0]["field"], "ends_at");
    app.post("/api/v1/incidents", Some(&dept.token), &flood(&app, "lao-cai")).await.problem(403);
    let elsewhere = app.post("/api/v1/incidents", Some(&committee.token), &flood(&app, "phu-tho")).await;
    assert_eq!(elsewhere.problem(422)["errors"][0]["field"], "provinces", "a committee declares in its own province");
    assert_eq!(app.count("incidents"), 0);

    let declared = app.post("/api/v1/incidents", Some(&committee.token), &flood(&app, "Lào Cai")).await;
    assert_eq!(declared.status, 201, "{}", declared.text);
    let incident = declared.body.clone();
    assert_eq!((incident["items"].as_u64(), incident["state"].as_str()), (Some(3), Some("open")));
    assert_eq!(incident["provinces"], json!(["lao-cai"]));
    // One mail to the department for the whole incident.
    let declared_mails: Vec<_> = mails(&app, "incident.changed").into_iter().filter(|(to, _)| to == "trucban@sgd.example").collect();
    assert_eq!(declared_mails.len(), 1);
    assert!(declared_mails[0].1.contains("Số bưu gửi bị ảnh hưởng: 3"), "{}", declared_mails[0].1);

    // Two days later, silent, all four are overdue and stalled: six cases under the flood, told by no
    // mail of their own; the dry item's two are told to the carrier.
    app.clock.advance(Duration::hours(48) + Duration::minutes(1));
    sweep(&app);
    let case_mails: Vec<String> = mails(&app, "case.opened").into_iter().map(|(to, _)| to).collect();
    assert_eq!(case_mails, vec!["dieuhanh@vnpost.example", "dieuhanh@vnpost.example"], "only the dry item's cases are told on their own");
    let path = format!("/api/v1/incidents/{}", incident["id"].as_str().unwrap());
    let read = app.get(&path, Some(&dept.token)).await;
    assert_eq!(read.body["active_cases"], 6, "{}", read.text);
    // Grouped cases do not climb while the incident holds; the dry one does.
    app.clock.advance(Duration::hours(3));
    sweep(&app);
    let grouped = case_of(&app, &dept, &flooded[0], "overdue").await;
    assert_eq!((grouped["level"].as_i64(), grouped["incident_id"].as_str()), (Some(1), incident["id"].as_str()));
    assert!(case_of(&app, &dept, &dry, "overdue").await["incident_id"].is_null());
    assert_eq!(case_of(&app, &dept, &dry, "overdue").await["level"], 2);

    // The candidates' page says why in plain words.
    let lookup = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": flooded[0], "candidate_number": "15000001"})).await;
    assert_eq!(lookup.body["incident_label"], "Chậm do lũ lụt", "{}", lookup.text);
    let dry_lookup = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": dry, "candidate_number": "15000009"})).await;
    assert!(dry_lookup.body["incident_label"].is_null());

    // The committee extends the deadlines by two days: the items are no longer overdue.
    app.post(&format!("{path}/extend"), Some(&carrier.token), &json!({"hours": 48})).await.problem(403);
    assert_eq!(app.post(&format!("{path}/extend"), Some(&committee.token), &json!({"hours": 0})).await.problem(422)["errors"][0]["field"], "hours");
    let before = app.get(&format!("/api/v1/items/{}", flooded[0]), Some(&dept.token)).await.body["due_at"].clone();
    let extended = app.post(&format!("{path}/extend"), Some(&committee.token), &json!({"hours": 48})).await;
    assert_eq!(extended.body["extension_hours"], 48.0, "{}", extended.text);
    let after = app.get(&format!("/api/v1/items/{}", flooded[0]), Some(&dept.token)).await.body["due_at"].clone();
    let shift = after.as_str().unwrap().parse::<DateTime<Utc>>().unwrap() - before.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    assert_eq!(shift, Duration::hours(48));
    let overdue = app.get("/api/v1/items?overdue=true", Some(&dept.token)).await.body;
    let numbers: Vec<&str> = overdue["items"].as_array().unwrap().iter().map(|i| i["tracking_number"].as_str().unwrap()).collect();
    assert_eq!(numbers, vec![dry.as_str()]);
    // Their overdue cases settle: the deadline they protected moved.
    let settled = case_of(&app, &dept, &flooded[0], "overdue").await;
    assert_eq!((settled["state"].as_str(), settled["outcome"].as_str()), (Some("resolved"), Some("deadline_extended")));
    // A scan keeps the extension (the deadline is recomputed from acceptance plus it).
    let now = vietnam(app.clock.now());
    let scan = json!({"client_event_id": "arr-1", "type": "arrived_office", "occurred_at": now, "office_code": "VNP-LC"});
    assert_eq!(app.post(&format!("/api/v1/items/{}/events", flooded[0]), Some(&carrier.token), &scan).await.status, 201);
    let rescanned = app.get(&format!("/api/v1/items/{}", flooded[0]), Some(&dept.token)).await.body["due_at"].clone();
    assert_eq!(rescanned, after);

    // Closed: the ladder runs again for what is still open.
    assert_eq!(app.post(&format!("{path}/close"), Some(&committee.token), &json!({})).await.body["state"], "closed");
    app.post(&format!("{path}/close"), Some(&committee.token), &json!({})).await.problem(409);
    app.clock.advance(Duration::minutes(1));
    sweep(&app);
    assert_eq!(case_of(&app, &dept, &flooded[1], "stalled").await["level"], 2, "still silent: its stalled case climbs again");
    assert_eq!(mails(&app, "incident.changed").into_iter().filter(|(to, _)| to == "trucban@sgd.example").count(), 3, "declared, extended, closed");
}

async fn case_of(app: &TestApp, reader: &Party, number: &str, kind: &str) -> Value {
    let path = format!("/api/v1/cases?tracking_number={number}&kind={kind}");
    app.get(&path, Some(&reader.token)).await.body["items"][0].clone()
}

async fn accepted_items(app: &TestApp, dept: &Party, carrier: &Party, serials: std::ops::RangeInclusive<u32>, province: &str) -> Vec<String> {
    let mut numbers = Vec::new();
    for serial in serials {
        numbers.push(accepted_item(app, dept, carrier, serial, province).await);
    }
    numbers
}

#[actix_web::test]
async fn who_sees_an_incident() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let other_carrier = app.new_party("VTP", OrgKind::Carrier, "ha-noi");
    let other_dept = app.new_party("SGD-HN", OrgKind::Education, "ha-noi");
    let number = accepted_item(&app, &dept, &carrier, 1, "lao-cai").await;
    let declared = app.post("/api/v1/incidents", Some(&carrier.token), &flood(&app, "lao-cai")).await;
    assert_eq!(declared.status, 201, "{}", declared.text);
    let path = format!("/api/v1/incidents/{}", declared.body["id"].as_str().unwrap());
    assert_eq!(declared.body["declared_by"], "VNPOST");
    // The sender of a linked item sees it; strangers get the same 404 as for nothing.
    assert_eq!(app.get(&path, Some(&dept.token)).await.body["items"], 1);
    app.get(&path, Some(&other_carrier.token)).await.problem(404);
    app.get(&path, Some(&other_dept.token)).await.problem(404);
    assert_eq!(app.get("/api/v1/incidents", Some(&other_dept.token)).await.body, json!([]));
    app.post(&format!("{path}/close"), Some(&dept.token), &json!({})).await.problem(403);
    assert_eq!(app.post(&format!("{path}/close"), Some(&carrier.token), &json!({})).await.status, 200);
    let _ = number;
}

#[actix_web::test]
async fn an_item_that_comes_into_the_area_later_is_linked_by_the_sweep() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let committee = app.new_party("BCD-LC", OrgKind::Overseer, "lao-cai");
    let declared = app.post("/api/v1/incidents", Some(&committee.token), &flood(&app, "lao-cai")).await;
    assert_eq!(declared.body["items"], 0, "{}", declared.text);
    let path = format!("/api/v1/incidents/{}", declared.body["id"].as_str().unwrap());
    // Registered and accepted after the declaration, bound for the flooded province.
    let number = accepted_item(&app, &dept, &carrier, 1, "lao-cai").await;
    assert_eq!(sweep(&app).incident_items_linked, 1);
    assert_eq!(sweep(&app).incident_items_linked, 0, "linked once");
    assert_eq!(app.get(&path, Some(&committee.token)).await.body["items"], 1);
    let lookup = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number, "candidate_number": "15000001"})).await;
    assert_eq!(lookup.body["incident_label"], "Chậm do lũ lụt");
}
