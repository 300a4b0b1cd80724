//! Minimal exposure (issue 14, part 2): each reader sees the personal fields
//! its task needs, in views and in exports alike.

use serde_json::{json, Value};

use crate::items::{item_json, s10};
use crate::util::TestApp;
use exampost::domain::OrgKind;

fn candidate_fields(item: &Value) -> (Value, Value, Value, Value, Value, Value) {
    let c = &item["recipient"];
    (c["candidate_number"].clone(), c["full_name"].clone(), c["date_of_birth"].clone(), c["phone"].clone(), c["email"].clone(), item["destination"]["address_line"].clone())
}

#[actix_web::test]
async fn each_reader_sees_the_personal_fields_its_task_needs() {
    let app = TestApp::new().await;
    let sender = app.new_party("SGD-PT", OrgKind::Education, "phu-tho");
    let carrier = app.new_party("VNPOST", OrgKind::Carrier, "ha-noi");
    let committee = app.new_party("BCD-PT", OrgKind::Overseer, "phu-tho");
    let department = app.department("SGDDT-HN", "ha-noi");
    let number = s10(1);
    let mut body = item_json(&number, "2026-THPT");
    body["sender_org"] = json!("SGD-PT");
    assert_eq!(app.post("/api/v1/items", Some(&sender.token), &body).await.status, 201);
    let path = format!("/api/v1/items/{number}");

    let all = candidate_fields(&app.get(&path, Some(&sender.token)).await.body);
    assert_eq!(all, (json!("15001234"), json!("Nguyễn Thị Minh Anh"), json!("2008-03-14"), json!("0912345678"), json!("Minh.Anh@example.vn"), json!("12 Trần Phú")));
    // The carrier delivers: name, phone, address; not the date of birth nor the e-mail.
    let carried = candidate_fields(&app.get(&path, Some(&carrier.token)).await.body);
    assert_eq!(carried, (json!("15001234"), json!("Nguyễn Thị Minh Anh"), Value::Null, json!("0912345678"), Value::Null, json!("12 Trần Phú")));
    // The committee reports: none of them.
    let overseen = candidate_fields(&app.get(&path, Some(&committee.token)).await.body);
    assert_eq!(overseen, (Value::Null, Value::Null, Value::Null, Value::Null, Value::Null, Value::Null));
    // Exports follow the same table.
    let export = app.get("/api/v1/items?format=csv", Some(&committee.token)).await;
    assert!(export.text.contains(&number) && !export.text.contains("Minh Anh") && !export.text.contains("0912345678"), "{}", export.text);
    let export = app.get("/api/v1/items?format=csv", Some(&carrier.token)).await;
    assert!(export.text.contains("Minh Anh") && !export.text.contains("2008-03-14") && !export.text.contains("Minh.Anh@"), "{}", export.text);
    // A Department reading another province sees nothing of this item; of its own province's, no personal field.
    app.get(&path, Some(&department.token)).await.problem(404);
    let listed = app.get("/api/v1/items", Some(&committee.token)).await;
    assert!(listed.body["items"][0]["recipient"]["full_name"].is_null());
}
