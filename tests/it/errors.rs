//! The framework's own failures speak problem+json too, and change nothing.

use serde_json::json;

use crate::items::item_json;
use crate::util::TestApp;
use exampost::domain::OrgKind;

#[actix_web::test]
async fn malformed_json_is_400() {
    let app = TestApp::new().await;
    let dept = app.new_party("SGD-PT", OrgKind::Education, "phu-tho");
    let auth = format!("Bearer {}", dept.token);
    let reply = app
        .raw("POST", "/api/v1/items", &[("authorization", &auth), ("content-type", "application/json")], b"{\"tracking_number\": ".to_vec())
        .await;
    assert!(reply.problem(400)["detail"].as_str().unwrap().contains("not valid JSON"));
    assert_eq!(app.count("items"), 0);
}

#[actix_web::test]
async fn wrong_content_type_is_415() {
    let app = TestApp::new().await;
    let dept = app.new_party("SGD-PT", OrgKind::Education, "phu-tho");
    let auth = format!("Bearer {}", dept.token);
    let body = item_json("RR000000015VN", "2026-THPT").to_string().into_bytes();
    let reply = app.raw("POST", "/api/v1/items", &[("authorization", &auth), ("content-type", "text/plain")], body).await;
    reply.problem(415);
    assert_eq!(app.count("items"), 0);
}

#[actix_web::test]
async fn oversized_body_is_413() {
    let app = TestApp::new().await;
    let dept = app.new_party("SGD-PT", OrgKind::Education, "phu-tho");
    let auth = format!("Bearer {}", dept.token);
    let huge = format!("{{\"items\": [\"{}\"]}}", "x".repeat(5 * 1024 * 1024));
    let reply = app
        .raw("POST", "/api/v1/items/batch", &[("authorization", &auth), ("content-type", "application/json")], huge.into_bytes())
        .await;
    reply.problem(413);
}

#[actix_web::test]
async fn unknown_route_is_404_and_wrong_method_is_405() {
    let app = TestApp::new().await;
    let missing = app.get("/api/v1/nothing-here", None).await;
    missing.problem(404);
    let wrong = app.raw("DELETE", "/api/v1/items/RR000000015VN", &[], vec![]).await;
    wrong.problem(405);
    assert_eq!(wrong.headers.get("allow").unwrap(), "GET");
    let put = app.raw("PUT", "/api/v1/items", &[], vec![]).await;
    put.problem(405);
    assert_eq!(put.headers.get("allow").unwrap(), "GET, POST");
}

#[actix_web::test]
async fn a_fixed_path_allows_only_its_own_methods() {
    // `/items/batch` also matches `/items/{tracking_number}`, but no S10 number
    // is "batch": the spec, and so the Allow header, has only POST there.
    let app = TestApp::new().await;
    for path in ["/api/v1/items/batch", "/api/v1/items/import"] {
        let reply = app.raw("OPTIONS", path, &[], vec![]).await;
        reply.problem(405);
        assert_eq!(reply.headers.get("allow").unwrap(), "POST", "{path}");
    }
    let by_number = app.raw("OPTIONS", "/api/v1/items/RR123456785VN", &[], vec![]).await;
    by_number.problem(405);
    assert_eq!(by_number.headers.get("allow").unwrap(), "GET");
}

#[actix_web::test]
async fn a_fixed_path_is_never_read_as_a_tracking_number() {
    // GET /items/batch used to reach the item lookup and answer 422 "not an S10 number".
    let app = TestApp::new().await;
    let dept = app.new_party("SGD-PT", OrgKind::Education, "phu-tho");
    let auth = format!("Bearer {}", dept.token);
    for path in ["/api/v1/items/batch", "/api/v1/items/import"] {
        let reply = app.raw("GET", path, &[("authorization", &auth)], vec![]).await;
        reply.problem(405);
        assert_eq!(reply.headers.get("allow").unwrap(), "POST", "{path}");
    }
    let by_number = app.raw("GET", "/api/v1/items/RR123456785VN", &[("authorization", &auth)], vec![]).await;
    by_number.problem(404);
}

#[actix_web::test]
async fn unknown_query_parameters_and_bad_paging_are_refused() {
    let app = TestApp::new().await;
    let dept = app.new_party("SGD-PT", OrgKind::Education, "phu-tho");
    let typo = app.get("/api/v1/items?staus=delivered", Some(&dept.token)).await;
    assert!(typo.problem(400)["detail"].as_str().unwrap().contains("staus"));
    let zero = app.get("/api/v1/items?limit=0", Some(&dept.token)).await;
    assert_eq!(zero.problem(422)["errors"][0]["field"], "limit");
    let too_many = app.get("/api/v1/items?limit=501", Some(&dept.token)).await;
    too_many.problem(422);
    let cursor = app.get("/api/v1/items?cursor=%%%", Some(&dept.token)).await;
    assert!(cursor.status == 400 || cursor.status == 422, "{}", cursor.text);
    let forged = app.get("/api/v1/items?cursor=bm90LWEtbnVtYmVy", Some(&dept.token)).await;
    assert_eq!(forged.problem(422)["errors"][0]["field"], "cursor");
}

#[actix_web::test]
async fn unknown_fields_in_a_body_are_named() {
    let app = TestApp::new().await;
    let dept = app.new_party("SGD-PT", OrgKind::Education, "phu-tho");
    let mut item = item_json("RR000000015VN", "2026-THPT");
    item["priorty"] = json!("urgent");
    let reply = app.post("/api/v1/items", Some(&dept.token), &item).await;
    assert!(reply.problem(422)["errors"][0]["reason"].as_str().unwrap().contains("priorty"));
}
