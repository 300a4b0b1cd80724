//! Hostile input against the real server: text that once crashed it,
//! forged cursors, bad values inside events, units of work the database
//! refuses, and request heads the HTTP layer itself turns away.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration as StdDuration;

use chrono::{Duration, FixedOffset};
use diesel::RunQueryDsl;
use serde_json::{json, Value};

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{Party, Reply, TestApp};
use exampost::clock::Clock;
use exampost::domain::OrgKind;

/// `202é-THPT`: a season whose fifth byte is inside a character.
const HOSTILE_SEASON: &str = "202é-THPT";
const HOSTILE_SEASON_QUERY: &str = "202%C3%A9-THPT";

/// A scan that happened now by the server's clock (Vietnam time).
fn scan_now(app: &TestApp, id: &str, event_type: &str) -> Value {
    let now = app.clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap());
    json!({"client_event_id": id, "type": event_type, "occurred_at": now.to_rfc3339(), "office_code": "VNP-35000"})
}

async fn register(app: &TestApp, dept: &Party, number: &str) {
    let reply = app.post("/api/v1/items", Some(&dept.token), &item_json(number, "2026-THPT")).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

#[track_caller]
fn assert_refused_on(reply: &Reply, field: &str) {
    reply.problem(422);
    assert!(reply.error_fields().iter().any(|f| f == field), "expected a problem on {field}: {}", reply.text);
}

#[track_caller]
fn assert_entry_refused_on(reply: &Reply, field: &str, tracking_number: &str) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    let entry = &reply.body["results"][0];
    assert_eq!(entry["status"], "rejected", "{}", reply.text);
    assert_eq!(entry["error"]["errors"][0]["field"], field, "{}", reply.text);
    assert_eq!(entry["tracking_number"], tracking_number, "{}", reply.text);
}

#[actix_web::test]
async fn a_season_that_slices_inside_a_character_is_a_422_everywhere_and_scans_go_on() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    register(&app, &dept, &number).await;
    let hostile_scan = scan_now(&app, "h-1", "accepted");

    // The single scan goes through the shared scan writer: it once killed it.
    let reply = app.post(&format!("/api/v1/items/{number}/events?season={HOSTILE_SEASON_QUERY}"), Some(&carrier.token), &hostile_scan).await;
    assert_refused_on(&reply, "season");
    let public = app.post("/api/v1/public/dossier", None, &json!({"candidate_number": "15001234", "date_of_birth": "2008-03-14", "season": HOSTILE_SEASON})).await;
    assert_refused_on(&public, "season");
    for path in [
        format!("/api/v1/items/{number}?season={HOSTILE_SEASON_QUERY}"),
        format!("/api/v1/items/{number}/events?season={HOSTILE_SEASON_QUERY}"),
        format!("/api/v1/items?season={HOSTILE_SEASON_QUERY}"),
        format!("/api/v1/reports/summary?season={HOSTILE_SEASON_QUERY}"),
        format!("/api/v1/reports/steering?season={HOSTILE_SEASON_QUERY}"),
    ] {
        assert_refused_on(&app.get(&path, Some(&dept.token)).await, "season");
    }
    assert_refused_on(&app.post("/api/v1/items", Some(&dept.token), &item_json(&s10(2), HOSTILE_SEASON)).await, "season");
    let replacement = app.post(&format!("/api/v1/items/{number}/replacement?season={HOSTILE_SEASON_QUERY}"), Some(&dept.token), &json!({"tracking_number": s10(3)})).await;
    assert_refused_on(&replacement, "season");

    let items_batch = app.post("/api/v1/items/batch", Some(&dept.token), &json!({"items": [item_json(&s10(4), HOSTILE_SEASON)]})).await;
    assert_entry_refused_on(&items_batch, "season", &s10(4));
    let mut entry = scan_now(&app, "h-2", "accepted");
    entry["tracking_number"] = json!(number);
    entry["season"] = json!(HOSTILE_SEASON);
    let events_batch = app.post("/api/v1/events/batch", Some(&carrier.token), &json!({"events": [entry]})).await;
    assert_entry_refused_on(&events_batch, "season", &number);

    let csv = format!("tracking_number,season,kind,candidate_number,full_name,date_of_birth,province,ward,address_line\n{},{HOSTILE_SEASON},exam_notice,15001234,Nguyễn Văn An,14/03/2008,phu-tho,Phường Việt Trì,12 Hùng Vương\n", s10(5));
    let auth = format!("Bearer {}", dept.token);
    let import = app.raw("POST", "/api/v1/items/import", &[("authorization", &auth), ("content-type", "text/csv; charset=utf-8")], csv.into_bytes()).await;
    assert_eq!(import.status, 200, "{}", import.text);
    assert_eq!(import.body["rejected"], 1, "{}", import.text);
    assert_eq!(import.body["results"][0]["error"]["errors"][0]["field"], "season", "{}", import.text);

    // Nothing was stored, and the scan writer still records ordinary scans.
    assert_eq!((app.count("items"), app.count("events")), (1, 0));
    let ordinary = app.post(&format!("/api/v1/items/{number}/events?season=2026-thpt"), Some(&carrier.token), &scan_now(&app, "ok-1", "accepted")).await;
    assert_eq!(ordinary.status, 201, "{}", ordinary.text);
    let again = app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &scan_now(&app, "ok-2", "arrived_office")).await;
    assert_eq!(again.status, 201, "{}", again.text);
}

#[actix_web::test]
async fn cursors_this_api_did_not_hand_out_are_a_422_on_cursor() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let admin = app.new_party("ADMIN", OrgKind::Overseer, "ha-noi");
    let number = s10(1);
    register(&app, &dept, &number).await;
    register(&app, &dept, &s10(2)).await;
    for n in 0..3 {
        let reply = app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &scan_now(&app, &format!("c-{n}"), "arrived_office")).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let lists = [
        "/api/v1/items?limit=1".to_string(),
        format!("/api/v1/items/{number}/events?limit=1"),
        "/api/v1/organizations?limit=1".to_string(),
        "/api/v1/cases?limit=1".to_string(),
    ];
    // base64url of "-1", of a bare id and of a bare uuid: what older or hand-made cursors look like.
    for forged in ["-1", "LTE", "MQ", "MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw", "cDEuaXRlbXMuLTE"] {
        for list in &lists {
            let reply = app.get(&format!("{list}&cursor={forged}"), Some(&dept.token)).await;
            assert_refused_on(&reply, "cursor");
        }
    }
    // Real cursors still page, and one list's cursor is refused by another.
    let first = app.get(&lists[0], Some(&dept.token)).await;
    let cursor = first.body["next_cursor"].as_str().expect("two items make two pages").to_string();
    let second = app.get(&format!("{}&cursor={cursor}", lists[0]), Some(&dept.token)).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_ne!(second.body["items"][0]["tracking_number"], first.body["items"][0]["tracking_number"]);
    assert_refused_on(&app.get(&format!("{}&cursor={cursor}", lists[3]), Some(&dept.token)).await, "cursor");
    let events = app.get(&lists[1], Some(&carrier.token)).await;
    let event_cursor = events.body["next_cursor"].as_str().unwrap().to_string();
    let next = app.get(&format!("{}&cursor={event_cursor}", lists[1]), Some(&carrier.token)).await;
    assert_eq!(next.body["items"].as_array().map(Vec::len), Some(1), "{}", next.text);
    let orgs = app.get(&lists[2], Some(&admin.token)).await;
    let org_cursor = orgs.body["next_cursor"].as_str().unwrap().to_string();
    assert_eq!(app.get(&format!("{}&cursor={org_cursor}", lists[2]), Some(&admin.token)).await.status, 200);
}

#[actix_web::test]
async fn a_bad_value_inside_an_event_is_reported_on_its_own_field() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    register(&app, &dept, &number).await;
    let scan_path = format!("/api/v1/items/{number}/events");

    let mut delivered = scan_now(&app, "e-1", "delivered");
    delivered["recipient_name"] = json!("Nguyễn Văn An");
    delivered["identity_check"] = json!("handshake");
    let mut failed = scan_now(&app, "e-2", "delivery_failed");
    failed["reason"] = json!("dog_ate_it");
    failed["action"] = json!("retry_next_round");
    let mut bad_action = scan_now(&app, "e-3", "delivery_failed");
    bad_action["reason"] = json!("recipient_absent");
    bad_action["action"] = json!("shrug");
    for (event, field) in [(&delivered, "identity_check"), (&failed, "reason"), (&bad_action, "action")] {
        let reply = app.post(&scan_path, Some(&carrier.token), event).await;
        assert_eq!(reply.problem(422)["errors"][0]["field"], field, "{}", reply.text);
    }
    let teleported = app.post(&scan_path, Some(&carrier.token), &scan_now(&app, "e-4", "teleported")).await;
    assert_eq!(teleported.problem(422)["errors"][0]["field"], "type");

    // In a batch: each rejected entry names its field and keeps its number,
    // even when the entry could not be read at all.
    let entry = |event: &Value, number: &str| {
        let mut entry = event.clone();
        entry["tracking_number"] = json!(number);
        entry
    };
    let unparsable = json!({"tracking_number": number, "type": "accepted"});
    let batch = json!({"events": [entry(&delivered, &number), entry(&failed, &number), entry(&bad_action, &format!(" {} ", number.to_lowercase())), unparsable]});
    let reply = app.post("/api/v1/events/batch", Some(&carrier.token), &batch).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let results = reply.body["results"].as_array().unwrap();
    let fields: Vec<&str> = results.iter().map(|r| r["error"]["errors"][0]["field"].as_str().unwrap_or("")).collect();
    assert_eq!(fields, vec!["identity_check", "reason", "action", "client_event_id"]);
    let numbers: Vec<&str> = results.iter().map(|r| r["tracking_number"].as_str().unwrap_or("")).collect();
    assert_eq!(numbers, vec![number.as_str(); 4]);

    let mut bad_kind = item_json(&s10(7), "2026-THPT");
    bad_kind["kind"] = json!("parcel_of_joy");
    let items = app.post("/api/v1/items/batch", Some(&dept.token), &json!({"items": [bad_kind]})).await;
    assert_entry_refused_on(&items, "kind", &s10(7));
    assert_eq!(app.count("events"), 0);
}

/// Makes the database refuse inserts into `table` where `condition` (SQL
/// over `NEW`) holds: a real failure of one unit of work, on either backend.
fn refuse_rows(app: &TestApp, table: &str, condition: &str) {
    let mut conn = app.conn();
    let name = format!("refuse_{table}");
    if app.db.url().starts_with("sqlite") {
        diesel::sql_query(format!("CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {condition} BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"))
            .execute(&mut **conn)
            .unwrap();
    } else {
        diesel::sql_query(format!(
            "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF {condition} THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$"
        ))
        .execute(&mut **conn)
        .unwrap();
        diesel::sql_query(format!("CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")).execute(&mut **conn).unwrap();
    }
}

#[actix_web::test]
async fn a_scan_the_database_refuses_fails_alone_and_the_writer_carries_on() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    register(&app, &dept, &number).await;
    refuse_rows(&app, "events", "NEW.client_event_id = 'poison'");
    let path = format!("/api/v1/items/{number}/events");
    // Sent together, so that the writer may take them as one group.
    let ids = ["w-1", "poison", "w-2", "w-3"];
    let scans: Vec<Value> = ids.iter().map(|id| scan_now(&app, id, "arrived_office")).collect();
    let replies = futures_util::future::join_all(scans.iter().map(|scan| app.post(&path, Some(&carrier.token), scan))).await;
    for (id, reply) in ids.iter().zip(&replies) {
        if *id == "poison" {
            reply.problem(500);
        } else {
            assert_eq!(reply.status, 201, "{id}: {}", reply.text);
        }
    }
    let later = app.post(&path, Some(&carrier.token), &scan_now(&app, "w-4", "arrived_office")).await;
    assert_eq!(later.status, 201, "{}", later.text);
    assert_eq!(app.count("events"), 4);
}

/// Registers `count` urgent items without a fixed deadline and scans each accepted now; their numbers.
async fn urgent_and_accepted(app: &TestApp, dept: &Party, carrier: &Party, count: u32) -> Vec<String> {
    let mut numbers = Vec::new();
    for serial in 1..=count {
        let number = s10(serial);
        let mut body = item_json(&number, "2026-THPT");
        body["priority"] = json!("urgent");
        body.as_object_mut().unwrap().remove("must_arrive_by");
        assert_eq!(app.post("/api/v1/items", Some(&dept.token), &body).await.status, 201);
        let scanned = app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &scan_now(app, &format!("a-{serial}"), "accepted")).await;
        assert_eq!(scanned.status, 201, "{}", scanned.text);
        numbers.push(number);
    }
    numbers
}

#[actix_web::test]
async fn a_case_the_database_refuses_to_escalate_does_not_stop_the_sweep() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let numbers = urgent_and_accepted(&app, &dept, &carrier, 2).await;
    app.clock.advance(Duration::hours(24) + Duration::minutes(1));
    let opened = exampost::app::cases::sweep(&mut **app.conn(), app.clock.as_ref()).unwrap();
    assert!(opened.cases_opened >= 2, "{opened:?}");
    // Every escalation entry of the first item's cases is refused.
    let first = &numbers[0];
    refuse_rows(
        &app,
        "case_entries",
        &format!("NEW.action = 'escalated' AND NEW.case_id IN (SELECT c.id FROM cases c JOIN items i ON i.id = c.item_id WHERE i.tracking_number = '{first}')"),
    );
    app.clock.advance(Duration::hours(2));
    let report = exampost::app::cases::sweep(&mut **app.conn(), app.clock.as_ref()).expect("one refused case does not fail the pass");
    assert!(report.failed >= 1 && report.cases_escalated >= 1, "{report:?}");
    let levels = |number: &str| {
        let number = number.to_string();
        let app = &app;
        let token = dept.token.clone();
        async move {
            let cases = app.get(&format!("/api/v1/cases?tracking_number={number}"), Some(&token)).await;
            cases.body["items"].as_array().unwrap().iter().map(|c| c["level"].as_i64().unwrap()).collect::<Vec<_>>()
        }
    };
    assert!(levels(first).await.iter().all(|l| *l == 1), "the refused cases stay where they were");
    assert!(levels(&numbers[1]).await.iter().all(|l| *l == 2), "the others climbed");
}

#[actix_web::test]
async fn a_case_the_database_refuses_to_open_does_not_hold_back_the_others() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let numbers = urgent_and_accepted(&app, &dept, &carrier, 3).await;
    // Every case of the first item is refused: the sweep opens its cases in
    // one set-based group, which the refusal fails as a whole.
    let first = numbers[0].clone();
    refuse_rows(&app, "cases", &format!("NEW.item_id IN (SELECT id FROM items WHERE tracking_number = '{first}')"));
    app.clock.advance(Duration::hours(24) + Duration::minutes(1));
    let report = exampost::app::cases::sweep(&mut **app.conn(), app.clock.as_ref()).expect("one refused case does not fail the pass");
    assert!(report.failed >= 1, "{report:?}");
    let cases_of = |number: &str| {
        let (number, token) = (number.to_string(), dept.token.clone());
        let app = &app;
        async move {
            let cases = app.get(&format!("/api/v1/cases?tracking_number={number}"), Some(&token)).await;
            assert_eq!(cases.status, 200, "{}", cases.text);
            cases.body["items"].as_array().unwrap().clone()
        }
    };
    assert!(cases_of(&first).await.is_empty(), "the refused item has no case");
    for number in &numbers[1..] {
        let cases = cases_of(number).await;
        assert!(!cases.is_empty(), "{number}: the others' cases are opened");
        assert_eq!(report.cases_opened, 2 * cases.len(), "{report:?}");
        let id = cases[0]["id"].as_str().unwrap();
        let case = app.get(&format!("/api/v1/cases/{id}"), Some(&dept.token)).await;
        assert_eq!(case.body["timeline"][0]["action"], "opened", "{}", case.text);
    }
    // Once the database takes them, the next pass opens what was refused.
    let drop = if app.db.url().starts_with("sqlite") { "DROP TRIGGER refuse_cases" } else { "DROP TRIGGER refuse_cases ON cases" };
    diesel::sql_query(drop).execute(&mut **app.conn()).unwrap();
    let retried = exampost::app::cases::sweep(&mut **app.conn(), app.clock.as_ref()).unwrap();
    assert_eq!(retried.failed, 0, "{retried:?}");
    assert!(!cases_of(&first).await.is_empty(), "the next pass opens the refused item's cases");
}

/// Sends raw bytes on a fresh connection and returns everything the server answered.
fn raw_exchange(address: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(StdDuration::from_secs(10))).unwrap();
    // The server may answer and close before reading everything we send.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[actix_web::test]
async fn heads_the_http_layer_refuses_get_431_and_400_and_the_server_keeps_serving() {
    let app = TestApp::new().await;
    let address = app.base.trim_start_matches("http://").to_string();
    let huge = format!("GET /api/v1/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n", "a".repeat(1024 * 1024));
    let malformed = b"GET /api/v1/items HTTP/9.Z\r\n\x01\x02\r\n\r\n".to_vec();
    let (too_large, bad) = actix_web::rt::task::spawn_blocking(move || (raw_exchange(&address, huge.as_bytes()), raw_exchange(&address, &malformed)))
        .await
        .unwrap();
    // actix-http writes these itself, before any of our code sees a request
    // (h1 dispatcher, `poll_request`): a 431 and a 400, each with no body.
    assert!(too_large.starts_with("HTTP/1.1 431"), "{:?}", too_large.lines().next());
    assert!(too_large.to_ascii_lowercase().contains("content-length: 0"), "{too_large}");
    assert!(bad.starts_with("HTTP/1.1 400"), "{:?}", bad.lines().next());
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 200, "{}", health.text);
    let after = app.get("/api/v1/items", None).await;
    after.problem(401);
}

#[actix_web::test]
async fn a_huge_value_is_not_echoed_back_in_full() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let huge = "\u{1}".repeat(200_000);
    let mut item = item_json(&s10(1), "2026-THPT");
    item["carrier_org"] = json!(huge);
    let reply = app.post("/api/v1/items", Some(&dept.token), &item).await;
    reply.problem(422);
    assert!(reply.text.len() < 8 * 1024, "the answer is {} bytes", reply.text.len());
    assert!(reply.error_fields().contains(&"carrier_org".to_string()), "{}", &reply.text[..reply.text.len().min(400)]);

    let batch = app.post("/api/v1/items/batch", Some(&dept.token), &json!({"items": [item.clone(), item]})).await;
    assert_eq!(batch.status, 200);
    assert!(batch.text.len() < 16 * 1024, "the answer is {} bytes", batch.text.len());
    assert_eq!(app.count("items"), 0);
}
