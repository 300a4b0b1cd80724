//! The candidates' page tells the truth: each status's journey and words,
//! what to do now with whom to call, errors in the page's language, and a
//! candidate's report answered by the carrier.

use chrono::FixedOffset;
use serde_json::{json, Value};

use crate::items::{department_and_carrier, s10};
use crate::public::registered_and_scanned;
use crate::util::{Party, Reply, TestApp};
use exampost::clock::Clock;

/// These tests look up more than the default ten a minute from one address.
async fn app() -> TestApp {
    TestApp::with_config(|config| config.lookups_per_minute = 1000).await
}

fn now_vn(app: &TestApp) -> String {
    app.clock
        .now()
        .with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap())
        .to_rfc3339()
}

async fn scan(
    app: &TestApp,
    carrier: &Party,
    number: &str,
    id: &str,
    event_type: &str,
    extra: Value,
) {
    let mut event = json!({"client_event_id": id, "type": event_type, "occurred_at": now_vn(app), "office_code": "VNP-VT", "office_name": "Bưu cục Việt Trì"});
    event
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let reply = app
        .post(
            &format!("/api/v1/items/{number}/events"),
            Some(&carrier.token),
            &event,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

async fn lookup(app: &TestApp, number: &str, lang: &str) -> Reply {
    let reply = app
        .post(
            "/api/v1/public/lookup",
            None,
            &json!({"tracking_number": number, "candidate_number": "15001234", "lang": lang}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply
}

fn current_step(reply: &Reply) -> Vec<String> {
    reply.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] == "current")
        .map(|s| s["label"].as_str().unwrap().to_string())
        .collect()
}

fn advice(reply: &Reply) -> String {
    reply.body["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[actix_web::test]
async fn each_ending_reads_as_what_happened() {
    let app = app().await;
    let (dept, carrier) = department_and_carrier(&app);

    // In transit: an expected day, nothing to do yet, the carrier by name.
    let moving = registered_and_scanned(&app, &dept, &carrier, 1).await;
    let seen = lookup(&app, &moving, "vi").await;
    assert_eq!(current_step(&seen), ["Đang vận chuyển"]);
    assert!(seen.body["expected_by"].is_string(), "{}", seen.text);
    assert_eq!(
        (
            seen.body["carrier"].as_str(),
            seen.body["sender"].as_str(),
            seen.body["journey_over"].as_bool()
        ),
        (Some("Org VNPOST"), Some("Org SGD-PT"), Some(false))
    );
    assert!(
        advice(&seen).starts_with("Bạn chưa cần làm gì"),
        "{}",
        advice(&seen)
    );

    // Returned: the last step is the return, not a delivery, and no expected day.
    let returned = registered_and_scanned(&app, &dept, &carrier, 2).await;
    scan(
        &app,
        &carrier,
        &returned,
        "r-1",
        "returned_to_sender",
        json!({"reason": "refused"}),
    )
    .await;
    let seen = lookup(&app, &returned, "vi").await;
    assert_eq!(current_step(&seen), ["Đã chuyển hoàn về nơi gửi"]);
    assert!(!seen.text.contains("\"Đã phát\""), "{}", seen.text);
    assert_eq!(
        (
            seen.body["expected_by"].clone(),
            seen.body["journey_over"].clone()
        ),
        (Value::Null, json!(true))
    );
    assert!(
        advice(&seen).contains("Hãy liên hệ Org SGD-PT"),
        "{}",
        advice(&seen)
    );

    // Lost: the step says so, the case is the loss (not "late"); replaced: a link to follow.
    let lost = registered_and_scanned(&app, &dept, &carrier, 3).await;
    scan(&app, &carrier, &lost, "l-1", "lost_declared", json!({})).await;
    let seen = lookup(&app, &lost, "vi").await;
    assert_eq!(current_step(&seen), ["Thất lạc"]);
    assert_eq!(
        seen.body["expected_by"],
        Value::Null,
        "a lost item shows no expected day"
    );
    assert_eq!(
        seen.body["cases"],
        json!([{"kind": "lost", "label": "Bưu gửi bị thất lạc; nơi gửi sẽ gửi bản thay thế"}])
    );
    assert!(!seen.text.contains("Chậm so với dự kiến"), "{}", seen.text);
    let replacement = app
        .post(
            &format!("/api/v1/items/{lost}/replacement"),
            Some(&dept.token),
            &json!({"tracking_number": s10(4)}),
        )
        .await;
    assert_eq!(replacement.status, 201, "{}", replacement.text);
    let seen = lookup(&app, &lost, "en").await;
    assert_eq!(current_step(&seen), ["A replacement was sent"]);
    assert!(
        seen.body["advice"][0].as_str().unwrap().contains(&s10(4)),
        "{}",
        seen.text
    );

    // Delivered: when, and no expected day.
    let delivered = registered_and_scanned(&app, &dept, &carrier, 5).await;
    scan(
        &app,
        &carrier,
        &delivered,
        "d-1",
        "delivered",
        json!({"recipient_name": "Nguyễn Thị Minh Anh", "identity_check": "citizen_id_card"}),
    )
    .await;
    let seen = lookup(&app, &delivered, "vi").await;
    assert_eq!(current_step(&seen), ["Đã phát"]);
    assert_eq!(seen.body["timeline"][4]["tone"], "ok");
    assert!(
        seen.body["delivered_at"].is_string() && seen.body["expected_by"].is_null(),
        "{}",
        seen.text
    );
    assert!(advice(&seen).contains("Đã phát lúc"), "{}", advice(&seen));

    // A failed attempt: why, and what happens next.
    let failed = registered_and_scanned(&app, &dept, &carrier, 6).await;
    scan(
        &app,
        &carrier,
        &failed,
        "f-1",
        "delivery_failed",
        json!({"reason": "address_not_found", "action": "contact_recipient"}),
    )
    .await;
    let seen = lookup(&app, &failed, "vi").await;
    assert_eq!(current_step(&seen), ["Phát chưa thành công"]);
    assert_eq!(
        seen.body["last_attempt"]["reason_label"],
        "không tìm thấy địa chỉ"
    );
    assert!(
        advice(&seen).contains("Bưu điện sẽ gọi cho bạn"),
        "{}",
        advice(&seen)
    );

    // Held: where, when, until when, and what to bring, dates as dd/mm/yyyy.
    let held = registered_and_scanned(&app, &dept, &carrier, 7).await;
    let office = json!({"office_address": "2 Trần Phú, Việt Trì", "opening_hours": "7:00–19:00", "hold_until": "25/07/2099"});
    scan(&app, &carrier, &held, "h-1", "held_at_office", office).await;
    let seen = lookup(&app, &held, "vi").await;
    assert_eq!(current_step(&seen), ["Lưu tại bưu cục, chờ bạn đến nhận"]);
    assert_eq!(seen.body["held_at"]["place"], "Bưu cục Việt Trì");
    assert_eq!(seen.body["held_at"]["hold_until"], "2099-07-25");
    assert_eq!(seen.body["advice"][0], "Mời đến nhận tại Bưu cục Việt Trì, 2 Trần Phú, Việt Trì (giờ mở cửa: 7:00–19:00), chậm nhất ngày 25/07/2099.");
    assert!(seen.body["held_at"]["bring"]
        .as_str()
        .unwrap()
        .contains("căn cước công dân"));

    // Damage: the case's own words.
    let damaged = registered_and_scanned(&app, &dept, &carrier, 8).await;
    scan(
        &app,
        &carrier,
        &damaged,
        "dm-1",
        "damaged",
        json!({"description": "ướt góc"}),
    )
    .await;
    let seen = lookup(&app, &damaged, "vi").await;
    assert_eq!(seen.body["case_label"], "Bưu gửi bị hư hỏng; đang xử lý");
    assert!(
        advice(&seen).contains("kiểm tra giấy tờ bên trong"),
        "{}",
        advice(&seen)
    );
}

#[actix_web::test]
async fn help_lines_are_the_public_contacts_only() {
    let app = app().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = registered_and_scanned(&app, &dept, &carrier, 1).await;
    let hotline = json!({"name": "Tổng đài CSKH", "phone": "1900 54 54 81", "public": true});
    assert_eq!(
        app.post("/api/v1/contacts", Some(&carrier.token), &hotline)
            .await
            .status,
        201
    );
    let staff =
        json!({"name": "Lê Văn Hùng", "phone": "0210 3846 203", "email": "hung@vnpost.example"});
    assert_eq!(
        app.post("/api/v1/contacts", Some(&carrier.token), &staff)
            .await
            .status,
        201
    );
    let desk =
        json!({"name": "Bộ phận hỗ trợ thí sinh", "email": "hotro@sgd.example", "public": true});
    assert_eq!(
        app.post("/api/v1/contacts", Some(&dept.token), &desk)
            .await
            .status,
        201
    );
    let seen = lookup(&app, &number, "vi").await;
    assert_eq!(
        seen.body["help"],
        json!([
            {"role": "carrier", "organization": "Org VNPOST", "name": "Tổng đài CSKH", "phone": "1900545481", "email": null},
            {"role": "sender", "organization": "Org SGD-PT", "name": "Bộ phận hỗ trợ thí sinh", "phone": null, "email": "hotro@sgd.example"},
        ])
    );
    assert!(
        !seen.text.contains("Lê Văn Hùng") && !seen.text.contains("02103846203"),
        "a staff contact is not public: {}",
        seen.text
    );
    // The help lines a lookup read are kept a while; a change made here shows at once.
    let contacts = app.get("/api/v1/contacts", Some(&carrier.token)).await;
    let hotline_id = contacts.body.as_array().and_then(|all| all.iter().find(|c| c["name"] == "Tổng đài CSKH")).map(|c| c["id"].as_str().unwrap_or_default().to_string());
    let hotline_id = hotline_id.unwrap_or_else(|| panic!("the hotline is listed: {}", contacts.text));
    let bearer = format!("Bearer {}", carrier.token);
    assert_eq!(app.raw("DELETE", &format!("/api/v1/contacts/{hotline_id}"), &[("authorization", &bearer)], vec![]).await.status, 204);
    let night = json!({"name": "Trực đêm mùa thi", "phone": "1900 54 54 82", "public": true});
    assert_eq!(app.post("/api/v1/contacts", Some(&carrier.token), &night).await.status, 201);
    let seen = lookup(&app, &number, "vi").await;
    assert_eq!(seen.body["help"][0]["name"], "Trực đêm mùa thi", "{}", seen.text);
    assert!(!seen.text.contains("Tổng đài CSKH"), "{}", seen.text);
}

#[actix_web::test]
async fn errors_speak_the_pages_language_and_name_the_field() {
    let app = app().await;
    let empty = app
        .post(
            "/api/v1/public/lookup",
            None,
            // What the page sends for an empty form: the unused factor as an empty field.
            &json!({"tracking_number": "", "candidate_number": "", "date_of_birth": "", "lang": "vi"}),
        )
        .await;
    let problem = empty.problem(422);
    assert_eq!(problem["title"], "Thông tin chưa hợp lệ");
    let mut fields = empty.error_fields();
    fields.sort();
    assert_eq!(fields, ["candidate_number", "tracking_number"]);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Số báo danh: hãy nhập số báo danh hoặc ngày sinh"),
        "{problem}"
    );
    assert!(!empty.text.contains("give your"), "{}", empty.text);

    let typo = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": "RR123456784VN", "candidate_number": "15001234", "lang": "vi"})).await;
    assert_eq!(
        typo.problem(422)["errors"][0]["reason"],
        "số hiệu không đúng (có thể gõ nhầm một ký tự); hãy so lại với biên nhận"
    );
    let english = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": "RR123456784VN", "candidate_number": "15001234", "lang": "en"})).await;
    assert!(
        english.problem(422)["detail"]
            .as_str()
            .unwrap()
            .starts_with("Tracking number: is not a valid tracking number"),
        "{}",
        english.text
    );

    let (dept, carrier) = department_and_carrier(&app);
    let number = registered_and_scanned(&app, &dept, &carrier, 1).await;
    let miss = app
        .post(
            "/api/v1/public/lookup",
            None,
            &json!({"tracking_number": number, "date_of_birth": "31/02/2008"}),
        )
        .await;
    assert_eq!(
        miss.problem(422)["errors"][0]["reason"],
        "phải là ngày dạng dd/mm/yyyy"
    );
    let by_vietnamese_date = app
        .post(
            "/api/v1/public/lookup",
            None,
            &json!({"tracking_number": number, "date_of_birth": "14/03/2008"}),
        )
        .await;
    assert_eq!(
        by_vietnamese_date.status, 200,
        "dd/mm/yyyy opens the item: {}",
        by_vietnamese_date.text
    );
    // An address's lock-out ends at the top of the hour: ten minutes past
    // one, so that it reads in minutes whenever the test runs (at 15:59 it read "54 giây").
    let now = app.clock.now();
    app.clock.set(now - chrono::Duration::seconds(now.timestamp().rem_euclid(3600)) + chrono::Duration::minutes(70));
    for day in 1..=5 {
        let wrong = app
            .post(
                "/api/v1/public/lookup",
                None,
                &json!({"tracking_number": number, "date_of_birth": format!("0{day}/01/2008")}),
            )
            .await;
        assert_eq!(wrong.problem(404)["title"], "Không tìm thấy");
    }
    let locked = app
        .post(
            "/api/v1/public/lookup",
            None,
            &json!({"tracking_number": number, "candidate_number": "15001234"}),
        )
        .await;
    let detail = locked.problem(429)["detail"].as_str().unwrap().to_string();
    assert!(
        detail.ends_with(" phút.") && !detail.contains("giây"),
        "a lock-out reads in minutes: {detail}"
    );
}

#[actix_web::test]
async fn a_candidate_reports_and_reads_the_answer() {
    let app = app().await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = registered_and_scanned(&app, &dept, &carrier, 1).await;
    scan(
        &app,
        &carrier,
        &number,
        "d-1",
        "delivered",
        json!({"recipient_name": "Nguyễn Văn B", "identity_check": "citizen_id_card"}),
    )
    .await;

    let report = json!({"tracking_number": number, "date_of_birth": "14/03/2008", "kind": "not_received",
        "message": "Tra cứu báo đã phát nhưng gia đình chưa nhận được.", "callback_phone": "0912 000 111", "lang": "vi"});
    let wrong = app.post("/api/v1/public/report", None, &json!({"tracking_number": number, "date_of_birth": "15/03/2008", "kind": "not_received", "lang": "vi"})).await;
    let unknown = app.post("/api/v1/public/report", None, &json!({"tracking_number": s10(99), "date_of_birth": "14/03/2008", "kind": "not_received", "lang": "vi"})).await;
    wrong.problem(404);
    assert_eq!(
        (wrong.status, &wrong.body),
        (unknown.status, &unknown.body),
        "no oracle"
    );
    assert_eq!(app.count("cases"), 0, "a miss opens nothing");

    let received = app.post("/api/v1/public/report", None, &report).await;
    assert_eq!(received.status, 202, "{}", received.text);
    let reference = received.body["reference"].as_str().unwrap().to_string();
    assert!(
        reference.starts_with("PA-")
            && received.body["message"]
                .as_str()
                .unwrap()
                .contains(&reference),
        "{}",
        received.text
    );

    // The carrier owns it, the sender sees it; the words are on its timeline.
    let cases = app
        .get(
            &format!("/api/v1/cases?tracking_number={number}"),
            Some(&carrier.token),
        )
        .await;
    let case = cases.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "recipient_report")
        .cloned()
        .expect("a recipient_report case");
    let id = case["id"].as_str().unwrap().to_string();
    assert!(
        id.replace('-', "")
            .to_uppercase()
            .ends_with(&reference[3..]),
        "the reference is the case id's end: {id} {reference}"
    );
    let file = app
        .get(&format!("/api/v1/cases/{id}"), Some(&dept.token))
        .await;
    assert_eq!(file.status, 200, "the sender follows it: {}", file.text);
    assert!(
        file.text.contains("gia đình chưa nhận được") && file.text.contains("0912000111"),
        "{}",
        file.text
    );

    let seen = lookup(&app, &number, "vi").await;
    assert_eq!(seen.body["reports"][0]["reference"], reference.as_str());
    assert_eq!(seen.body["reports"][0]["state"], "received");
    assert_eq!(seen.body["cases"][0]["kind"], "recipient_report");

    // A second message joins the open case.
    let again = app.post("/api/v1/public/report", None, &json!({"tracking_number": number, "candidate_number": "15001234", "kind": "question", "message": "Bao giờ có kết quả?", "lang": "vi"})).await;
    assert_eq!(
        (again.status, again.body["reference"].as_str()),
        (202, Some(reference.as_str())),
        "{}",
        again.text
    );

    // Answering needs words the candidate can read.
    let bare = app
        .post(
            &format!("/api/v1/cases/{id}/resolve"),
            Some(&carrier.token),
            &json!({"outcome": "answered"}),
        )
        .await;
    assert_eq!(bare.problem(422)["errors"][0]["field"], "note");
    let answer = "Bưu tá đã phát cho bảo vệ khu nhà; chúng tôi sẽ mang đến tận tay trong hôm nay.";
    let resolved = app
        .post(
            &format!("/api/v1/cases/{id}/resolve"),
            Some(&carrier.token),
            &json!({"outcome": "answered", "note": answer}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    let seen = lookup(&app, &number, "vi").await;
    assert_eq!(
        (
            seen.body["reports"][0]["state"].as_str(),
            seen.body["reports"][0]["answer"].as_str()
        ),
        (Some("answered"), Some(answer))
    );
    assert_eq!(seen.body["has_open_case"], false);

    // Five messages an item a day: the sixth waits.
    for n in 0..3 {
        let more = app.post("/api/v1/public/report", None, &json!({"tracking_number": number, "candidate_number": "15001234", "kind": "question", "message": format!("Câu hỏi {n}")})).await;
        assert_eq!(more.status, 202, "{}", more.text);
    }
    let flood = app.post("/api/v1/public/report", None, &json!({"tracking_number": number, "candidate_number": "15001234", "kind": "question", "message": "Nữa"})).await;
    flood.problem(429);
}
