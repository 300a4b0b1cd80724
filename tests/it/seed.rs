//! `exampost seed`: the demo season loads through the real checks, once.

use std::collections::BTreeMap;

use serde_json::json;

use crate::util::TestApp;

#[actix_web::test]
async fn demo_season_loads_once_and_its_credentials_work() {
    let app = TestApp::new().await;
    let now = chrono::Utc::now();
    let seeded = exampost::seed::seed(&mut **app.conn(), exampost::seed::DEMO, now).unwrap();
    assert_eq!((seeded.organizations, seeded.clients, seeded.items), (12, 6, 63));
    assert_eq!(seeded.events as i64, app.count("events"));
    let again = exampost::seed::seed(&mut **app.conn(), exampost::seed::DEMO, now).unwrap_err();
    assert!(again.to_string().contains("already seeded"), "{again}");
    assert_eq!(app.count("items"), 63);

    // The README's demo credentials.
    let token = app
        .post("/api/v1/auth/token", None, &json!({"client_id": "8f0c2a1e-0000-4000-8000-000000000005", "client_secret": "demo-skhcn-pt-secret"}))
        .await;
    assert_eq!(token.status, 200, "{}", token.text);
    let overseer = token.body["access_token"].as_str().unwrap().to_string();

    // The story: every status a season produces, seen by the province's steering committee.
    let mut statuses = BTreeMap::new();
    let mut anomalies = 0;
    let mut path = "/api/v1/items?limit=500".to_string();
    loop {
        let page = app.get(&path, Some(&overseer)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        for item in page.body["items"].as_array().unwrap() {
            *statuses.entry(item["status"].as_str().unwrap().to_string()).or_insert(0) += 1;
            anomalies += item["has_anomaly"].as_bool().unwrap() as i32;
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/items?limit=500&cursor={c}"),
            None => break,
        }
    }
    for status in ["registered", "accepted", "in_transit", "out_for_delivery", "delivery_failed", "held_at_office", "delivered", "returned", "exception", "lost"] {
        assert!(statuses.contains_key(status), "no {status} item in the demo: {statuses:?}");
    }
    assert_eq!(anomalies, 1);
    // Scans happened before now: the latest is half an hour ago.
    let latest: chrono::DateTime<chrono::Utc> = {
        use diesel::prelude::*;
        use exampost::db::schema::events::dsl::*;
        let t: chrono::NaiveDateTime = events.select(diesel::dsl::max(occurred_at)).first::<Option<_>>(&mut **app.conn()).unwrap().unwrap();
        t.and_utc()
    };
    assert!(latest <= now - chrono::Duration::minutes(29) && latest > now - chrono::Duration::hours(2), "{latest}");

    // The Department of Education, the committee's standing body, sees what the committee sees.
    let department = app
        .post("/api/v1/auth/token", None, &json!({"client_id": "8f0c2a1e-0000-4000-8000-000000000002", "client_secret": "demo-sgddt-pt-secret"}))
        .await;
    let department = department.body["access_token"].as_str().unwrap().to_string();
    let count = |token: String| {
        let app = &app;
        async move { app.get("/api/v1/items?limit=500", Some(&token)).await.body["items"].as_array().unwrap().len() }
    };
    assert_eq!(count(department).await, count(overseer.clone()).await);

    // A candidate's own dossier whose electronic pre-advice the university has acknowledged.
    let dhhv = app
        .post("/api/v1/auth/token", None, &json!({"client_id": "8f0c2a1e-0000-4000-8000-000000000006", "client_secret": "demo-dhhv-secret"}))
        .await;
    let dhhv = dhhv.body["access_token"].as_str().unwrap().to_string();
    let held = app.get("/api/v1/pre-advices?status=acknowledged", Some(&dhhv)).await.body;
    let advice = &held.as_array().unwrap()[0];
    let item = app.get(&format!("/api/v1/items/{}", advice["tracking_number"].as_str().unwrap()), Some(&dhhv)).await.body;
    assert_eq!(item["sent_by_candidate"], true);
    let lookup = app
        .post("/api/v1/public/lookup", None, &json!({"tracking_number": item["tracking_number"], "candidate_number": advice["candidate_number"]}))
        .await;
    assert_eq!(lookup.body["pre_advice_label"], "Trường đã nhận hồ sơ điện tử", "{}", lookup.text);

    // The committee's picture: a flood declared over the Hà Nội sorting centre, with items linked ...
    let incidents = app.get("/api/v1/incidents", Some(&overseer)).await.body;
    let flood = &incidents.as_array().unwrap()[0];
    assert_eq!((flood["kind"].as_str(), flood["state"].as_str()), (Some("flood"), Some("open")));
    assert!(flood["items"].as_u64().unwrap() >= 3, "{flood}");
    // ... a level-3 case it directed ...
    let top = app.get("/api/v1/cases?level=3", Some(&overseer)).await.body;
    let directed = &top["items"].as_array().unwrap()[0];
    assert_eq!((directed["kind"].as_str(), directed["owner_org"].as_str()), (Some("tampering"), Some("VNPOST")));
    let detail = app.get(&format!("/api/v1/cases/{}", directed["id"].as_str().unwrap()), Some(&overseer)).await.body;
    assert!(detail["timeline"].as_array().unwrap().iter().any(|e| e["action"] == "directed"));
    // ... and sealed exam papers, one of whose chains has a gap.
    let papers = app.get("/api/v1/items?kind=exam_paper", Some(&overseer)).await.body;
    let papers = papers["items"].as_array().unwrap();
    assert_eq!(papers.len(), 2);
    assert!(papers.iter().all(|p| p["confidential"] == true));
    let gap = app.get("/api/v1/cases?kind=tampering&level=1", Some(&overseer)).await.body;
    assert_eq!(gap["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn generated_season_matches_what_ingest_would_derive() {
    let app = TestApp::new().await;
    let generated = crate::bench::gen::generate(&mut **app.conn(), 2_500, 7, "2026-BENCH", chrono::Utc::now()).unwrap();
    assert_eq!(generated.items, 2_500);
    assert_eq!(app.count("items"), 2_500);
    assert_eq!(app.count("events") as usize, generated.events);
    assert!(generated.events > 2_500 * 6, "about 8 scans an item: {}", generated.events);
    // Recomputing from the scans, as the ingest does, changes nothing.
    use diesel::prelude::*;
    use exampost::db::schema::items::dsl;
    let sample: Vec<(i64, exampost::domain::ItemStatus, Option<chrono::NaiveDateTime>)> =
        dsl::items.select((dsl::id, dsl::status, dsl::last_event_at)).filter(dsl::id.lt(400)).load(&mut **app.conn()).unwrap();
    for (id, status, last) in sample {
        let item = exampost::store::events::refresh_item(&mut **app.conn(), id, exampost::store::stored_time(exampost::clock::Clock::now(app.clock.as_ref()))).unwrap().item;
        assert_eq!((item.status, item.last_event_at), (status, last), "item {id}");
    }
    // A generated item is found by the public lookup like any other (seed 7: serials from 10,560,000).
    let first = crate::items::s10(10_560_000);
    let lookup = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": first, "candidate_number": "00000001"})).await;
    assert_eq!(lookup.status, 200, "{}", lookup.text);
    assert!(lookup.body["last_scan"]["place"].as_str().unwrap().starts_with("BC-"));
}
