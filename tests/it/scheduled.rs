//! Scheduled and ad-hoc steering reports (issue 13): each subscriber gets
//! the printable report by e-mail once a day at the report time (Vietnam),
//! even with several processes; a committee may send it at once.

use chrono::{NaiveTime, TimeZone};
use serde_json::json;

use crate::util::TestApp;
use exampost::domain::OrgKind;

fn reports_to(app: &TestApp, target: &str) -> Vec<(Option<String>, String)> {
    use diesel::prelude::*;
    use exampost::db::schema::outbox::dsl;
    dsl::outbox
        .filter(dsl::target.eq(target))
        .filter(dsl::topic.eq("report.steering"))
        .select((dsl::subject, dsl::body))
        .load(&mut **app.conn())
        .unwrap()
}

#[actix_web::test]
async fn the_daily_report_goes_once_at_its_time_and_a_committee_can_send_it_now() {
    // 06:30 in Vietnam.
    let start = chrono_tz::Asia::Ho_Chi_Minh.with_ymd_and_hms(2026, 7, 16, 6, 30, 0).unwrap().with_timezone(&chrono::Utc);
    let app = TestApp::at(start).await;
    let committee = app.new_party("BCD-PT", OrgKind::Overseer, "phu-tho");
    let dept = app.department("SGDDT-PT", "phu-tho");
    let teacher = app.new_party("THPT-VT", OrgKind::Education, "phu-tho");
    let subscriber = json!({"name": "Thường trực BCĐ", "email": "bcd@phutho.example", "daily_report": true});
    assert_eq!(app.post("/api/v1/contacts", Some(&committee.token), &subscriber).await.status, 201);
    let other = json!({"name": "Văn thư", "email": "vanthu@phutho.example"});
    assert_eq!(app.post("/api/v1/contacts", Some(&committee.token), &other).await.status, 201);

    let seven = NaiveTime::from_hms_opt(7, 0, 0).unwrap();
    let send_due = |app: &TestApp| exampost::app::reports::scheduled::send_due(&mut **app.conn(), app.clock.as_ref(), seven).unwrap();
    assert_eq!(send_due(&app), 0, "not before seven");
    app.clock.advance(chrono::Duration::minutes(30));
    let replica = app.replica().await;
    assert_eq!(send_due(&app) + send_due(&replica), 1, "once, by whichever process comes first");
    assert_eq!(send_due(&app), 0, "once a day");
    let sent = reports_to(&app, "bcd@phutho.example");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.as_deref(), Some("[ExamPost] Báo cáo tình hình bưu gửi thi cử ngày 16/07/2026 – Phú Thọ"));
    assert!(sent[0].1.starts_with("<!doctype html>") && sent[0].1.contains("ỦY BAN NHÂN DÂN TỈNH PHÚ THỌ"), "{}", sent[0].1);
    assert!(reports_to(&app, "vanthu@phutho.example").is_empty(), "only subscribers");
    // The next morning, again once.
    app.clock.advance(chrono::Duration::days(1));
    assert_eq!(send_due(&app), 1);

    // Ad hoc: the committee or the Department sends it now; a school may not.
    app.post("/api/v1/reports/steering/send", Some(&teacher.token), &json!({})).await.problem(403);
    assert_eq!(app.post("/api/v1/reports/steering/send", Some(&dept.token), &json!({})).await.body["sent"], 1);
    assert_eq!(app.post("/api/v1/reports/steering/send", Some(&committee.token), &json!({})).await.body["sent"], 1);
    assert_eq!(reports_to(&app, "bcd@phutho.example").len(), 4);
}
