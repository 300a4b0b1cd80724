//! `exampost seed`: the demo season loads through the real checks, once.

use std::collections::BTreeMap;

use serde_json::json;

use crate::util::TestApp;

#[actix_web::test]
async fn demo_season_loads_once_and_its_credentials_work() {
    let app = TestApp::new().await;
    let now = chrono::Utc::now();
    let seeded = exampost::seed::seed(&mut app.conn(), exampost::seed::DEMO, now).unwrap();
    assert_eq!((seeded.organizations, seeded.clients, seeded.items), (12, 6, 61));
    assert_eq!(seeded.events as i64, app.count("events"));
    let again = exampost::seed::seed(&mut app.conn(), exampost::seed::DEMO, now).unwrap_err();
    assert!(again.to_string().contains("already seeded"), "{again}");
    assert_eq!(app.count("items"), 61);

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
        let t: chrono::NaiveDateTime = events.select(diesel::dsl::max(occurred_at)).first::<Option<_>>(&mut *app.conn()).unwrap().unwrap();
        t.and_utc()
    };
    assert!(latest <= now - chrono::Duration::minutes(29) && latest > now - chrono::Duration::hours(2), "{latest}");
}
