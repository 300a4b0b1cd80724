use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::util::{TestApp, TEST_SECRET};
use exampost::auth::Claims;
use exampost::clock::Clock;
use exampost::domain::{OrgKind, Role};

#[actix_web::test]
async fn token_from_client_credentials_opens_the_api() {
    let app = TestApp::new().await;
    app.org("VNPOST", OrgKind::Carrier, "ha-noi");
    let (client, secret) = app.client("vnpost", "scanners", Role::Carrier);
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
    let (client, _) = app.client("VNPOST", "scanners", Role::Carrier);
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
    app.state.tokens.verify(&party.token, app.clock.now()).unwrap()
}

fn sign(claims: &Claims, alg: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[actix_web::test]
async fn every_bad_token_is_401() {
    let app = TestApp::new().await;
    let good = claims(&app, Role::Education);
    let now = app.clock.now().timestamp();
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

/// A form-encoded token request, as RFC 6749 §4.4 clients send it.
async fn form_token(app: &TestApp, headers: &[(&str, &str)], body: &str) -> crate::util::Reply {
    let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    app.raw("POST", "/api/v1/auth/token", &all, body.as_bytes().to_vec()).await
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&")
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", urlencode(id), urlencode(secret))))
}

#[actix_web::test]
async fn oauth_client_credentials_requests_get_a_token() {
    let app = TestApp::new().await;
    app.org("VNPOST", OrgKind::Carrier, "ha-noi");
    let (client, secret) = app.client("VNPOST", "scanners", Role::Carrier);

    let in_body = form_token(&app, &[], &form_encode(&[("grant_type", "client_credentials"), ("client_id", &client.id), ("client_secret", &secret)])).await;
    assert_eq!(in_body.status, 200, "{}", in_body.text);
    assert_eq!(in_body.body["token_type"], "Bearer");
    assert_eq!(in_body.headers.get("cache-control").unwrap(), "no-store");
    let token = in_body.body["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/items", Some(token)).await.status, 200);

    let authorization = basic(&client.id, &secret);
    let with_basic = form_token(&app, &[("authorization", &authorization)], "grant_type=client_credentials&scope=").await;
    assert_eq!(with_basic.status, 200, "{}", with_basic.text);

    let json_with_grant = app.post("/api/v1/auth/token", None, &json!({"grant_type": "client_credentials", "client_id": format!(" {}\n", client.id), "client_secret": secret})).await;
    assert_eq!(json_with_grant.status, 200, "{}", json_with_grant.text);

    let wrong = basic(&client.id, "eps_wrong");
    let refused = form_token(&app, &[("authorization", &wrong)], "grant_type=client_credentials").await;
    assert_eq!(refused.problem(401)["error"], "invalid_client");
    assert!(refused.headers.get("www-authenticate").unwrap().to_str().unwrap().starts_with("Basic"));

    let password_grant = form_token(&app, &[("authorization", &authorization)], "grant_type=password&username=a&password=b").await;
    assert_eq!(password_grant.problem(400)["error"], "unsupported_grant_type");
    assert_eq!(password_grant.error_fields(), vec!["grant_type"]);
    let no_grant = form_token(&app, &[], &form_encode(&[("client_id", &client.id), ("client_secret", &secret)])).await;
    assert_eq!(no_grant.problem(400)["error"], "invalid_request");
    assert_eq!(no_grant.error_fields(), vec!["grant_type"]);
    let json_password = app.post("/api/v1/auth/token", None, &json!({"grant_type": "password", "client_id": client.id, "client_secret": secret})).await;
    assert_eq!(json_password.problem(400).clone()["errors"][0]["field"], "grant_type");

    let both = form_token(&app, &[("authorization", &authorization)], &form_encode(&[("grant_type", "client_credentials"), ("client_id", &client.id), ("client_secret", &secret)])).await;
    assert_eq!(both.problem(400)["error"], "invalid_request", "RFC 6749 §2.3: one authentication method per request");
    let twice = form_token(&app, &[], &form_encode(&[("grant_type", "client_credentials"), ("grant_type", "client_credentials"), ("client_id", &client.id), ("client_secret", &secret)])).await;
    assert_eq!(twice.problem(400).clone()["errors"][0]["field"], "grant_type");
    let xml = app.raw("POST", "/api/v1/auth/token", &[("content-type", "text/xml")], b"<x/>".to_vec()).await;
    xml.problem(415);
}

/// The payload of a token, read without checking it.
fn payload(token: &str) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[actix_web::test]
async fn issued_tokens_follow_the_server_clock() {
    let app = TestApp::new().await;
    app.org("VNPOST", OrgKind::Carrier, "ha-noi");
    let (client, secret) = app.client("VNPOST", "scanners", Role::Carrier);
    app.clock.set(chrono::Utc::now() - chrono::Duration::minutes(3));
    let reply = app.post("/api/v1/auth/token", None, &json!({"client_id": client.id, "client_secret": secret})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let claims = payload(reply.body["access_token"].as_str().unwrap());
    assert_eq!(claims["iat"], app.clock.now().timestamp());
    assert_eq!(claims["exp"], app.clock.now().timestamp() + 900);
}

#[actix_web::test]
async fn a_token_expires_when_the_server_clock_passes_its_lifetime() {
    let app = TestApp::new().await;
    app.org("VNPOST", OrgKind::Carrier, "ha-noi");
    let (client, secret) = app.client("VNPOST", "scanners", Role::Carrier);
    let reply = app.post("/api/v1/auth/token", None, &json!({"client_id": client.id, "client_secret": secret})).await;
    let token = reply.body["access_token"].as_str().unwrap().to_string();
    // 900 s of lifetime and 5 s of leeway for other replicas' clocks.
    app.clock.advance(chrono::Duration::seconds(905));
    assert_eq!(app.get("/api/v1/items", Some(&token)).await.status, 200, "still within the leeway");
    app.clock.advance(chrono::Duration::seconds(1));
    let expired = app.get("/api/v1/items", Some(&token)).await;
    assert_eq!(expired.problem(401)["detail"], "the access token has expired; request a new one");
}

#[actix_web::test]
async fn wrong_secrets_for_one_client_are_limited_until_the_window_passes() {
    let app = TestApp::new().await;
    app.org("VNPOST", OrgKind::Carrier, "ha-noi");
    let (client, secret) = app.client("VNPOST", "scanners", Role::Carrier);
    let wrong = json!({"client_id": client.id, "client_secret": "eps_wrong"});
    for attempt in 1..=10 {
        let reply = app.post("/api/v1/auth/token", None, &wrong).await;
        assert_eq!(reply.status, 401, "attempt {attempt}: {}", reply.text);
    }
    let limited = app.post("/api/v1/auth/token", None, &json!({"client_id": client.id, "client_secret": secret})).await;
    limited.problem(429);
    let retry_after: i64 = limited.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "Retry-After {retry_after}");
    // Another client is not held back by the first one's failures.
    let (other, other_secret) = app.client("VNPOST", "second", Role::Carrier);
    let reply = app.post("/api/v1/auth/token", None, &json!({"client_id": other.id, "client_secret": other_secret})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    app.clock.advance(chrono::Duration::seconds(retry_after));
    let reply = app.post("/api/v1/auth/token", None, &json!({"client_id": client.id, "client_secret": secret})).await;
    assert_eq!(reply.status, 200, "after Retry-After: {}", reply.text);
}

#[actix_web::test]
async fn attempts_from_one_address_are_limited_per_minute() {
    let app = TestApp::new().await;
    for n in 1..=30 {
        let reply = app.post("/api/v1/auth/token", None, &json!({"client_id": format!("guess-{n}"), "client_secret": "x"})).await;
        assert_eq!(reply.status, 401, "attempt {n}: {}", reply.text);
    }
    let limited = app.post("/api/v1/auth/token", None, &json!({"client_id": "guess-31", "client_secret": "x"})).await;
    limited.problem(429);
    let retry_after: i64 = limited.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    app.clock.advance(chrono::Duration::seconds(retry_after));
    assert_eq!(app.post("/api/v1/auth/token", None, &json!({"client_id": "guess-32", "client_secret": "x"})).await.status, 401);
}

/// Peak resident memory of a process, from /proc (kB).
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[actix_web::test]
async fn a_thousand_wrong_attempts_keep_the_server_under_150_mb() {
    use futures_util::StreamExt;
    use std::process::{Command, Stdio};
    const JWT: &str = "memory-test-secret-memory-test-secret-xx";
    let db = crate::util::TestDb::new();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_exampost")).args(args).env("EXAMPOST_DATABASE_URL", db.url()).env("EXAMPOST_JWT_SECRET", JWT).env("EXAMPOST_LOG", "warn").output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    cli(&["org", "create", "--code", "VNPOST", "--name", "Vietnam Post", "--kind", "carrier", "--province", "ha-noi"]);
    let mut ids: Vec<String> = (0..3).map(|n| cli(&["client", "create", "--org", "VNPOST", "--role", "carrier", "--name", &format!("c{n}")])["client_id"].as_str().unwrap().to_string()).collect();
    ids.push("no-such-client".into());

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_exampost"))
        .arg("serve")
        .env("EXAMPOST_DATABASE_URL", db.url())
        .env("EXAMPOST_JWT_SECRET", JWT)
        .env("EXAMPOST_BIND", format!("127.0.0.1:{port}"))
        .env("EXAMPOST_WORKERS", "2")
        // Limits raised so that nearly every attempt reaches argon2: the bound must come from the verifier.
        .env("EXAMPOST_TOKEN_FAILURES_PER_CLIENT", "100000")
        .env("EXAMPOST_TOKEN_ATTEMPTS_PER_ADDRESS", "100000")
        .env("EXAMPOST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let http = awc::Client::builder().timeout(std::time::Duration::from_secs(300)).finish();
    let base = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    while http.get(format!("{base}/readyz")).send().await.map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "server did not become ready");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let statuses: Vec<u16> = futures_util::stream::iter(0..1000usize)
        .map(|n| {
            let (http, base, id) = (http.clone(), base.clone(), ids[n % ids.len()].clone());
            async move {
                let sent = http.post(format!("{base}/api/v1/auth/token")).send_json(&json!({"client_id": id, "client_secret": format!("eps_wrong_{n}")})).await;
                sent.map(|r| r.status().as_u16()).unwrap_or(0)
            }
        })
        .buffer_unordered(60)
        .collect()
        .await;
    let peak_mb = peak_rss_kb(server.id()) / 1024;
    server.kill().unwrap();
    server.wait().unwrap();
    let refused = statuses.iter().filter(|s| **s == 401).count();
    let shed = statuses.iter().filter(|s| **s == 503).count();
    eprintln!("1000 wrong attempts, 60 in flight: {refused} × 401, {shed} × 503, peak RSS {peak_mb} MB");
    assert_eq!(refused + shed, 1000, "only 401 or a quick 503: {statuses:?}");
    assert!(refused >= 900, "argon2 must really run for most attempts: {refused} × 401");
    assert!(peak_mb < 150, "peak RSS {peak_mb} MB");
}
