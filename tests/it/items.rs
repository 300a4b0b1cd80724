use serde_json::{json, Value};

use crate::util::{Party, TestApp};
use exampost::domain::{s10::check_digit, OrgKind};

/// A valid S10 number for a serial: `RR{serial}{check}VN`.
pub fn s10(serial: u32) -> String {
    let digits: Vec<u32> = format!("{serial:08}").chars().map(|c| c.to_digit(10).unwrap()).collect();
    let check = check_digit(&digits.try_into().unwrap());
    format!("RR{serial:08}{check}VN")
}

/// A valid registration from an education client to a candidate, carried by VNPOST.
pub fn item_json(tracking_number: &str, season: &str) -> Value {
    json!({
        "tracking_number": tracking_number,
        "season": season,
        "kind": "exam_notice",
        "priority": "priority",
        "carrier_org": "VNPOST",
        "recipient": {
            "type": "candidate",
            "candidate_number": "15001234",
            "full_name": "Nguyễn Thị Minh Anh",
            "date_of_birth": "2008-03-14",
            "phone": "+84 912 345 678",
            "email": "Minh.Anh@Example.VN"
        },
        "destination": {"province": "Phú Thọ", "ward": "Phường Việt Trì", "address_line": "12 Trần Phú"},
        "seal_number": "SEAL-0001",
        "must_arrive_by": "2099-06-20",
        "reference": "CV 45/SGD"
    })
}

/// A department in Phú Thọ and VNPOST as carrier.
pub fn department_and_carrier(app: &TestApp) -> (Party, Party) {
    let dept = app.new_party("SGD-PT", OrgKind::Education, "phu-tho");
    let carrier = app.new_party("VNPOST", OrgKind::Carrier, "ha-noi");
    (dept, carrier)
}

#[test]
fn s10_helper_makes_valid_numbers() {
    assert_eq!(s10(12345678), "RR123456785VN");
    assert_eq!(s10(47312482), "RR473124829VN");
}

#[actix_web::test]
async fn register_then_read_with_normalised_fields() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let mut body = item_json(" rr 123 456 785 vn ", "2026-thpt");
    body["destination"]["province"] = json!("Vĩnh Phúc"); // merged into Phú Thọ in 2025
    let created = app.post("/api/v1/items", Some(&dept.token), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.headers.get("location").unwrap(), "/api/v1/items/RR123456785VN?season=2026-THPT");
    let item = &created.body;
    assert_eq!(item["tracking_number"], "RR123456785VN");
    assert_eq!(item["season"], "2026-THPT");
    assert_eq!(item["status"], "registered");
    assert_eq!(item["sender_org"], "SGD-PT");
    assert_eq!(item["carrier_org"], "VNPOST");
    assert_eq!(item["destination"]["province"], "phu-tho");
    assert_eq!(item["recipient"]["type"], "candidate");
    assert_eq!(item["recipient"]["phone"], "0912345678");
    assert_eq!(item["recipient"]["email"], "Minh.Anh@example.vn");
    assert_eq!(item["must_arrive_by"], "2099-06-20T16:59:59Z");
    assert!(item["candidate"].is_null());

    let read = app.get("/api/v1/items/RR123456785VN", Some(&dept.token)).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let mut detail = read.body.clone();
    assert_eq!(detail.as_object_mut().unwrap().remove("timeline"), Some(json!([])));
    assert_eq!(detail, created.body);
    assert_eq!((item["has_anomaly"].as_bool(), item["last_event_at"].is_null()), (Some(false), true));
    let by_season = app.get("/api/v1/items/rr123456785vn?season=2026-THPT", Some(&dept.token)).await;
    assert_eq!(by_season.body["id"], created.body["id"]);
    app.get("/api/v1/items/RR123456785VN?season=2025-THPT", Some(&dept.token)).await.problem(404);
}

#[actix_web::test]
async fn replay_is_idempotent_and_different_content_conflicts() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let body = item_json("RR123456785VN", "2026-THPT");
    let first = app.post("/api/v1/items", Some(&dept.token), &body).await;
    assert_eq!(first.status, 201);
    let replay = app.post("/api/v1/items", Some(&dept.token), &body).await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.body["id"], first.body["id"]);
    let mut changed = body.clone();
    changed["priority"] = json!("urgent");
    let conflict = app.post("/api/v1/items", Some(&dept.token), &changed).await;
    assert_eq!(conflict.problem(409)["existing_id"], first.body["id"]);
    // The same number in another season is another item.
    let next_season = app.post("/api/v1/items", Some(&dept.token), &item_json("RR123456785VN", "2027-THPT")).await;
    assert_eq!(next_season.status, 201);
    assert_ne!(next_season.body["id"], first.body["id"]);
    let newest = app.get("/api/v1/items/RR123456785VN", Some(&dept.token)).await;
    assert_eq!(newest.body["season"], "2027-THPT");
    assert_eq!(app.count("items"), 2);
}

#[actix_web::test]
async fn invalid_items_report_every_field_and_store_nothing() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let mut body = item_json("RB123456786US", "THPT");
    body["recipient"]["date_of_birth"] = json!("14/03/2008");
    body["recipient"]["phone"] = json!("12345");
    body["destination"]["province"] = json!("Atlantis");
    body["destination"]["ward"] = json!("   ");
    body["must_arrive_by"] = json!("2020-01-01");
    body["carrier_org"] = json!("NOPE");
    let reply = app.post("/api/v1/items", Some(&dept.token), &body).await;
    reply.problem(422);
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "carrier_org", "destination.province", "destination.ward", "must_arrive_by", "recipient.date_of_birth",
            "recipient.phone", "season", "tracking_number"
        ]
    );
    let reason = reply.body["errors"].as_array().unwrap().iter().find(|e| e["field"] == "tracking_number").unwrap();
    assert!(reason["reason"].as_str().unwrap().contains("check digit"));
    assert_eq!(app.count("items"), 0);
}

#[actix_web::test]
async fn unknown_enum_values_and_missing_fields_name_the_field() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let mut body = item_json("RR123456785VN", "2026-THPT");
    body["kind"] = json!("love_letter");
    let reply = app.post("/api/v1/items", Some(&dept.token), &body).await;
    let problem = reply.problem(422);
    assert_eq!(problem["errors"][0]["field"], "kind");
    assert!(problem["errors"][0]["reason"].as_str().unwrap().contains("exam_notice"));

    let mut body = item_json("RR123456785VN", "2026-THPT");
    body["recipient"].as_object_mut().unwrap().remove("full_name");
    let reply = app.post("/api/v1/items", Some(&dept.token), &body).await;
    assert_eq!(reply.problem(422)["errors"][0]["field"], "recipient.full_name");

    let mut body = item_json("RR123456785VN", "2026-THPT");
    body.as_object_mut().unwrap().remove("destination");
    let reply = app.post("/api/v1/items", Some(&dept.token), &body).await;
    assert_eq!(reply.problem(422)["errors"][0]["field"], "destination");

    let mut body = item_json("RR123456785VN", "2026-THPT");
    body["recipient"]["type"] = json!("alien");
    let reply = app.post("/api/v1/items", Some(&dept.token), &body).await;
    assert!(reply.problem(422)["errors"][0]["field"].as_str().unwrap().starts_with("recipient"));
    assert_eq!(app.count("items"), 0);
}

#[actix_web::test]
async fn items_to_organizations_carry_the_candidate() {
    let app = TestApp::new().await;
    let carrier = app.new_party("VNPOST", OrgKind::Carrier, "ha-noi");
    app.org("SGD-PT", OrgKind::Education, "phu-tho");
    app.org("DHQG-HN", OrgKind::Education, "ha-noi");
    // A carrier registers, at acceptance, a dossier a candidate posts to a university.
    let body = json!({
        "tracking_number": "EE473124829VN",
        "season": "2026-THPT",
        "kind": "enrollment_dossier",
        "priority": "urgent",
        "sender_org": "SGD-PT",
        "recipient": {"type": "organization", "organization": "dhqg-hn", "attention": "Phòng Đào tạo"},
        "candidate": {"candidate_number": "15001234", "full_name": "Trần Văn Bình", "date_of_birth": "2008-01-02"},
        "destination": {"province": "ha-noi", "ward": "Phường Cầu Giấy", "address_line": "144 Xuân Thủy"}
    });
    let created = app.post("/api/v1/items", Some(&carrier.token), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["recipient"]["organization"], "DHQG-HN");
    assert_eq!(created.body["candidate"]["candidate_number"], "15001234");
    assert_eq!(created.body["carrier_org"], "VNPOST");

    // A carrier may not register for another carrier, and sender must be education.
    let mut other = body.clone();
    other["tracking_number"] = json!("EE473124832VN");
    other["carrier_org"] = json!("VTP");
    other["sender_org"] = json!("VNPOST");
    let refused = app.post("/api/v1/items", Some(&carrier.token), &other).await;
    refused.problem(422);
    let mut fields = refused.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["carrier_org", "sender_org"]);
}

#[actix_web::test]
async fn education_clients_register_only_as_themselves() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    app.org("SGD-HN", OrgKind::Education, "ha-noi");
    let mut body = item_json("RR123456785VN", "2026-THPT");
    body["sender_org"] = json!("SGD-HN");
    let reply = app.post("/api/v1/items", Some(&dept.token), &body).await;
    assert_eq!(reply.problem(422)["errors"][0]["field"], "sender_org");
    body["sender_org"] = json!("sgd-pt");
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &body).await.status, 201);
}

#[actix_web::test]
async fn batch_mixes_created_duplicate_and_rejected() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let existing = item_json(&s10(1), "2026-THPT");
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &existing).await.status, 201);
    let mut conflicting = item_json(&s10(1), "2026-THPT");
    conflicting["priority"] = json!("urgent");
    let mut bad_kind = item_json(&s10(3), "2026-THPT");
    bad_kind["kind"] = json!("parcel_of_joy");
    let batch = json!({"items": [
        item_json(&s10(2), "2026-THPT"),
        existing,
        conflicting,
        bad_kind,
        item_json("RR123456786VN", "2026-THPT"),
        item_json(&s10(4), "2026-THPT"),
        item_json(&s10(4), "2026-THPT"),
        "not an object",
    ]});
    let reply = app.post("/api/v1/items/batch", Some(&dept.token), &batch).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let statuses: Vec<&str> = reply.body["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["created", "duplicate", "rejected", "rejected", "rejected", "created", "duplicate", "rejected"]);
    assert_eq!((reply.body["created"].as_u64(), reply.body["duplicates"].as_u64(), reply.body["rejected"].as_u64()), (Some(2), Some(2), Some(4)));
    let results = &reply.body["results"];
    assert_eq!(results[2]["error"]["status"], 409);
    assert_eq!(results[3]["error"]["errors"][0]["field"], "kind");
    assert_eq!(results[4]["error"]["errors"][0]["field"], "tracking_number");
    assert_eq!(results[7]["error"]["status"], 422);
    assert_eq!(results[5]["id"], results[6]["id"]);
    assert_eq!(app.count("items"), 3);
}

#[actix_web::test]
async fn batch_limits() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let too_many: Vec<Value> = (0..1001).map(|n| item_json(&s10(n), "2026-THPT")).collect();
    let reply = app.post("/api/v1/items/batch", Some(&dept.token), &json!({ "items": too_many })).await;
    assert!(reply.problem(413)["detail"].as_str().unwrap().contains("1000"));
    app.post("/api/v1/items/batch", Some(&dept.token), &json!({"items": []})).await.problem(422);
    app.post("/api/v1/items/batch", Some(&dept.token), &json!({"entries": []})).await.problem(422);
    assert_eq!(app.count("items"), 0);

    let full: Vec<Value> = (0..1000).map(|n| item_json(&s10(n), "2026-THPT")).collect();
    let reply = app.post("/api/v1/items/batch", Some(&dept.token), &json!({ "items": full })).await;
    assert_eq!(reply.status, 200, "{}", &reply.text[..reply.text.len().min(500)]);
    assert_eq!(reply.body["created"], 1000);
    assert_eq!(app.count("items"), 1000);
}

#[actix_web::test]
async fn list_filters_and_pages_without_repeats_or_gaps() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    app.new_party("VTP", OrgKind::Carrier, "ho-chi-minh");
    for n in 1..=5 {
        let mut body = item_json(&s10(n), "2026-THPT");
        if n % 2 == 0 {
            body["carrier_org"] = json!("VTP");
            body["kind"] = json!("result_certificate");
            body["destination"]["province"] = json!("ha-noi");
        }
        assert_eq!(app.post("/api/v1/items", Some(&dept.token), &body).await.status, 201);
    }
    let numbers = |reply: &crate::util::Reply| -> Vec<String> {
        reply.body["items"].as_array().unwrap().iter().map(|i| i["tracking_number"].as_str().unwrap().to_string()).collect()
    };
    let vtp = app.get("/api/v1/items?carrier=vtp", Some(&dept.token)).await;
    assert_eq!(numbers(&vtp), vec![s10(4), s10(2)]);
    let certs = app.get("/api/v1/items?kind=result_certificate&province=H%C3%A0%20N%E1%BB%99i&season=2026-thpt", Some(&dept.token)).await;
    assert_eq!(numbers(&certs), vec![s10(4), s10(2)]);
    let none = app.get("/api/v1/items?season=2025-THPT", Some(&dept.token)).await;
    assert!(numbers(&none).is_empty());
    let since = app.get("/api/v1/items?created_since=2099-01-01T00:00:00%2B07:00", Some(&dept.token)).await;
    assert!(numbers(&since).is_empty());
    let registered = app.get("/api/v1/items?status=registered&priority=priority", Some(&dept.token)).await;
    assert_eq!(numbers(&registered).len(), 5);

    // Page through 2 at a time while new items arrive between pages.
    let mut seen = Vec::new();
    let mut path = "/api/v1/items?limit=2".to_string();
    let mut extra = 100;
    loop {
        let page = app.get(&path, Some(&dept.token)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(numbers(&page));
        extra += 1;
        assert_eq!(app.post("/api/v1/items", Some(&dept.token), &item_json(&s10(extra), "2026-THPT")).await.status, 201);
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/items?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, (1..=5).rev().map(s10).collect::<Vec<_>>());

    let bad = app.get("/api/v1/items?kind=parcel&status=flying&carrier=NOPE&province=Atlantis&created_since=2026-01-01T00:00:00", Some(&dept.token)).await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["carrier", "created_since", "kind", "province", "status"]);
}

#[actix_web::test]
async fn concurrent_identical_registrations_store_one_item() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let body = item_json("RR123456785VN", "2026-THPT");
    let requests = (0..8).map(|_| app.post("/api/v1/items", Some(&dept.token), &body));
    let replies = futures_util::future::join_all(requests).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 200, 200, 201], "{:?}", replies.iter().map(|r| &r.text).collect::<Vec<_>>());
    assert!(replies.iter().all(|r| r.body["id"] == replies[0].body["id"]));
    assert_eq!(app.count("items"), 1);
}

#[actix_web::test]
async fn the_readme_fixture_batch_registers() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    app.org("THPT-HV", OrgKind::Education, "phu-tho");
    let fixture: Value = serde_json::from_str(include_str!("../../fixtures/items-batch.json")).unwrap();
    let reply = app.post("/api/v1/items/batch", Some(&dept.token), &fixture).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["created"], 4, "{}", reply.text);
}

#[actix_web::test]
async fn registration_time_is_the_servers_clock() {
    use chrono::{Duration, SecondsFormat};
    use exampost::clock::Clock;
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let at = chrono::DateTime::from_timestamp(app.clock.now().timestamp() + 60, 0).unwrap();
    let shown = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    app.clock.set(at);
    let one = app.post("/api/v1/items", Some(&dept.token), &item_json(&s10(1), "2026-THPT")).await;
    assert_eq!(one.status, 201, "{}", one.text);
    assert_eq!((one.body["created_at"].as_str(), one.body["updated_at"].as_str()), (Some(shown(at).as_str()), Some(shown(at).as_str())));
    app.clock.set(at + Duration::minutes(1));
    let batch = app.post("/api/v1/items/batch", Some(&dept.token), &json!({"items": [item_json(&s10(2), "2026-THPT")]})).await;
    assert_eq!(batch.body["created"], 1, "{}", batch.text);
    let two = app.get(&format!("/api/v1/items/{}", s10(2)), Some(&dept.token)).await;
    assert_eq!(two.body["created_at"].as_str(), Some(shown(at + Duration::minutes(1)).as_str()));
}
