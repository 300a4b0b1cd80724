use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::util::{TestApp, TEST_SECRET};
use exampost::auth::Claims;
use exampost::domain::{OrgKind, Role};

#[actix_web::test]
async fn token_from_client_credentials_opens_the_api() {
    let app = TestApp::new().await;
    app.org("VNPOST", OrgKind::Carrier, "ha-noi");
    let (client, secret) = exampost::admin::create_client(&mut app.conn(), "vnpost", "scanners", Role::Carrier).unwrap();
    let reply = app.post("/api/v1/auth/token", None, &json!({"client_id": client.id, "client_secret": secret})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 900);
    let token = reply.body["access_token"].as_str().unwrap();
    let items = app.get("/api/v1/items", Some(token)).await;
    assert_eq!(items.status, 200, "{}", items.text);
}

#[actix_web::test]
async fn wrong_secret_unknown_client_and_missing_fields_are_refused() {
    let app = TestApp::new().await;
    app.org("VNPOST", OrgKind::Carrier, "ha-noi");
    let (client, _) = exampost::admin::create_client(&mut app.conn(), "VNPOST", "scanners", Role::Carrier).unwrap();
    let wrong = app.post("/api/v1/auth/token", None, &json!({"client_id": client.id, "client_secret": "eps_wrong"})).await;
    wrong.problem(401);
    assert_eq!(wrong.headers.get("www-authenticate").unwrap(), "Bearer");
    let unknown = app.post("/api/v1/auth/token", None, &json!({"client_id": "nobody", "client_secret": "x"})).await;
    unknown.problem(401);
    assert_eq!(wrong.body["detail"], unknown.body["detail"], "the two failures must look alike");
    let missing = app.post("/api/v1/auth/token", None, &json!({"client_id": client.id})).await;
    missing.problem(422);
    assert_eq!(missing.error_fields(), vec!["client_secret"]);
}

fn claims(app: &TestApp, role: Role) -> Claims {
    let org = app.org("SGD-PT", OrgKind::Education, "phu-tho");
    let party = app.party(&org, role);
    app.state.tokens.verify(&party.token).unwrap()
}

fn sign(claims: &Claims, alg: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[actix_web::test]
async fn every_bad_token_is_401() {
    let app = TestApp::new().await;
    let good = claims(&app, Role::Education);
    let now = chrono::Utc::now().timestamp();
    let b64 = |v: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let alg_none = format!("{}.{}.", b64(json!({"alg": "none", "typ": "JWT"})), b64(serde_json::to_value(&good).unwrap()));
    let cases = vec![
        ("no header", None),
        ("not bearer", Some("Basic dXNlcjpwYXNz".to_string())),
        ("garbage", Some("Bearer not-a-jwt".to_string())),
        ("alg none", Some(format!("Bearer {alg_none}"))),
        ("HS384", Some(format!("Bearer {}", sign(&good, Algorithm::HS384, TEST_SECRET)))),
        ("bad signature", Some(format!("Bearer {}", sign(&good, Algorithm::HS256, b"another-secret-another-secret-xx")))),
        ("expired", Some(format!("Bearer {}", sign(&Claims { exp: now - 60, ..good.clone() }, Algorithm::HS256, TEST_SECRET)))),
        ("not yet valid", Some(format!("Bearer {}", sign(&Claims { nbf: now + 600, ..good.clone() }, Algorithm::HS256, TEST_SECRET)))),
        ("wrong issuer", Some(format!("Bearer {}", sign(&Claims { iss: "evil".into(), ..good.clone() }, Algorithm::HS256, TEST_SECRET)))),
    ];
    for (name, header) in cases {
        let headers: Vec<(&str, &str)> = header.iter().map(|h| ("authorization", h.as_str())).collect();
        let reply = app.raw("GET", "/api/v1/items", &headers, vec![]).await;
        assert_eq!(reply.status, 401, "{name}: {}", reply.text);
        reply.problem(401);
    }
    let valid = sign(&good, Algorithm::HS256, TEST_SECRET);
    assert_eq!(app.get("/api/v1/items", Some(&valid)).await.status, 200);
}

#[actix_web::test]
async fn roles_are_enforced_with_403() {
    let app = TestApp::new().await;
    let carrier = app.new_party("VNPOST", OrgKind::Carrier, "ha-noi");
    let overseer = app.new_party("DIC-PT", OrgKind::Overseer, "phu-tho");
    let org = json!({"code": "NEW", "name": "New", "kind": "education", "province": "ha-noi"});
    app.post("/api/v1/organizations", Some(&carrier.token), &org).await.problem(403);
    let client = json!({"organization": "VNPOST", "name": "x", "role": "carrier"});
    app.post("/api/v1/clients", Some(&carrier.token), &client).await.problem(403);
    app.post("/api/v1/items", Some(&overseer.token), &crate::items::item_json("RR000000015VN", "2026-THPT")).await.problem(403);
    assert_eq!(app.count("organizations"), 2);
}

#[actix_web::test]
async fn admin_creates_organizations_and_clients_over_the_api() {
    let app = TestApp::new().await;
    let ops = app.org("EXAMPOST", OrgKind::Overseer, "ha-noi");
    let admin = app.party(&ops, Role::Admin);
    let created = app
        .post("/api/v1/organizations", Some(&admin.token), &json!({"code": "vtp", "name": "Viettel Post", "kind": "carrier", "province": "TP. Hồ Chí Minh"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!((created.body["code"].as_str(), created.body["province"].as_str()), (Some("VTP"), Some("ho-chi-minh")));
    let again = app.post("/api/v1/organizations", Some(&admin.token), &json!({"code": "VTP", "name": "x", "kind": "carrier", "province": "ha-noi"})).await;
    assert_eq!(again.problem(409)["existing_id"], created.body["id"]);
    let bad = app.post("/api/v1/organizations", Some(&admin.token), &json!({"code": "x", "name": " ", "kind": "bank", "province": "Atlantis"})).await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "kind");

    let mismatched = app.post("/api/v1/clients", Some(&admin.token), &json!({"organization": "VTP", "name": "x", "role": "education"})).await;
    assert_eq!(mismatched.problem(422)["errors"][0]["field"], "role");
    let client = app.post("/api/v1/clients", Some(&admin.token), &json!({"organization": "VTP", "name": "VTP system", "role": "carrier"})).await;
    assert_eq!(client.status, 201, "{}", client.text);
    let token = app
        .post("/api/v1/auth/token", None, &json!({"client_id": client.body["client_id"], "client_secret": client.body["client_secret"]}))
        .await;
    assert_eq!(token.status, 200, "{}", token.text);

    let listed = app.get("/api/v1/organizations?kind=carrier", Some(token.body["access_token"].as_str().unwrap())).await;
    assert_eq!(listed.status, 200);
    let codes: Vec<&str> = listed.body["items"].as_array().unwrap().iter().map(|o| o["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["VTP"]);
    let one = app.get(&format!("/api/v1/organizations/{}", created.body["id"].as_str().unwrap()), Some(&admin.token)).await;
    assert_eq!(one.body["name"], "Viettel Post");
    app.get("/api/v1/organizations/nope", Some(&admin.token)).await.problem(404);
}
