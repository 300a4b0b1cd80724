//! People who sign in: users created by admins and organizations' user
//! managers, e-mail and password sign-in for the same tokens, password
//! changes that end older tokens, problems in Vietnamese, and the console page.

use serde_json::{json, Value};

use crate::events::register;
use crate::items::{department_and_carrier, s10};
use crate::util::{Reply, TestApp};
use exampost::domain::{OrgKind, Role};

fn admin(app: &TestApp) -> String {
    let ops = app.org("EXAMPOST", OrgKind::Overseer, "ha-noi");
    app.party(&ops, Role::Admin).token
}

async fn create_user(app: &TestApp, token: &str, body: Value) -> Reply {
    app.post("/api/v1/users", Some(token), &body).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> Reply {
    app.post("/api/v1/auth/login", None, &json!({"email": email, "password": password})).await
}

async fn signed_in(app: &TestApp, email: &str, password: &str) -> String {
    let reply = login(app, email, password).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.headers.get("cache-control").unwrap(), "no-store");
    reply.body["access_token"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn a_clerk_signs_in_and_works_in_her_organizations_scope() {
    let app = TestApp::new().await;
    let admin = admin(&app);
    let (dept, _carrier) = department_and_carrier(&app);
    let other = app.new_party("SGD-HN", OrgKind::Education, "ha-noi");
    register(&app, &dept, &s10(1001)).await;
    register(&app, &other, &s10(1002)).await;

    let created = create_user(&app, &admin, json!({"organization": "SGD-PT", "email": "Van.Thu@SGD-PT.edu.vn", "name": "Nguyễn Thị Lan", "role": "education"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["email"], "van.thu@sgd-pt.edu.vn", "e-mails are kept lower-cased");
    let password = created.body["password"].as_str().expect("a generated first password, shown once").to_string();
    assert_eq!(password.chars().count(), 14);

    // Any capitalisation of the address signs in.
    let token = signed_in(&app, "VAN.THU@sgd-pt.edu.vn", &password).await;
    let me = app.get("/api/v1/auth/me", Some(&token)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["role"], "education");
    assert_eq!(me.body["user"]["organization_code"], "SGD-PT");
    assert_eq!(me.body["user"]["name"], "Nguyễn Thị Lan");
    assert!(me.body["user"].get("password").is_none() && !me.text.contains(&password));

    // The user's token has the organization's scope: its own item, not the other's.
    let list = app.get("/api/v1/items", Some(&token)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let numbers: Vec<&str> = list.body["items"].as_array().unwrap().iter().map(|i| i["tracking_number"].as_str().unwrap()).collect();
    assert_eq!(numbers, vec![s10(1001).as_str()]);
    assert_eq!(app.get(&format!("/api/v1/items/{}", s10(1002)), Some(&token)).await.status, 404);

    // An API client is not a person: /auth/me says so.
    let me = app.get("/api/v1/auth/me", Some(&dept.token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["user"], Value::Null);
}

#[actix_web::test]
async fn wrong_passwords_and_unknown_addresses_get_one_answer_then_a_wait() {
    let app = TestApp::new().await;
    let admin = admin(&app);
    app.org("SGD-PT", OrgKind::Education, "phu-tho");
    let created = create_user(&app, &admin, json!({"organization": "SGD-PT", "email": "clerk@sgd-pt.edu.vn", "name": "Clerk", "role": "education", "password": "một mật khẩu dài"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(created.body.get("password").is_none(), "a chosen password is not echoed");

    let wrong = login(&app, "clerk@sgd-pt.edu.vn", "not the password").await;
    let unknown = login(&app, "nobody@sgd-pt.edu.vn", "not the password").await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
    assert_eq!(wrong.body["title"], unknown.body["title"]);

    // The user cannot use the client-credentials grant: its client has no secret.
    let user_client = created.body["client_id"].as_str().unwrap();
    let grant = app.post("/api/v1/auth/token", None, &json!({"client_id": user_client, "client_secret": "!user"})).await;
    assert_eq!(grant.status, 401, "{}", grant.text);

    for _ in 0..9 {
        assert_eq!(login(&app, "clerk@sgd-pt.edu.vn", "still wrong").await.status, 401);
    }
    let locked = login(&app, "clerk@sgd-pt.edu.vn", "một mật khẩu dài").await;
    assert_eq!(locked.status, 429, "ten failures lock the address out, even with the right password: {}", locked.text);
    assert!(locked.headers.get("retry-after").is_some());
    // Another person is not locked out by them.
    assert_eq!(login(&app, "other@sgd-pt.edu.vn", "whatever it is").await.status, 401);
}

#[actix_web::test]
async fn user_managers_create_users_of_their_own_organization_only() {
    let app = TestApp::new().await;
    let admin = admin(&app);
    app.org("SGD-PT", OrgKind::Education, "phu-tho");
    app.org("VNPOST", OrgKind::Carrier, "ha-noi");
    let manager = create_user(&app, &admin, json!({"organization": "SGD-PT", "email": "lead@sgd-pt.edu.vn", "name": "Lead", "role": "education", "manages_users": true, "password": "lead password 2026"})).await;
    assert_eq!(manager.status, 201, "{}", manager.text);
    let plain = create_user(&app, &admin, json!({"organization": "SGD-PT", "email": "plain@sgd-pt.edu.vn", "name": "Plain", "role": "education", "password": "plain password 2026"})).await;
    assert_eq!(plain.status, 201);
    let lead = signed_in(&app, "lead@sgd-pt.edu.vn", "lead password 2026").await;
    let plain = signed_in(&app, "plain@sgd-pt.edu.vn", "plain password 2026").await;

    let own = create_user(&app, &lead, json!({"email": "new@sgd-pt.edu.vn", "name": "New clerk", "role": "education"})).await;
    assert_eq!(own.status, 201, "{}", own.text);
    assert_eq!(own.body["organization_code"], "SGD-PT");
    assert_eq!(own.body["manages_users"], false);

    let cases = [
        (json!({"organization": "VNPOST", "email": "x@vnpost.vn", "name": "X", "role": "carrier"}), 403),
        (json!({"email": "boss@sgd-pt.edu.vn", "name": "Boss", "role": "admin"}), 403),
        (json!({"email": "new@SGD-PT.edu.vn", "name": "Again", "role": "education"}), 409),
        (json!({"email": "short@sgd-pt.edu.vn", "name": "Short", "role": "education", "password": "ngắn"}), 422),
        (json!({"email": "not an address", "name": "", "role": "education"}), 422),
    ];
    for (body, status) in cases {
        let reply = create_user(&app, &lead, body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
    }
    let both = create_user(&app, &lead, json!({"email": "not an address", "name": " ", "role": "education"})).await;
    let mut fields = both.error_fields();
    fields.sort();
    assert_eq!(fields, ["email", "name"], "every bad field is named at once");
    // A carrier role does not fit an education organization, even for admins.
    let misfit = create_user(&app, &admin, json!({"organization": "SGD-PT", "email": "c@sgd-pt.edu.vn", "name": "C", "role": "carrier"})).await;
    assert_eq!(misfit.status, 422);
    assert_eq!(misfit.error_fields(), ["role"]);

    assert_eq!(create_user(&app, &plain, json!({"email": "y@sgd-pt.edu.vn", "name": "Y", "role": "education"})).await.status, 403);
    assert_eq!(app.get("/api/v1/users", Some(&plain)).await.status, 403);
    let listed = app.get("/api/v1/users", Some(&lead)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let emails: Vec<&str> = listed.body.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["lead@sgd-pt.edu.vn", "new@sgd-pt.edu.vn", "plain@sgd-pt.edu.vn"]);
    assert!(!listed.text.contains("password"), "no password or hash is ever listed: {}", listed.text);
    assert_eq!(app.count("users"), 3, "refused requests created nothing");
}

#[actix_web::test]
async fn a_new_password_ends_earlier_tokens_and_revocation_ends_sign_in() {
    let app = TestApp::new().await;
    let admin = admin(&app);
    app.org("VNPOST", OrgKind::Carrier, "ha-noi");
    let created = create_user(&app, &admin, json!({"organization": "VNPOST", "email": "sup@vnpost.vn", "name": "Supervisor", "role": "carrier", "password": "first password"})).await;
    assert_eq!(created.status, 201);
    let old = signed_in(&app, "sup@vnpost.vn", "first password").await;

    let wrong = app.post("/api/v1/auth/password", Some(&old), &json!({"current_password": "not it at all", "new_password": "second password"})).await;
    assert_eq!(wrong.status, 422, "{}", wrong.text);
    assert_eq!(wrong.error_fields(), ["current_password"]);
    let short = app.post("/api/v1/auth/password", Some(&old), &json!({"current_password": "first password", "new_password": "short"})).await;
    assert_eq!(short.status, 422);
    assert_eq!(short.error_fields(), ["new_password"]);
    assert_eq!(app.get("/api/v1/auth/me", Some(&old)).await.status, 200, "refused changes change nothing");

    let changed = app.post("/api/v1/auth/password", Some(&old), &json!({"current_password": "first password", "new_password": "second password"})).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let fresh = changed.body["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/auth/me", Some(&old)).await.status, 401, "the token from before the change no longer works");
    assert_eq!(app.get("/api/v1/auth/me", Some(fresh)).await.status, 200);
    assert_eq!(login(&app, "sup@vnpost.vn", "first password").await.status, 401);
    signed_in(&app, "sup@vnpost.vn", "second password").await;

    // An API client has no password to change.
    let client = app.new_party("VTP", OrgKind::Carrier, "ha-noi");
    let refused = app.post("/api/v1/auth/password", Some(&client.token), &json!({"current_password": "x", "new_password": "long enough now"})).await;
    assert_eq!(refused.status, 403, "{}", refused.text);

    let client_id = created.body["client_id"].as_str().unwrap();
    assert_eq!(app.post(&format!("/api/v1/clients/{client_id}/revoke"), Some(&admin), &json!({})).await.status, 200);
    assert_eq!(login(&app, "sup@vnpost.vn", "second password").await.status, 401, "a revoked user cannot sign in");
}

#[actix_web::test]
async fn problems_come_in_vietnamese_when_asked_and_name_the_fields() {
    let app = TestApp::new().await;
    let admin = admin(&app);
    let headers = [("content-type", "application/json"), ("accept-language", "vi-VN,vi;q=0.9,en;q=0.5"), ("authorization", &format!("Bearer {admin}"))];
    let body = json!({"organization": "NOWHERE", "email": "bad", "name": "X", "role": "education", "password": "short"});
    let reply = app.raw("POST", "/api/v1/users", &headers, body.to_string().into_bytes()).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(reply.body["title"], "Dữ liệu chưa hợp lệ");
    assert_eq!(reply.headers.get("content-language").unwrap(), "vi");
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(fields, ["email", "password"], "field names stay the API's");
    let reasons: Vec<&str> = reply.body["errors"].as_array().unwrap().iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert!(reasons.contains(&"tối thiểu 10 ký tự"), "{reasons:?}");

    let unauthorized = app.raw("GET", "/api/v1/users", &[("accept-language", "vi")], vec![]).await;
    assert_eq!(unauthorized.status, 401);
    assert_eq!(unauthorized.body["detail"], "hãy đăng nhập");
    // Without the header, English as before.
    let english = app.raw("GET", "/api/v1/users", &[], vec![]).await;
    assert_eq!(english.body["title"], "Missing or invalid credentials");
}

#[actix_web::test]
async fn the_console_is_one_page_served_with_nothing_from_elsewhere() {
    let app = TestApp::new().await;
    for path in ["/console", "/console/"] {
        let page = app.get(path, None).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.content_type().starts_with("text/html"));
        let csp = page.headers.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(page.text.contains("<html lang=\"vi\">"));
        for external in ["src=\"http", "href=\"http", "url(http", "import("] {
            assert!(!page.text.contains(external), "the console loads nothing from elsewhere ({external})");
        }
    }
}

#[actix_web::test]
async fn an_operator_creates_the_first_user_from_the_command_line() {
    use crate::cli::{exampost, json_out};
    let db = crate::util::TestDb::new();
    json_out(&exampost(db.url(), &["org", "create", "--code", "SGD-PT", "--name", "Sở GD&ĐT Phú Thọ", "--kind", "education", "--province", "phu-tho"]));
    let created = json_out(&exampost(db.url(), &["user", "create", "--org", "sgd-pt", "--email", "Lead@SGD-PT.edu.vn", "--role", "education", "--name", "Lead", "--manages-users"]));
    let password = created["password"].as_str().expect("a generated password, printed once").to_string();
    assert_eq!(created["email"], "lead@sgd-pt.edu.vn");
    let refused = exampost(db.url(), &["user", "create", "--org", "SGD-PT", "--email", "lead@sgd-pt.edu.vn", "--role", "education", "--name", "Again"]);
    assert!(!refused.status.success(), "the same e-mail twice is refused");
    let listed = json_out(&exampost(db.url(), &["user", "list", "--org", "SGD-PT"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["manages_users"], true);
    assert!(!listed.to_string().contains(&password));

    // The printed password signs in on a server over the same database.
    let app = TestApp::with_db(crate::util::TestDb::Shared { url: db.url().to_string() }).await;
    let token = signed_in(&app, "lead@sgd-pt.edu.vn", &password).await;
    assert_eq!(app.get("/api/v1/users", Some(&token)).await.status, 200);
}
