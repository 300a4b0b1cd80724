//! The candidates' lookups: minimal answers, no oracle, rate limits.

use std::collections::BTreeSet;

use exampost::clock::Clock;
use serde_json::{json, Value};

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{Party, TestApp};

pub async fn registered_and_scanned(app: &TestApp, dept: &Party, carrier: &Party, serial: u32) -> String {
    let number = s10(serial);
    let mut body = item_json(&number, "2026-THPT");
    body["kind"] = json!("admission_notice");
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &body).await.status, 201);
    let now = app.clock.now().with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap());
    let scan = json!({"client_event_id": format!("p-{serial}"), "type": "arrived_office", "occurred_at": now.to_rfc3339(),
        "office_code": "VNP-KTPT", "office_name": "Trung tâm Khai thác Phú Thọ", "operator_id": "nv1", "device_id": "PDA-1"});
    assert_eq!(app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &scan).await.status, 201);
    number
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[actix_web::test]
async fn a_lookup_answers_only_what_the_candidate_needs() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = registered_and_scanned(&app, &dept, &carrier, 1).await;
    let reply = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number, "candidate_number": "15001234"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let allowed: BTreeSet<String> = [
        "tracking_number", "kind", "kind_label", "status", "status_label", "last_scan", "expected_by",
        "has_open_case", "case_label", "replaced_by", "recipient_name", "incident_label", "pre_advice_label",
        // What to do now (issue 15): the journey, the cases in words, help lines, reports.
        "journey_over", "cases", "carrier", "sender", "delivered_at", "timeline", "advice", "help", "held_at",
        "last_attempt", "reports",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(keys(&reply.body), allowed);
    assert_eq!(keys(&reply.body["last_scan"]), ["at", "place"].iter().map(|s| s.to_string()).collect());
    assert_eq!(reply.body["recipient_name"], "Ng*** T** M** A*");
    assert_eq!((reply.body["kind_label"].as_str(), reply.body["status_label"].as_str()), (Some("Giấy báo trúng tuyển"), Some("Đang vận chuyển")));
    assert_eq!(reply.body["last_scan"]["place"], "Trung tâm Khai thác Phú Thọ");
    assert_eq!(reply.body["has_open_case"], false);
    for private in ["15001234", "0912345678", "2008-03-14", "Trần Phú", "Minh.Anh", "SEAL", "nv1", "PDA"] {
        assert!(!reply.text.contains(private), "{private} leaked: {}", reply.text);
    }

    let english = app
        .raw("POST", "/api/v1/public/lookup", &[("content-type", "application/json"), ("accept-language", "en-US,en;q=0.8")],
            json!({"tracking_number": number, "date_of_birth": "2008-03-14"}).to_string().into_bytes())
        .await;
    assert_eq!(english.status, 200, "{}", english.text);
    assert_eq!((english.body["kind_label"].as_str(), english.body["status_label"].as_str()), (Some("Admission notice"), Some("In transit")));
}

#[actix_web::test]
async fn a_wrong_factor_and_an_unknown_number_look_the_same() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = registered_and_scanned(&app, &dept, &carrier, 1).await;
    let wrong = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number, "date_of_birth": "2008-03-15"})).await;
    let unknown = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": s10(99), "date_of_birth": "2008-03-14"})).await;
    wrong.problem(404);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    assert_eq!(wrong.content_type(), unknown.content_type());
    let neither = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number})).await;
    assert_eq!(neither.problem(422)["errors"][0]["field"], "candidate_number");
    // dd/mm/yyyy is how Vietnam writes a date (accepted since issue 15); 31 February is no date.
    let bad = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": "RR1", "date_of_birth": "31/02/2008"})).await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["date_of_birth", "tracking_number"]);
}

#[actix_web::test]
async fn wrong_guesses_for_one_number_are_throttled() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = registered_and_scanned(&app, &dept, &carrier, 1).await;
    for day in 1..=5 {
        let guess = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number, "date_of_birth": format!("2008-01-{day:02}")})).await;
        assert_eq!(guess.status, 404);
    }
    let right = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number, "date_of_birth": "2008-03-14"})).await;
    assert_eq!(right.problem(429)["type"], "/problems/too-many-guesses");
    assert!(right.headers.get("retry-after").is_some());
    // Another number is not affected.
    let other = registered_and_scanned(&app, &dept, &carrier, 2).await;
    let fine = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": other, "candidate_number": "15001234"})).await;
    assert_eq!(fine.status, 200);
}

#[actix_web::test]
async fn lookups_are_rate_limited_per_address() {
    let app = TestApp::new().await;
    let body = json!({"tracking_number": s10(1), "candidate_number": "15001234"});
    let mut statuses = Vec::new();
    for n in 0..11 {
        let mut body = body.clone();
        body["tracking_number"] = json!(s10(100 + n));
        statuses.push(app.post("/api/v1/public/lookup", None, &body).await);
    }
    assert!(statuses[..10].iter().all(|r| r.status == 404), "{:?}", statuses.iter().map(|r| r.status).collect::<Vec<_>>());
    let limited = &statuses[10];
    limited.problem(429);
    assert!(limited.headers.get("retry-after").is_some(), "{:?}", limited.headers);
}

#[actix_web::test]
async fn a_candidate_sees_their_dossier_and_a_replacement() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let first = registered_and_scanned(&app, &dept, &carrier, 1).await;
    let second = registered_and_scanned(&app, &dept, &carrier, 2).await;
    let dossier = app.post("/api/v1/public/dossier", None, &json!({"candidate_number": "15001234", "date_of_birth": "2008-03-14", "season": "2026-thpt"})).await;
    assert_eq!(dossier.status, 200, "{}", dossier.text);
    let numbers: Vec<&str> = dossier.body["items"].as_array().unwrap().iter().map(|i| i["tracking_number"].as_str().unwrap()).collect();
    assert_eq!(numbers, vec![first.as_str(), second.as_str()]);
    let wrong = app.post("/api/v1/public/dossier", None, &json!({"candidate_number": "15001234", "date_of_birth": "2008-03-15", "season": "2026-THPT"})).await;
    let lookup_miss = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": s10(77), "candidate_number": "15001234"})).await;
    assert_eq!(wrong.body, lookup_miss.body);

    // The first is lost and replaced: the candidate is pointed to the new number.
    let now = app.clock.now().with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap());
    let lost = json!({"client_event_id": "lost-1", "type": "lost_declared", "occurred_at": now.to_rfc3339(), "office_code": "VNP-KTPT"});
    assert_eq!(app.post(&format!("/api/v1/items/{first}/events"), Some(&carrier.token), &lost).await.status, 201);
    let while_lost = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": first, "date_of_birth": "2008-03-14"})).await;
    assert_eq!((while_lost.body["has_open_case"].as_bool(), while_lost.body["replaced_by"].as_str()), (Some(true), None), "{}", while_lost.text);
    assert!(while_lost.body["case_label"].is_string(), "{}", while_lost.text);
    assert_eq!(while_lost.body["last_scan"]["place"], "VNP-KTPT", "a scan without an office name shows its code");
    let replacement = app.post(&format!("/api/v1/items/{first}/replacement"), Some(&dept.token), &json!({"tracking_number": s10(3)})).await;
    assert_eq!(replacement.status, 201, "{}", replacement.text);
    let seen = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": first, "candidate_number": "15001234"})).await;
    assert_eq!((seen.body["status"].as_str(), seen.body["replaced_by"].as_str()), (Some("lost"), Some(s10(3).as_str())));
    assert_eq!(seen.body["has_open_case"], false, "the loss case was settled by the replacement");
}

/// One attempt tests one secret: a lookup naming both factors would let a
/// guesser try a candidate number and a date of birth for the price of one.
#[actix_web::test]
async fn a_lookup_gives_one_second_factor_not_both() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = registered_and_scanned(&app, &dept, &carrier, 1).await;
    let both = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number, "candidate_number": "99999999", "date_of_birth": "2008-03-14"})).await;
    assert_eq!(both.problem(422)["errors"][0]["field"], "date_of_birth");
    let right = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number, "date_of_birth": "2008-03-14"})).await;
    assert_eq!(right.status, 200, "{}", right.text);
}
