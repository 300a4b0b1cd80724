//! The read audit (issue 14, part 1): every staff read of candidates'
//! personal data is on record before the answer leaves, and admins and the
//! province's overseers can read the record.

use serde_json::{json, Value};

use crate::items::{item_json, s10};
use crate::util::TestApp;
use exampost::clock::Clock;
use exampost::domain::{OrgKind, Role};

fn entries(reply: &Value) -> Vec<Value> {
    reply["items"].as_array().cloned().unwrap_or_default()
}

#[actix_web::test]
async fn staff_reads_of_personal_data_are_on_record_with_who_what_and_where() {
    let app = TestApp::new().await;
    let sender = app.new_party("SGD-PT", OrgKind::Education, "phu-tho");
    let carrier = app.new_party("VNPOST", OrgKind::Carrier, "ha-noi");
    let committee = app.new_party("BCD-PT", OrgKind::Overseer, "phu-tho");
    let other_committee = app.new_party("BCD-HN", OrgKind::Overseer, "ha-noi");
    let ops = app.org("OPS", OrgKind::Overseer, "ha-noi");
    let admin = app.party(&ops, Role::Admin);
    let number = s10(1);
    let mut body = item_json(&number, "2026-THPT");
    body["sender_org"] = json!("SGD-PT");
    assert_eq!(app.post("/api/v1/items", Some(&sender.token), &body).await.status, 201);

    // Nothing was read yet: registering is not a read.
    let audit = app.get("/api/v1/audit", Some(&admin.token)).await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert!(entries(&audit.body).is_empty(), "{}", audit.text);

    assert_eq!(app.get(&format!("/api/v1/items/{number}"), Some(&sender.token)).await.status, 200);
    assert_eq!(app.get("/api/v1/items?season=2026-THPT&candidate_number=15001234&limit=10", Some(&carrier.token)).await.status, 200);
    let export = app.get("/api/v1/items?format=csv", Some(&carrier.token)).await;
    assert!(export.text.contains(&number));
    // The committee's reads show no personal field, so they are not reads of personal data.
    assert_eq!(app.get(&format!("/api/v1/items/{number}"), Some(&committee.token)).await.status, 200);

    let audit = app.get("/api/v1/audit", Some(&admin.token)).await;
    let found = entries(&audit.body);
    assert_eq!(found.len(), 3, "{}", audit.text);
    let (exported, listed, viewed) = (&found[0], &found[1], &found[2]);
    assert_eq!(viewed["action"], "view");
    assert_eq!(viewed["role"], "education");
    assert_eq!(viewed["tracking_numbers"], json!([number]));
    assert_eq!(viewed["item_count"], 1);
    assert_eq!(viewed["address"], "127.0.0.1");
    assert_eq!(viewed["fields"], json!(["candidate_number", "full_name", "date_of_birth", "phone", "email", "address_line"]));
    assert_eq!(viewed["provinces"], json!(["phu-tho"]));
    // The carrier sees what delivery needs, and the audit says so.
    assert_eq!(listed["action"], "list");
    assert_eq!(listed["fields"], json!(["candidate_number", "full_name", "phone", "address_line"]));
    // The query is kept without the paging, and without the candidate's number it searched for.
    assert_eq!(listed["query"], "season=2026-THPT&candidate_number=*");
    assert!(!audit.text.contains("15001234"), "{}", audit.text);
    assert_eq!(exported["action"], "export");
    assert_eq!(exported["item_count"], 1);
    assert_eq!(exported["query"], "format=csv");

    // Filters: by action, by item, by organization, by day.
    let views = app.get("/api/v1/audit?action=view", Some(&admin.token)).await;
    assert_eq!(entries(&views.body).len(), 1);
    let by_item = app.get(&format!("/api/v1/audit?tracking_number={}", number.to_lowercase()), Some(&admin.token)).await;
    assert_eq!(entries(&by_item.body).len(), 3, "the view, the page and the short export named it: {}", by_item.text);
    let by_org = app.get("/api/v1/audit?organization=vnpost", Some(&admin.token)).await;
    assert_eq!(entries(&by_org.body).len(), 2);
    let today = app.clock.now().format("%Y-%m-%d").to_string();
    let tomorrow = (app.clock.now() + chrono::Duration::days(2)).format("%d/%m/%Y").to_string();
    assert_eq!(entries(&app.get(&format!("/api/v1/audit?from={tomorrow}"), Some(&admin.token)).await.body).len(), 0);
    assert_eq!(entries(&app.get(&format!("/api/v1/audit?to={tomorrow}&from={today}"), Some(&admin.token)).await.body).len(), 3);
    let paged = app.get("/api/v1/audit?limit=2", Some(&admin.token)).await;
    let cursor = paged.body["next_cursor"].as_str().expect("a second page").to_string();
    let rest = app.get(&format!("/api/v1/audit?limit=2&cursor={cursor}"), Some(&admin.token)).await;
    assert_eq!(entries(&rest.body)[0]["action"], "view");

    // The province's committee reads the reads of its candidates; another province's does not.
    assert_eq!(entries(&app.get("/api/v1/audit", Some(&committee.token)).await.body).len(), 3);
    assert_eq!(entries(&app.get("/api/v1/audit", Some(&other_committee.token)).await.body).len(), 0);
    // Nobody else reads the audit.
    app.get("/api/v1/audit", Some(&sender.token)).await.problem(403);
    app.get("/api/v1/audit", None).await.problem(401);

    // A spreadsheet of the same entries.
    let csv = app.get("/api/v1/audit?format=csv", Some(&admin.token)).await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type().starts_with("text/csv"));
    assert!(csv.text.contains("at,client_id,organization_id,role,address,action") && csv.text.contains(&number), "{}", csv.text);
    assert_eq!(csv.text.lines().count(), 4, "{}", csv.text);
}

#[actix_web::test]
async fn bad_audit_filters_name_the_field_and_change_nothing() {
    let app = TestApp::new().await;
    let ops = app.org("OPS", OrgKind::Overseer, "ha-noi");
    let admin = app.party(&ops, Role::Admin);
    let reply = app.get("/api/v1/audit?from=31/02/2026&action=peek&tracking_number=XX&organization=NOPE", Some(&admin.token)).await;
    let problem = reply.problem(422);
    let named: Vec<&str> = problem["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    for field in ["from", "action", "tracking_number", "organization"] {
        assert!(named.contains(&field), "{field} not named: {problem}");
    }
    app.get("/api/v1/audit?from=2026-07-02&to=2026-07-01", Some(&admin.token)).await.problem(422);
    app.get("/api/v1/audit?format=pdf", Some(&admin.token)).await.problem(422);
    app.get("/api/v1/audit?cursor=nonsense", Some(&admin.token)).await.problem(422);
}
