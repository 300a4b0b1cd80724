//! Digests (issue 12): a contact point may take non-critical case news as one
//! mail per period, while critical news still goes out at once; each news is
//! in exactly one digest, even with several processes sweeping together.

use chrono::{Duration, FixedOffset};
use serde_json::json;

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{Party, TestApp};
use exampost::clock::Clock;

fn mails_to(app: &TestApp, target: &str) -> Vec<(String, String)> {
    use diesel::prelude::*;
    use exampost::db::schema::outbox::dsl;
    dsl::outbox.filter(dsl::target.eq(target)).select((dsl::topic, dsl::body)).order(dsl::id.asc()).load(&mut **app.conn()).unwrap()
}

async fn accepted(app: &TestApp, dept: &Party, carrier: &Party, serial: u32) -> String {
    let number = s10(serial);
    let mut body = item_json(&number, "2026-THPT");
    body["priority"] = json!("urgent");
    body.as_object_mut().unwrap().remove("must_arrive_by");
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &body).await.status, 201);
    let now = app.clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()).to_rfc3339();
    let scan = json!({"client_event_id": format!("a{serial}"), "type": "accepted", "occurred_at": now, "office_code": "VNP-35000"});
    assert_eq!(app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &scan).await.status, 201);
    number
}

#[actix_web::test]
async fn non_critical_news_waits_for_one_digest_per_period() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let bad = json!({"name": "Trực ban", "email": "truc@vnpost.example", "digest_minutes": 5});
    assert_eq!(app.post("/api/v1/contacts", Some(&carrier.token), &bad).await.problem(422)["errors"][0]["field"], "digest_minutes");
    let contact = json!({"name": "Trực ban", "email": "truc@vnpost.example", "digest_minutes": 60});
    let created = app.post("/api/v1/contacts", Some(&carrier.token), &contact).await;
    assert_eq!(created.body["digest_minutes"], 60, "{}", created.text);
    let numbers = [accepted(&app, &dept, &carrier, 1).await, accepted(&app, &dept, &carrier, 2).await, accepted(&app, &dept, &carrier, 3).await];

    // Thirteen hours later, silent: three stalled cases open, and nothing is mailed yet.
    app.clock.advance(Duration::hours(12) + Duration::minutes(1));
    let sweep = |app: &TestApp| exampost::app::cases::sweep(&mut **app.conn(), app.clock.as_ref()).unwrap();
    assert_eq!(sweep(&app).cases_opened, 3);
    assert!(mails_to(&app, "truc@vnpost.example").is_empty());

    // A broken seal is critical: at once.
    let now = app.clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()).to_rfc3339();
    let seal = json!({"client_event_id": "s1", "type": "seal_checked", "occurred_at": now, "office_code": "VNP-35000", "seal_number": "SEAL-0001", "intact": false});
    assert_eq!(app.post(&format!("/api/v1/items/{}/events", numbers[0]), Some(&carrier.token), &seal).await.status, 201);
    let mails = mails_to(&app, "truc@vnpost.example");
    assert_eq!(mails.iter().map(|(topic, _)| topic.as_str()).collect::<Vec<_>>(), vec!["case.opened"]);

    // The period ends an hour after the first waiting news; two processes sweep together.
    app.clock.advance(Duration::minutes(59));
    assert_eq!(sweep(&app).digests_sent, 0);
    app.clock.advance(Duration::minutes(1));
    let replica = app.replica().await;
    let (mut first, mut second, clock) = (app.conn(), replica.conn(), app.clock.clone());
    let (one, two) = std::thread::scope(|s| {
        let a = s.spawn(|| exampost::app::cases::sweep(&mut first, clock.as_ref()).unwrap().digests_sent);
        let b = s.spawn(|| exampost::app::cases::sweep(&mut second, clock.as_ref()).unwrap().digests_sent);
        (a.join().unwrap(), b.join().unwrap())
    });
    drop((first, second));
    assert_eq!(one + two, 1, "exactly one digest");
    let digests: Vec<String> = mails_to(&app, "truc@vnpost.example").into_iter().filter(|(t, _)| t == "case.digest").map(|(_, b)| b).collect();
    assert_eq!(digests.len(), 1);
    for number in &numbers {
        assert!(digests[0].contains(number.as_str()), "{number} missing from {}", digests[0]);
    }
    assert_eq!(digests[0].matches("[Mới]").count(), 3, "{}", digests[0]);
    // The cases climb two hours on: that news waits for a period of its own.
    app.clock.advance(Duration::hours(2));
    let next = sweep(&app);
    assert!(next.cases_escalated >= 2, "{next:?}");
    assert_eq!(next.digests_sent, 0);
    app.clock.advance(Duration::hours(1));
    assert_eq!(sweep(&app).digests_sent, 1);
    let digests = mails_to(&app, "truc@vnpost.example").into_iter().filter(|(t, _)| t == "case.digest").count();
    assert_eq!(digests, 2);
}
