//! Seasons as data (issue 13): declared by admins, read by everyone with a
//! token, required to register, and the source of default deadlines.

use serde_json::json;

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::TestApp;
use exampost::domain::{OrgKind, Role};

fn season_json() -> serde_json::Value {
    json!({
        "code": "2028-thpt", "name": "Kỳ thi THPT 2028", "exam_days": ["2028-06-12", "2028-06-11"], "result_day": "2028-07-16",
        "closes_on": "2099-09-30", "deadlines": [{"kind": "admission_notice", "deadline": "2099-08-21"}]
    })
}

#[actix_web::test]
async fn admins_declare_seasons_and_everyone_reads_them() {
    let app = TestApp::new().await;
    let (dept, _carrier) = department_and_carrier(&app);
    let overseer = app.new_party("BCD-PT", OrgKind::Overseer, "phu-tho");
    let ops = app.org("EXAMPOST", OrgKind::Overseer, "ha-noi");
    let admin = app.party(&ops, Role::Admin);

    app.post("/api/v1/seasons", Some(&dept.token), &season_json()).await.problem(403);
    let mut bad = season_json();
    bad["code"] = json!("2028");
    bad["closes_on"] = json!("09/30/2099");
    let refused = app.post("/api/v1/seasons", Some(&admin.token), &bad).await;
    let mut fields = refused.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["closes_on", "code"]);

    let created = app.post("/api/v1/seasons", Some(&admin.token), &season_json()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["code"], "2028-THPT");
    assert_eq!(created.body["exam_days"], json!(["2028-06-11", "2028-06-12"]));
    assert_eq!(created.body["deadlines"][0]["kind"], "admission_notice");
    app.post("/api/v1/seasons", Some(&admin.token), &season_json()).await.problem(409);

    let listed = app.get("/api/v1/seasons", Some(&overseer.token)).await;
    assert!(listed.body.as_array().unwrap().iter().any(|s| s["code"] == "2028-THPT"), "{}", listed.text);

    let mut changed = season_json();
    changed["name"] = json!("Kỳ thi tốt nghiệp THPT năm 2028");
    changed["closes_on"] = json!("2020-01-01");
    changed["exam_days"] = json!([]);
    let updated = app.put_json("/api/v1/seasons/2028-THPT", &admin.token, &changed).await;
    assert_eq!(updated.body["name"], "Kỳ thi tốt nghiệp THPT năm 2028", "{}", updated.text);
    app.put_json("/api/v1/seasons/2029-THPT", &admin.token, &changed).await.problem(404);
    app.put_json("/api/v1/seasons/00", &admin.token, &changed).await.problem(404);

    // Closed seasons are not offered to the public; open ones are.
    let open = app.get("/api/v1/public/seasons", None).await;
    let codes: Vec<&str> = open.body.as_array().unwrap().iter().map(|s| s["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"2026-THPT") && !codes.contains(&"2028-THPT"), "{codes:?}");
}

#[actix_web::test]
async fn registering_needs_a_season_and_takes_its_default_deadline() {
    let app = TestApp::new().await;
    let (dept, _carrier) = department_and_carrier(&app);
    let refused = app.post("/api/v1/items", Some(&dept.token), &item_json(&s10(1), "2031-ANYTHING")).await;
    assert_eq!(refused.problem(422)["errors"][0]["field"], "season");
    assert!(refused.text.contains("no season 2031-ANYTHING"), "{}", refused.text);
    assert_eq!(app.count("items"), 0);

    let deadline = chrono::NaiveDate::from_ymd_opt(2099, 8, 21).unwrap().and_hms_opt(16, 59, 59).unwrap();
    app.season("2026-THPT", &[(exampost::domain::ItemKind::AdmissionNotice, deadline)]);
    let mut notice = item_json(&s10(2), "2026-THPT");
    notice["kind"] = json!("admission_notice");
    notice.as_object_mut().unwrap().remove("must_arrive_by");
    let created = app.post("/api/v1/items", Some(&dept.token), &notice).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["must_arrive_by"], "2099-08-21T16:59:59Z");
    // A kind without a default keeps none; a date the sender gives wins.
    let mut exam = item_json(&s10(3), "2026-THPT");
    exam.as_object_mut().unwrap().remove("must_arrive_by");
    assert!(app.post("/api/v1/items", Some(&dept.token), &exam).await.body["must_arrive_by"].is_null());
    let mut given = item_json(&s10(4), "2026-THPT");
    given["kind"] = json!("admission_notice");
    given["must_arrive_by"] = json!("2099-07-01");
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &given).await.body["must_arrive_by"], "2099-07-01T16:59:59Z");
}
