//! The spec says what the server really answers: the shared machinery's
//! refusals (no token, malformed body, wrong content type) come back with a
//! status each operation documents, on the real server. `.ci/schemathesis`
//! explores the rest of the contract.

use serde_json::Value;

use crate::util::TestApp;
use exampost::domain::{OrgKind, Role};

struct Operation {
    method: String,
    path: String,
    documented: Vec<String>,
    secured: bool,
    body_type: Option<String>,
}

/// Every operation of the spec, with a path whose parameters are filled in.
fn operations() -> Vec<Operation> {
    let spec: Value = serde_json::to_value(exampost::api::openapi()).unwrap();
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            operations.push(Operation {
                method: method.to_uppercase(),
                path: path
                    .replace("{tracking_number}", "RR123456785VN")
                    .replace("{priority}", "urgent")
                    .replace("{id}", "01a23000-0000-7000-8000-000000000000"),
                documented: responses.keys().cloned().collect(),
                secured: operation["security"].as_array().is_some_and(|s| !s.is_empty()),
                body_type: operation["requestBody"]["content"].as_object().and_then(|c| c.keys().next().cloned()),
            });
        }
    }
    assert!(operations.len() > 30, "{} operations", operations.len());
    operations
}

fn assert_documented(operation: &Operation, status: u16, case: &str) {
    assert!(
        operation.documented.contains(&status.to_string()),
        "{} {} answers {status} to {case}, but documents only {:?}",
        operation.method,
        operation.path,
        operation.documented
    );
}

#[actix_web::test]
async fn every_refusal_of_the_shared_machinery_is_documented() {
    let app = TestApp::new().await;
    let org = app.org("EXAMPOST", OrgKind::Overseer, "ha-noi");
    let admin = app.party(&org, Role::Admin);
    let bearer = format!("Bearer {}", admin.token);
    for operation in operations() {
        if operation.secured {
            let reply = app.raw(&operation.method, &operation.path, &[], vec![]).await;
            assert_eq!(reply.status, 401, "{} {} without a token", operation.method, operation.path);
            assert_documented(&operation, reply.status, "no token");
        }
        let Some(body_type) = &operation.body_type else { continue };
        let wrong_type = app
            .raw(&operation.method, &operation.path, &[("authorization", &bearer), ("content-type", "application/xml")], b"<a/>".to_vec())
            .await;
        assert_eq!(wrong_type.status, 415, "{} {} with an XML body", operation.method, operation.path);
        assert_documented(&operation, wrong_type.status, "a body of the wrong type");
        if body_type == "application/json" {
            let malformed = app
                .raw(&operation.method, &operation.path, &[("authorization", &bearer), ("content-type", body_type)], b"{\"a\": ".to_vec())
                .await;
            assert_eq!(malformed.status, 400, "{} {} with broken JSON", operation.method, operation.path);
            assert_documented(&operation, malformed.status, "malformed JSON");
        }
    }
}

#[test]
fn tracking_numbers_seasons_and_contacts_carry_their_formats() {
    let spec: Value = serde_json::to_value(exampost::api::openapi()).unwrap();
    let schemas = &spec["components"]["schemas"];
    let item = &schemas["NewItemRequest"]["properties"];
    assert_eq!(item["tracking_number"]["format"], "s10");
    assert_pattern(&item["tracking_number"], &["RR123456785VN", "EE473124829VN"], &["RR12345678VN", "XX123456785VN", "rr123456785vn"]);
    assert_pattern(&item["season"], &["2026-THPT", "2026-TS10"], &["202é-THPT", "26-THPT", "2026THPT"]);
    assert_pattern(&item["carrier_org"], &["VNPOST", "SGD-PT"], &["V", "VN POST"]);
    let candidate = &schemas["CandidateInput"]["properties"];
    assert_eq!(candidate["date_of_birth"]["format"], "date");
    assert_eq!(candidate["email"]["format"], "email");
    assert_pattern(&candidate["phone"], &["0912345678", "+84912345678"], &["912345678", "09123456789012"]);
    let lookup = &spec["paths"]["/api/v1/items/{tracking_number}"]["get"]["parameters"];
    let number = lookup.as_array().unwrap().iter().find(|p| p["name"] == "tracking_number").unwrap();
    assert_eq!(number["schema"]["format"], "s10");
    // A candidate recipient is satisfiable: its tag is one of its own fields.
    let recipient = &schemas["RecipientInput"]["oneOf"][0];
    assert_eq!(recipient["additionalProperties"], false);
    assert!(recipient["properties"]["type"].is_object() && recipient["properties"]["candidate_number"].is_object());
}

fn assert_pattern(schema: &Value, valid: &[&str], invalid: &[&str]) {
    let pattern = regex::Regex::new(schema["pattern"].as_str().expect("a pattern")).unwrap();
    for sample in valid {
        assert!(pattern.is_match(sample), "{pattern} refuses {sample}");
    }
    for sample in invalid {
        assert!(!pattern.is_match(sample), "{pattern} takes {sample}");
    }
}

#[actix_web::test]
async fn exports_answer_a_documented_content_type() {
    // `format=csv` (and `html` for the steering report) answered a content type the spec did not list.
    let app = TestApp::new().await;
    let org = app.org("EXAMPOST", OrgKind::Overseer, "ha-noi");
    let admin = app.party(&org, Role::Admin);
    let spec: Value = serde_json::to_value(exampost::api::openapi()).unwrap();
    for (path, format) in [
        ("/api/v1/items", "format=csv"),
        ("/api/v1/cases", "format=csv"),
        ("/api/v1/reports/steering", "format=csv&season=2026-THPT&province=phu-tho"),
        ("/api/v1/reports/steering", "format=html&season=2026-THPT&province=phu-tho"),
    ] {
        let reply = app.get(&format!("{path}?{format}"), Some(&admin.token)).await;
        assert_eq!(reply.status, 200, "{path}?format={format}: {}", reply.text);
        let media_type = reply.content_type().split(';').next().unwrap().trim().to_string();
        let documented = &spec["paths"][path]["get"]["responses"]["200"]["content"];
        assert!(documented[&media_type].is_object(), "{path}?format={format} answers {media_type}, documented: {documented}");
    }
}
