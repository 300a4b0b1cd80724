//! What a client must not be able to make the service do or tell: reach
//! internal addresses through webhooks, learn another organization's item
//! ids from a conflict, get pages framed, or get its secrets into the log.

use std::io::Read;
use std::net::TcpListener as StdListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use chrono::FixedOffset;
use diesel::RunQueryDsl;
use serde_json::{json, Value};

use crate::items::{department_and_carrier, item_json, s10};
use crate::notifications::start_receiver;
use crate::util::{loopback_webhooks, Party, TestApp, TestDb};
use exampost::clock::Clock;
use exampost::domain::OrgKind;
use exampost::notify::dispatch::Dispatcher;
use exampost::notify::egress::WebhookPolicy;

fn dispatcher(policy: WebhookPolicy) -> Dispatcher {
    Dispatcher::new(None, "ExamPost <no-reply@exampost.example>").unwrap().with_webhook_policy(policy)
}

async fn accepted_scan(app: &TestApp, dept: &Party, carrier: &Party, serial: u32) -> String {
    let number = s10(serial);
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &item_json(&number, "2026-THPT")).await.status, 201);
    let at = app.clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()).to_rfc3339();
    let scan = json!({"client_event_id": format!("a-{serial}"), "type": "accepted", "occurred_at": at, "office_code": "VNP-35000"});
    assert_eq!(app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &scan).await.status, 201);
    number
}

/// A loopback listener that counts the requests it gets and answers with `status`,
/// pointing `Location` at `location` when given.
fn counting_server(status: u16, location: Option<String>) -> (Arc<AtomicUsize>, String) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        let location = location.clone();
        App::new().default_service(web::to(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reply = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
            if let Some(location) = &location {
                reply.insert_header(("location", location.as_str()));
            }
            async move { reply.finish() }
        }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
    (hits, url)
}

fn closed_port_url() -> String {
    let port = StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}/hook")
}

async fn subscribe(app: &TestApp, party: &Party, url: &str) -> String {
    let hook = app.post("/api/v1/webhooks", Some(&party.token), &json!({"url": url})).await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    hook.body["id"].as_str().unwrap().to_string()
}

async fn last_delivery(app: &TestApp, party: &Party, hook_id: &str) -> Value {
    let log = app.get(&format!("/api/v1/webhooks/{hook_id}/deliveries"), Some(&party.token)).await;
    assert_eq!(log.status, 200, "{}", log.text);
    log.body[0].clone()
}

#[actix_web::test]
async fn webhook_urls_must_be_public_https_without_credentials() {
    let app = TestApp::with_webhook_policy(WebhookPolicy::default()).await;
    let (dept, _) = department_and_carrier(&app);
    let (_, open) = counting_server(404, None);
    let open_port = open.trim_start_matches("http://127.0.0.1:").trim_end_matches("/hook").to_string();
    let closed_port = closed_port_url().trim_start_matches("http://127.0.0.1:").trim_end_matches("/hook").to_string();
    let mut details = std::collections::BTreeSet::new();
    for url in [
        format!("https://127.0.0.1:{open_port}/hook"),
        format!("https://127.0.0.1:{closed_port}/hook"),
        format!("https://localhost:{open_port}/hook"),
        format!("https://[::ffff:127.0.0.1]:{open_port}/hook"),
        format!("https://[::1]:{open_port}/hook"),
        format!("https://2130706433:{open_port}/hook"),
        "https://10.0.0.5/hook".into(),
        "https://172.16.0.1/hook".into(),
        "https://192.168.1.1/hook".into(),
        "https://169.254.169.254/latest/meta-data/".into(),
        "https://100.64.0.1/hook".into(),
        "https://[fd00:ec2::254]/hook".into(),
        "https://[fe80::1]/hook".into(),
        "https://224.0.0.1/hook".into(),
        "https://0.0.0.0/hook".into(),
        "https://[::]/hook".into(),
    ] {
        let reply = app.post("/api/v1/webhooks", Some(&dept.token), &json!({"url": url})).await;
        reply.problem(422);
        assert_eq!(reply.error_fields(), vec!["url"], "{url}: {}", reply.text);
        details.insert(reply.body["errors"][0]["reason"].as_str().unwrap().to_string());
    }
    assert_eq!(details.len(), 1, "an open and a closed port must look the same: {details:?}");
    for (url, reason) in [
        ("http://93.184.216.34/hook", "https"),
        ("https://user:pw@93.184.216.34/hook", "user name or password"),
        ("https://token@93.184.216.34/hook", "user name or password"),
        ("ftp://93.184.216.34/hook", "https"),
        ("not a url", "https"),
    ] {
        let reply = app.post("/api/v1/webhooks", Some(&dept.token), &json!({"url": url})).await;
        reply.problem(422);
        assert!(reply.body["errors"][0]["reason"].as_str().unwrap().contains(reason), "{url}: {}", reply.text);
    }
    assert_eq!(app.count("webhooks"), 0, "a refused subscription changes nothing");
    let public = app.post("/api/v1/webhooks", Some(&dept.token), &json!({"url": "https://93.184.216.34/hook"})).await;
    assert_eq!(public.status, 201, "{}", public.text);
}

#[actix_web::test]
async fn deliveries_check_the_address_again_and_record_categories() {
    // Subscribed while loopback was allowed (or while the name pointed
    // elsewhere): a dispatcher under the strict policy refuses to connect.
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let (receiver, url) = start_receiver();
    let hook = app.post("/api/v1/webhooks", Some(&dept.token), &json!({"url": url, "topics": ["item.status_changed"]})).await;
    *receiver.secret.lock().unwrap() = hook.body["secret"].as_str().unwrap().to_string();
    let hook_id = hook.body["id"].as_str().unwrap().to_string();
    accepted_scan(&app, &dept, &carrier, 1).await;

    let report = dispatcher(WebhookPolicy::parse("", true).unwrap()).run_once(&app.state.pool, app.clock.now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    assert!(receiver.received.lock().unwrap().is_empty(), "nothing reached the loopback receiver");
    let log = last_delivery(&app, &dept, &hook_id).await;
    assert_eq!((log["last_error"].as_str(), log["last_status_code"].as_i64()), (Some("refused address"), None));

    // A subscription stored before these rules, with credentials in the URL.
    let (hits, open) = counting_server(204, None);
    let legacy = open.replace("http://", "http://user:pw@");
    diesel::sql_query(format!(
        "INSERT INTO webhooks (id, organization_id, url, secret, topics, created_at) SELECT 'legacy', organization_id, '{legacy}', secret, topics, created_at FROM webhooks"
    ))
    .execute(&mut **app.conn())
    .unwrap();
    // A closed loopback port, allowed: the log says "connection failed", not the OS's words.
    let closed = subscribe(&app, &dept, &closed_port_url()).await;
    accepted_scan(&app, &dept, &carrier, 2).await;
    app.clock.advance(chrono::Duration::seconds(31));
    let report = dispatcher(loopback_webhooks()).run_once(&app.state.pool, app.clock.now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (2, 2), "the first hook's retry and new message arrive; legacy and closed fail");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert_eq!(last_delivery(&app, &dept, "legacy").await["last_error"], "refused url");
    let failed = last_delivery(&app, &dept, &closed).await;
    assert_eq!(failed["last_error"], "connection failed");
    assert_eq!(receiver.received.lock().unwrap().len(), 2);
}

#[actix_web::test]
async fn redirects_are_not_followed() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let (internal_hits, internal) = counting_server(204, None);
    let (redirect_hits, redirecting) = counting_server(302, Some(internal));
    let hook_id = subscribe(&app, &dept, &redirecting).await;
    accepted_scan(&app, &dept, &carrier, 1).await;
    let report = dispatcher(loopback_webhooks()).run_once(&app.state.pool, app.clock.now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    assert_eq!((redirect_hits.load(Ordering::SeqCst), internal_hits.load(Ordering::SeqCst)), (1, 0));
    let log = last_delivery(&app, &dept, &hook_id).await;
    assert_eq!((log["last_error"].as_str(), log["last_status_code"].as_i64()), (Some("answered 302"), Some(302)));
}

#[actix_web::test]
async fn a_replacement_conflict_names_only_items_the_caller_can_read() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let other = app.new_party("SGD-HN", OrgKind::Education, "ha-noi");
    let lost = accepted_scan(&app, &dept, &carrier, 1).await;
    let at = app.clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()).to_rfc3339();
    let declared = json!({"client_event_id": "lost-1", "type": "lost_declared", "occurred_at": at, "office_code": "VNP-35000"});
    let reply = app.post(&format!("/api/v1/items/{lost}/events"), Some(&carrier.token), &declared).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    // Another department already holds the number chosen for the replacement.
    let taken = s10(2);
    let mut theirs = item_json(&taken, "2026-THPT");
    theirs["reference"] = json!("their own");
    assert_eq!(app.post("/api/v1/items", Some(&other.token), &theirs).await.status, 201);

    let reply = app.post(&format!("/api/v1/items/{lost}/replacement"), Some(&dept.token), &json!({"tracking_number": taken})).await;
    let problem = reply.problem(409);
    assert!(problem.get("existing_id").is_none(), "another organization's item id leaked: {}", reply.text);
    // The same through a batch registration.
    let batch = app.post("/api/v1/items/batch", Some(&dept.token), &json!({"items": [item_json(&taken, "2026-THPT")]})).await;
    assert_eq!(batch.body["results"][0]["status"], "rejected", "{}", batch.text);
    assert!(batch.body["results"][0]["error"].get("existing_id").is_none(), "{}", batch.text);
    // Its own item it may be told about.
    let own = app.post("/api/v1/items/batch", Some(&other.token), &json!({"items": [item_json(&taken, "2026-THPT")]})).await;
    assert!(own.body["results"][0]["error"]["existing_id"].is_string(), "{}", own.text);
}

#[actix_web::test]
async fn html_pages_refuse_framing_and_docs_redirects_to_its_slash() {
    let app = TestApp::new().await;
    let admin = app.party(&app.org("ADMIN", OrgKind::Overseer, "ha-noi"), exampost::domain::Role::Admin);
    for path in ["/", "/tra-cuu", "/docs/", "/api/v1/reports/steering?season=2026-THPT&format=html"] {
        let reply = app.get(path, Some(&admin.token)).await;
        assert_eq!(reply.status, 200, "{path}");
        assert!(reply.content_type().starts_with("text/html"), "{path}: {}", reply.content_type());
        let header = |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert!(header("content-security-policy").contains("frame-ancestors 'none'"), "{path}: {:?}", header("content-security-policy"));
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
    }
    let plain = awc::Client::builder().disable_redirects().finish();
    let docs = plain.get(app.url("/docs")).send().await.unwrap();
    assert!([301, 308].contains(&docs.status().as_u16()), "{}", docs.status());
    assert_eq!(docs.headers().get("location").unwrap(), "/docs/");
}

/// Runs the real binary with logging on, sends it secrets in every place a
/// client can put them, and reads everything it wrote.
#[actix_web::test]
async fn no_secret_reaches_the_log() {
    let db = TestDb::new();
    let db_url = db.url().to_string();
    // A password in the database URL, as production uses: with PostgreSQL
    // the test's own server (trust auth) ignores it.
    let (database_url, db_password) = match db_url.strip_prefix("postgres://postgres@") {
        Some(rest) => (format!("postgres://postgres:Db-Pa55word-9431@{rest}"), Some("Db-Pa55word-9431")),
        None => (db_url.clone(), None),
    };
    let exe = env!("CARGO_BIN_EXE_exampost");
    let cli = |args: &[&str]| {
        let out = Command::new(exe)
            .args(args)
            .env("EXAMPOST_DATABASE_URL", &database_url)
            .env("EXAMPOST_JWT_SECRET", "log-test-secret-log-test-secret-log-test")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    cli(&["migrate"]);
    cli(&["org", "create", "--code", "SGD-PT", "--name", "Sở GD&ĐT Phú Thọ", "--kind", "education", "--province", "Phú Thọ"]);
    let client = cli(&["client", "create", "--org", "SGD-PT", "--role", "education", "--name", "registry"]);
    let client_id = client["client_id"].as_str().unwrap().to_string();
    let client_secret = client["client_secret"].as_str().unwrap().to_string();

    let port = StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(exe)
        .arg("serve")
        .env("EXAMPOST_DATABASE_URL", &database_url)
        .env("EXAMPOST_JWT_SECRET", "log-test-secret-log-test-secret-log-test")
        .env("EXAMPOST_BIND", format!("127.0.0.1:{port}"))
        .env("EXAMPOST_WORKERS", "1")
        .env("EXAMPOST_LOG", "trace")
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let started = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "server did not start");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }

    let mut token_reply = http.post(format!("{base}/api/v1/auth/token")).send_json(&json!({"client_id": client_id, "client_secret": client_secret})).await.unwrap();
    let token: Value = token_reply.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    // A wrong secret, a token in a query string, second factors in bodies (as a
    // number, which the parse error would quote) and in query strings.
    let wrong_secret = "Wr0ng-Secret-77231";
    let _ = http.post(format!("{base}/api/v1/auth/token")).send_json(&json!({"client_id": client_id, "client_secret": wrong_secret})).await;
    let _ = http.post(format!("{base}/api/v1/auth/token")).send_json(&json!({"client_id": client_id, "client_secret": 8812345})).await;
    let _ = http.get(format!("{base}/api/v1/items?access_token={token}&date_of_birth=2008-03-14")).bearer_auth(&token).send().await;
    let _ = http.get(format!("{base}/api/v1/items?format=pdf&candidate_number=15094321")).bearer_auth(&token).send().await;
    let lookup = json!({"tracking_number": s10(1), "date_of_birth": 20080314});
    let _ = http.post(format!("{base}/api/v1/public/lookup")).send_json(&lookup).await;
    let dossier = json!({"candidate_number": 15094321, "date_of_birth": "2008-03-14", "season": "2026-THPT"});
    let _ = http.post(format!("{base}/api/v1/public/dossier")).send_json(&dossier).await;
    let _ = http.post(format!("{base}/api/v1/public/lookup?date_of_birth=2008-03-14")).insert_header(("content-type", "application/json")).send_body("{\"tracking_number\": 20080314,").await;
    let _ = http.get(format!("{base}/api/v1/items")).bearer_auth(format!("{token}x")).send().await;
    let _ = http.get(format!("{base}/nowhere?client_secret={client_secret}")).send().await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;

    server.kill().unwrap();
    let mut log = String::new();
    server.stdout.take().unwrap().read_to_string(&mut log).unwrap();
    server.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    server.wait().unwrap();
    assert!(log.contains("ExamPost listening"), "logging was on: {log}");
    assert!(log.contains("/api/v1/items"), "requests are logged: {log}");
    let mut secrets = vec![token.as_str(), client_secret.as_str(), wrong_secret, "8812345", "20080314", "2008-03-14", "15094321"];
    secrets.extend(db_password);
    for secret in secrets {
        assert!(!log.contains(secret), "{secret:?} reached the log:\n{log}");
    }
}
