//! Client management: listing, revocation and secret rotation, over the API
//! and the CLI, and how fast every replica notices.

use chrono::Duration;
use serde_json::{json, Value};

use crate::cli::{exampost, json_out};
use crate::util::{Reply, TestApp};
use exampost::domain::{OrgKind, Role};

/// An admin token, and two carriers' organizations.
fn admin_and_carriers(app: &TestApp) -> String {
    let ops = app.org("EXAMPOST", OrgKind::Overseer, "ha-noi");
    app.org("VNPOST", OrgKind::Carrier, "ha-noi");
    app.org("VTP", OrgKind::Carrier, "ho-chi-minh");
    app.party(&ops, Role::Admin).token
}

async fn create_client(app: &TestApp, admin: &str, org: &str, name: &str) -> Value {
    let created = app.post("/api/v1/clients", Some(admin), &json!({"organization": org, "name": name, "role": "carrier"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body
}

async fn token_for(app: &TestApp, id: &Value, secret: &Value) -> Reply {
    app.post("/api/v1/auth/token", None, &json!({"client_id": id, "client_secret": secret})).await
}

async fn bearer(app: &TestApp, client: &Value) -> String {
    let reply = token_for(app, &client["client_id"], &client["client_secret"]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["access_token"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn admin_lists_clients_page_by_page_without_secrets() {
    let app = TestApp::new().await;
    let admin = admin_and_carriers(&app);
    let mut vnpost_ids = Vec::new();
    for n in 0..3 {
        vnpost_ids.push(create_client(&app, &admin, "VNPOST", &format!("scanner {n}")).await["client_id"].as_str().unwrap().to_string());
    }
    create_client(&app, &admin, "VTP", "vtp system").await;

    let mut seen = Vec::new();
    let mut path = "/api/v1/clients?organization=vnpost&limit=2".to_string();
    loop {
        let page = app.get(&path, Some(&admin)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(!page.text.contains("argon2") && !page.text.contains("secret"), "no hashes or secrets: {}", page.text);
        for client in page.body["items"].as_array().unwrap() {
            assert_eq!(client["organization_code"], "VNPOST");
            assert_eq!(client["role"], "carrier");
            assert!(client["revoked_at"].is_null());
            seen.push(client["id"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/clients?organization=VNPOST&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    seen.sort();
    vnpost_ids.sort();
    assert_eq!(seen, vnpost_ids);
    let all = app.get("/api/v1/clients", Some(&admin)).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 5, "four carriers' clients and the admin's own");

    let unknown = app.get("/api/v1/clients?organization=NOPE", Some(&admin)).await;
    assert_eq!(unknown.problem(422).clone()["errors"][0]["field"], "organization");
    app.get("/api/v1/clients?limit=0", Some(&admin)).await.problem(422);
    let carrier = app.new_party("GHN", OrgKind::Carrier, "ha-noi");
    app.get("/api/v1/clients", Some(&carrier.token)).await.problem(403);
    app.get("/api/v1/clients", None).await.problem(401);
}

#[actix_web::test]
async fn a_revoked_clients_tokens_stop_working_on_every_replica() {
    let first = TestApp::new().await;
    let second = first.replica().await;
    let admin = admin_and_carriers(&first);
    let client = create_client(&first, &admin, "VNPOST", "scanners").await;
    let id = client["client_id"].as_str().unwrap();
    let token = bearer(&first, &client).await;
    assert_eq!(second.get("/api/v1/items", Some(&token)).await.status, 200, "the replica accepts the token");

    let revoked = first.post(&format!("/api/v1/clients/{id}/revoke"), Some(&admin), &json!({})).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert!(revoked.body["revoked_at"].is_string());
    first.get("/api/v1/items", Some(&token)).await.problem(401);
    token_for(&first, &client["client_id"], &client["client_secret"]).await.problem(401);

    // The replica trusts what it read for at most the cache lifetime.
    second.clock.advance(Duration::seconds(5));
    let refused = second.get("/api/v1/items", Some(&token)).await;
    assert!(refused.problem(401)["detail"].as_str().unwrap().contains("revoked"), "{}", refused.text);

    let again = first.post(&format!("/api/v1/clients/{id}/revoke"), Some(&admin), &json!({})).await;
    assert_eq!((again.status, &again.body["revoked_at"]), (200, &revoked.body["revoked_at"]), "revoking twice changes nothing");
    first.post(&format!("/api/v1/clients/{id}/rotate-secret"), Some(&admin), &json!({})).await.problem(409);
    first.post("/api/v1/clients/no-such-client/revoke", Some(&admin), &json!({})).await.problem(404);
    let carrier = first.new_party("GHN", OrgKind::Carrier, "ha-noi");
    first.post(&format!("/api/v1/clients/{id}/revoke"), Some(&carrier.token), &json!({})).await.problem(403);
    first.post(&format!("/api/v1/clients/{id}/revoke"), None, &json!({})).await.problem(401);
}

#[actix_web::test]
async fn rotating_a_secret_ends_the_old_secret_and_every_older_token() {
    let first = TestApp::new().await;
    let second = first.replica().await;
    let admin = admin_and_carriers(&first);
    let client = create_client(&first, &admin, "VNPOST", "scanners").await;
    let id = client["client_id"].as_str().unwrap();
    let old_token = bearer(&first, &client).await;
    assert_eq!(second.get("/api/v1/items", Some(&old_token)).await.status, 200);

    let rotated = first.post(&format!("/api/v1/clients/{id}/rotate-secret"), Some(&admin), &json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(rotated.body["client_id"], client["client_id"]);
    let new_secret = &rotated.body["client_secret"];
    assert!(new_secret.as_str().unwrap().starts_with("eps_") && *new_secret != client["client_secret"]);

    token_for(&first, &client["client_id"], &client["client_secret"]).await.problem(401);
    first.get("/api/v1/items", Some(&old_token)).await.problem(401);
    second.clock.advance(Duration::seconds(5));
    second.get("/api/v1/items", Some(&old_token)).await.problem(401);

    let renewed = token_for(&first, &client["client_id"], new_secret).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let new_token = renewed.body["access_token"].as_str().unwrap();
    assert_eq!(first.get("/api/v1/items", Some(new_token)).await.status, 200);
    assert_eq!(second.get("/api/v1/items", Some(new_token)).await.status, 200, "the replica learns the new generation");
    first.post("/api/v1/clients/no-such-client/rotate-secret", Some(&admin), &json!({})).await.problem(404);
}

#[actix_web::test]
async fn a_deleted_clients_tokens_stop_working() {
    use diesel::RunQueryDsl;
    let app = TestApp::new().await;
    let admin = admin_and_carriers(&app);
    let client = create_client(&app, &admin, "VNPOST", "scanners").await;
    let token = bearer(&app, &client).await;
    assert_eq!(app.get("/api/v1/items", Some(&token)).await.status, 200);
    diesel::sql_query(format!("DELETE FROM api_clients WHERE id = '{}'", client["client_id"].as_str().unwrap()))
        .execute(&mut **app.conn())
        .unwrap();
    app.clock.advance(Duration::seconds(5));
    app.get("/api/v1/items", Some(&token)).await.problem(401);
}

#[actix_web::test]
async fn the_cli_lists_revokes_and_rotates_clients() {
    let app = TestApp::new().await;
    let admin = admin_and_carriers(&app);
    let client = create_client(&app, &admin, "VNPOST", "scanners").await;
    let other = create_client(&app, &admin, "VTP", "vtp system").await;
    let id = client["client_id"].as_str().unwrap();
    let url = app.db.url();

    let listed = json_out(&exampost(url, &["client", "list", "--org", "VNPOST"]));
    let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![id]);
    assert!(!listed.to_string().contains("argon2"));

    let rotated = json_out(&exampost(url, &["client", "rotate", id]));
    token_for(&app, &client["client_id"], &client["client_secret"]).await.problem(401);
    assert_eq!(token_for(&app, &client["client_id"], &rotated["client_secret"]).await.status, 200);

    let revoked = json_out(&exampost(url, &["client", "revoke", id]));
    assert!(revoked["revoked_at"].is_string());
    token_for(&app, &client["client_id"], &rotated["client_secret"]).await.problem(401);
    assert_eq!(token_for(&app, &other["client_id"], &other["client_secret"]).await.status, 200, "only that client");

    let unknown = exampost(url, &["client", "revoke", "no-such-client"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no client"), "{}", String::from_utf8_lossy(&unknown.stderr));
}
