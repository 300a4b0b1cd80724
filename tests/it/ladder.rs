//! The ladder that protects the candidate (issue 12): response times that
//! shrink as the deadline nears, broken promises, the steering committee's
//! directions, settlement when an item's journey ends, and the acceptance
//! stage. Through the HTTP API, the clock moved, no sleeping.

use chrono::{DateTime, Duration, FixedOffset, SubsecRound, Utc};
use serde_json::{json, Value};

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{Party, TestApp};
use exampost::clock::Clock;
use exampost::domain::OrgKind;

fn sweep(app: &TestApp) -> exampost::app::cases::SweepReport {
    exampost::app::cases::sweep(&mut **app.conn(), app.clock.as_ref()).unwrap()
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap_or_else(|| panic!("not a time: {value}")).parse().unwrap()
}

fn vietnam(t: DateTime<Utc>) -> String {
    t.with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()).to_rfc3339()
}

async fn scan(app: &TestApp, carrier: &Party, number: &str, id: &str, event_type: &str, extra: Value) {
    let mut event = json!({"client_event_id": id, "type": event_type, "occurred_at": vietnam(app.clock.now()), "office_code": "VNP-35000"});
    event.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let reply = app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &event).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

async fn register(app: &TestApp, dept: &Party, body: &Value) {
    let reply = app.post("/api/v1/items", Some(&dept.token), body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

async fn cases_of(app: &TestApp, token: &str, number: &str) -> Vec<Value> {
    let reply = app.get(&format!("/api/v1/cases?tracking_number={number}"), Some(token)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"].as_array().unwrap().clone()
}

async fn case_of(app: &TestApp, token: &str, number: &str, kind: &str) -> Value {
    let found = cases_of(app, token, number).await.into_iter().find(|c| c["kind"] == kind);
    found.unwrap_or_else(|| panic!("no {kind} case of {number}"))
}

/// The bodies of the e-mails queued for one address and topic.
fn mails_to(app: &TestApp, target: &str, topic: &str) -> Vec<String> {
    use diesel::prelude::*;
    use exampost::db::schema::outbox::dsl;
    dsl::outbox
        .filter(dsl::target.eq(target))
        .filter(dsl::topic.eq(topic))
        .select(dsl::body)
        .order(dsl::id.asc())
        .load(&mut **app.conn())
        .unwrap()
}

async fn add_contact(app: &TestApp, party: &Party, email: &str, levels: &[i32]) {
    let contact = json!({"name": "Người trực", "email": email, "levels": levels});
    let reply = app.post("/api/v1/contacts", Some(&party.token), &contact).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

/// A standard item (8 h to acknowledge) due at the candidate six hours from now.
async fn due_in_six_hours(app: &TestApp, dept: &Party, serial: u32) -> (String, DateTime<Utc>) {
    let number = s10(serial);
    let deadline = app.clock.now() + Duration::hours(6);
    let mut body = item_json(&number, "2026-THPT");
    body["priority"] = json!("standard");
    body["must_arrive_by"] = json!(vietnam(deadline));
    register(app, dept, &body).await;
    (number, deadline)
}

#[actix_web::test]
async fn response_times_shrink_so_level_3_comes_while_there_is_time() {
    let app = TestApp::at("2026-07-15T20:00:00Z".parse().unwrap()).await;
    let (dept, _carrier) = department_and_carrier(&app);
    let overseer = app.new_party("DIC-PT", OrgKind::Overseer, "phu-tho");
    add_contact(&app, &overseer, "bcd@phutho.example", &[3]).await;
    let (number, deadline) = due_in_six_hours(&app, &dept, 1).await;
    let opened_at = app.clock.now();

    // Six hours before the deadline the item is at risk; the rule's 8 h would
    // pass the deadline, so level 1 gets a third of the time left: 2 h.
    assert_eq!(sweep(&app).cases_opened, 1);
    let case = case_of(&app, &dept.token, &number, "deadline_at_risk").await;
    assert_eq!(time(&case["response_due_at"]), opened_at + Duration::hours(2));
    assert_eq!(time(&case["deadline"]), deadline);
    assert_eq!(case["minutes_left"], 360);
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());

    app.clock.set(opened_at + Duration::hours(2) - Duration::seconds(1));
    sweep(&app);
    assert_eq!(app.get(&path, Some(&dept.token)).await.body["level"], 1);
    app.clock.set(opened_at + Duration::hours(2));
    sweep(&app);
    let case = app.get(&path, Some(&dept.token)).await.body;
    assert_eq!(case["level"], 2);
    // Four hours left: a third is 1 h 20 min.
    assert_eq!(time(&case["response_due_at"]), opened_at + Duration::minutes(200));

    app.clock.set(opened_at + Duration::minutes(200));
    sweep(&app);
    let case = app.get(&path, Some(&overseer.token)).await.body;
    assert_eq!((case["level"].as_i64(), case["owner_org"].as_str()), (Some(3), Some("DIC-PT")));
    assert_eq!(case["minutes_left"], 160, "the committee has 2 h 40 min before the candidate's deadline");
    assert!(time(&case["response_due_at"]) < deadline);

    // The committee's mail states the deadline it protects and the time left.
    let mails = mails_to(&app, "bcd@phutho.example", "case.escalated");
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("Hạn của thí sinh: 09:00 16/07/2026 (còn 2 giờ 40 phút)"), "{}", mails[0]);
}

#[actix_web::test]
async fn a_promise_that_passes_unkept_sends_the_case_up() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    let mut body = item_json(&number, "2026-THPT");
    body["priority"] = json!("urgent");
    body.as_object_mut().unwrap().remove("must_arrive_by");
    register(&app, &dept, &body).await;
    scan(&app, &carrier, &number, "acc-1", "accepted", json!({})).await;
    app.clock.advance(Duration::hours(24) + Duration::minutes(1));
    sweep(&app);
    let case = case_of(&app, &carrier.token, &number, "overdue").await;
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    let promised = app.clock.now() + Duration::hours(3);
    let plan = json!({"plan": "Phát bằng xe riêng", "expected_at": vietnam(promised)});
    assert_eq!(app.post(&format!("{path}/acknowledge"), Some(&carrier.token), &plan).await.status, 200);

    app.clock.set(promised - Duration::seconds(1));
    sweep(&app);
    let case = app.get(&path, Some(&dept.token)).await.body;
    assert_eq!((case["level"].as_i64(), case["state"].as_str()), (Some(1), Some("acknowledged")), "the promise still holds");
    app.clock.set(promised);
    assert_eq!(sweep(&app).cases_escalated, 1);
    let case = app.get(&path, Some(&dept.token)).await.body;
    assert_eq!((case["level"].as_i64(), case["state"].as_str()), (Some(2), Some("open")), "the next level must acknowledge anew");
    let last = case["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "escalated");
}

/// An urgent item, accepted now, whose overdue case is then left to climb to the committee.
async fn case_at_level_3(app: &TestApp, dept: &Party, carrier: &Party, serial: u32) -> (String, String) {
    let number = s10(serial);
    let mut body = item_json(&number, "2026-THPT");
    body["priority"] = json!("urgent");
    body.as_object_mut().unwrap().remove("must_arrive_by");
    register(app, dept, &body).await;
    scan(app, carrier, &number, &format!("acc-{serial}"), "accepted", json!({})).await;
    app.clock.advance(Duration::hours(24) + Duration::minutes(1));
    sweep(app);
    app.clock.advance(Duration::hours(2));
    sweep(app);
    app.clock.advance(Duration::hours(2));
    sweep(app);
    let case = case_of(app, &dept.token, &number, "overdue").await;
    assert_eq!(case["level"], 3);
    (number, format!("/api/v1/cases/{}", case["id"].as_str().unwrap()))
}

#[actix_web::test]
async fn the_committee_directs_resolves_and_closes_at_level_3() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let overseer = app.new_party("DIC-PT", OrgKind::Overseer, "phu-tho");
    add_contact(&app, &carrier, "truc@vnpost.example", &[]).await;

    // Below level 3 the committee may comment, not direct.
    let number = s10(9);
    let mut body = item_json(&number, "2026-THPT");
    body["priority"] = json!("urgent");
    body.as_object_mut().unwrap().remove("must_arrive_by");
    register(&app, &dept, &body).await;
    scan(&app, &carrier, &number, "acc-9", "accepted", json!({})).await;
    app.clock.advance(Duration::hours(24) + Duration::minutes(1));
    sweep(&app);
    let low = case_of(&app, &dept.token, &number, "overdue").await;
    let respond_by = vietnam(app.clock.now() + Duration::hours(3));
    let direction = json!({"instruction": "Chuyển phát ngay bằng xe riêng", "organization": "VNPOST", "respond_by": respond_by});
    let low_path = format!("/api/v1/cases/{}", low["id"].as_str().unwrap());
    app.post(&format!("{low_path}/direct"), Some(&overseer.token), &direction).await.problem(403);

    let (_number, path) = case_at_level_3(&app, &dept, &carrier, 1).await;
    let respond_by = vietnam((app.clock.now() + Duration::hours(3)).trunc_subsecs(0));
    let direction = json!({"instruction": "Chuyển phát ngay bằng xe riêng", "organization": "VNPOST", "respond_by": respond_by});
    app.post(&format!("{path}/direct"), Some(&carrier.token), &direction).await.problem(403);
    app.post(&format!("{path}/direct"), Some(&dept.token), &direction).await.problem(403);
    let past = json!({"instruction": "x", "organization": "VNPOST", "respond_by": vietnam(app.clock.now() - Duration::minutes(1))});
    assert_eq!(app.post(&format!("{path}/direct"), Some(&overseer.token), &past).await.problem(422)["errors"][0]["field"], "respond_by");
    let nobody = json!({"instruction": "x", "organization": "NO-SUCH", "respond_by": respond_by});
    assert_eq!(app.post(&format!("{path}/direct"), Some(&overseer.token), &nobody).await.problem(422)["errors"][0]["field"], "organization");
    let empty = json!({"instruction": " ", "organization": "VNPOST", "respond_by": respond_by});
    assert_eq!(app.post(&format!("{path}/direct"), Some(&overseer.token), &empty).await.problem(422)["errors"][0]["field"], "instruction");

    let directed = app.post(&format!("{path}/direct"), Some(&overseer.token), &direction).await;
    assert_eq!(directed.status, 200, "{}", directed.text);
    let case = &directed.body;
    assert_eq!((case["level"].as_i64(), case["state"].as_str(), case["owner_org"].as_str()), (Some(3), Some("open"), Some("VNPOST")));
    assert_eq!(time(&case["response_due_at"]), time(&json!(respond_by)));
    let last = case["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "directed");
    assert!(last["note"].as_str().unwrap().contains("Chuyển phát ngay bằng xe riêng"));
    let mails = mails_to(&app, "truc@vnpost.example", "case.directed");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("Chỉ đạo: Chuyển phát ngay bằng xe riêng"), "{}", mails[0]);

    // The committee resolves and closes; nothing is left for the sender.
    let resolved = app.post(&format!("{path}/resolve"), Some(&overseer.token), &json!({"outcome": "found_and_delivered"})).await;
    assert_eq!(resolved.body["state"], "resolved", "{}", resolved.text);
    let closed = app.post(&format!("{path}/close"), Some(&overseer.token), &json!({"note": "Thí sinh đã nhận"})).await;
    assert_eq!(closed.body["state"], "closed", "{}", closed.text);
    app.post(&format!("{path}/direct"), Some(&overseer.token), &direction).await.problem(409);
}

#[actix_web::test]
async fn the_receiving_school_sees_the_cases_of_items_addressed_to_it() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let school = app.new_party("THPT-VT", OrgKind::Education, "phu-tho");
    add_contact(&app, &school, "vanthu@thpt-vt.example", &[]).await;
    let number = s10(1);
    let mut body = item_json(&number, "2026-THPT");
    body["kind"] = json!("official_dispatch");
    body["recipient"] = json!({"type": "organization", "organization": "THPT-VT", "attention": "Văn thư"});
    register(&app, &dept, &body).await;
    scan(&app, &carrier, &number, "acc-1", "accepted", json!({})).await;
    scan(&app, &carrier, &number, "dmg-1", "damaged", json!({"description": "Bì thư rách"})).await;

    let cases = cases_of(&app, &school.token, &number).await;
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(cases[0]["kind"], "damaged");
    assert_eq!(mails_to(&app, "vanthu@thpt-vt.example", "case.opened").len(), 1);
}

#[actix_web::test]
async fn a_declared_loss_and_a_replacement_settle_every_journey_case() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    let mut body = item_json(&number, "2026-THPT");
    body["priority"] = json!("urgent");
    body.as_object_mut().unwrap().remove("must_arrive_by");
    register(&app, &dept, &body).await;
    scan(&app, &carrier, &number, "acc-1", "accepted", json!({})).await;
    scan(&app, &carrier, &number, "seal-1", "seal_checked", json!({"seal_number": "SEAL-0001", "intact": false})).await;
    app.clock.advance(Duration::hours(30));
    sweep(&app);
    let open: Vec<String> = cases_of(&app, &dept.token, &number).await.iter().map(|c| c["kind"].as_str().unwrap().to_string()).collect();
    for kind in ["overdue", "tampering"] {
        assert!(open.contains(&kind.to_string()), "{open:?}");
    }
    scan(&app, &carrier, &number, "dmg-1", "damaged", json!({"description": "Bì thư ướt"})).await;

    scan(&app, &carrier, &number, "lost-1", "lost_declared", json!({})).await;
    let cases = cases_of(&app, &dept.token, &number).await;
    let state = |kind: &str| {
        let case = cases.iter().find(|c| c["kind"] == kind).unwrap();
        (case["state"].as_str().unwrap().to_string(), case["outcome"].as_str().map(str::to_string))
    };
    assert_eq!(state("overdue"), ("resolved".into(), Some("declared_lost".into())));
    assert_eq!(state("damaged").0, "open", "a loss does not settle the damage");
    assert_eq!(state("lost").0, "open", "the loss waits for its replacement");
    assert_eq!(state("tampering").0, "open", "a broken seal is not settled by a loss");

    let replaced = app.post(&format!("/api/v1/items/{number}/replacement"), Some(&dept.token), &json!({"tracking_number": s10(2)})).await;
    assert_eq!(replaced.status, 201, "{}", replaced.text);
    let cases = cases_of(&app, &dept.token, &number).await;
    for kind in ["lost", "damaged"] {
        let case = cases.iter().find(|c| c["kind"] == kind).unwrap();
        assert_eq!((case["state"].as_str(), case["outcome"].as_str()), (Some("resolved"), Some("replaced")), "{kind}");
    }

    // Days later nothing of the replaced item climbs or reopens but the tampering case.
    app.clock.advance(Duration::days(3));
    sweep(&app);
    let cases = cases_of(&app, &dept.token, &number).await;
    let active: Vec<&str> = cases.iter().filter(|c| c["state"] == "open" || c["state"] == "acknowledged").map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(active, vec!["tampering"]);
}

#[actix_web::test]
async fn an_item_never_accepted_opens_a_case_and_acceptance_settles_it() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    // No priority given: an exam notice is `priority` by default (12 h to accept).
    let mut body = item_json(&number, "2026-THPT");
    body.as_object_mut().unwrap().remove("priority");
    register(&app, &dept, &body).await;
    let item = app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.body;
    assert_eq!(item["priority"], "priority");

    app.clock.advance(Duration::hours(12) - Duration::seconds(1));
    assert_eq!(sweep(&app).cases_opened, 0, "12 h is within the window");
    app.clock.advance(Duration::seconds(2));
    assert_eq!(sweep(&app).cases_opened, 1);
    let case = case_of(&app, &dept.token, &number, "not_accepted").await;
    assert_eq!((case["severity"].as_str(), case["owner_org"].as_str()), (Some("medium"), Some("VNPOST")));

    scan(&app, &carrier, &number, "acc-1", "accepted", json!({})).await;
    let case = case_of(&app, &dept.token, &number, "not_accepted").await;
    assert_eq!((case["state"].as_str(), case["outcome"].as_str()), (Some("resolved"), Some("accepted")));
}

#[actix_web::test]
async fn admins_set_the_acceptance_window_and_the_default_priority_of_a_kind() {
    let app = TestApp::new().await;
    let (dept, _carrier) = department_and_carrier(&app);
    let ops = app.org("EXAMPOST", OrgKind::Overseer, "ha-noi");
    let admin = app.party(&ops, exampost::domain::Role::Admin);
    let kinds = app.get("/api/v1/rules/kinds", Some(&dept.token)).await.body;
    let of = |kinds: &Value, kind: &str| kinds.as_array().unwrap().iter().find(|k| k["kind"] == kind).unwrap()["priority"].clone();
    assert_eq!(of(&kinds, "exam_notice"), "priority");
    assert_eq!(of(&kinds, "admission_notice"), "priority");
    assert_eq!(of(&kinds, "official_dispatch"), "priority");
    app.put_json("/api/v1/rules/kinds/exam_notice", &dept.token, &json!({"priority": "urgent"})).await.problem(403);
    let bad = app.put_json("/api/v1/rules/kinds/postcard", &admin.token, &json!({"priority": "urgent"})).await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "kind");
    assert_eq!(app.put_json("/api/v1/rules/kinds/exam_notice", &admin.token, &json!({"priority": "urgent"})).await.status, 200);
    let number = s10(3);
    let mut body = item_json(&number, "2026-THPT");
    body.as_object_mut().unwrap().remove("priority");
    register(&app, &dept, &body).await;
    assert_eq!(app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.body["priority"], "urgent");

    let rules = app.get("/api/v1/rules", Some(&dept.token)).await.body;
    let urgent = rules.as_array().unwrap().iter().find(|r| r["priority"] == "urgent").unwrap().clone();
    assert_eq!(urgent["accept_hours"], 4);
    let mut update = urgent.clone();
    update.as_object_mut().unwrap().remove("priority");
    update["accept_hours"] = json!(1);
    let changed = app.put_json("/api/v1/rules/urgent", &admin.token, &update).await;
    assert_eq!(changed.body["accept_hours"], 1, "{}", changed.text);
    update["accept_hours"] = json!(0);
    assert_eq!(app.put_json("/api/v1/rules/urgent", &admin.token, &update).await.problem(422)["errors"][0]["field"], "accept_hours");
}

/// The sweep's openings are planned for their own values on PostgreSQL
/// (foreign-key checks included), for that transaction only: a plan kept
/// from when `cases` was nearly empty scanned the whole table per entry.
#[actix_web::test]
async fn openings_plan_their_checks_afresh_for_their_transaction_only() {
    use diesel::connection::Connection;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        plan_cache_mode: String,
    }
    let app = TestApp::new().await;
    if !app.db.url().starts_with("postgres") {
        return;
    }
    let mut conn = app.conn();
    let mode = |conn: &mut exampost::db::DbConn| diesel::sql_query("SHOW plan_cache_mode").get_result::<Setting>(conn).map(|s| s.plan_cache_mode);
    let inside = (**conn)
        .transaction::<_, diesel::result::Error, _>(|c| {
            exampost::store::cases::plan_checks_afresh(c)?;
            mode(c)
        })
        .unwrap();
    assert_eq!(inside, "force_custom_plan");
    assert_eq!(mode(&mut conn).unwrap(), "auto", "the connection's other work keeps its cached plans");
}
