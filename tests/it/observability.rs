//! What an operator sees: request ids, the access log, `/metrics`, and log
//! settings that are refused rather than silently ignored.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{TestApp, METRICS_TOKEN};

/// The value of one sample line (`name{labels} value`), if rendered.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

async fn scrape(app: &TestApp) -> String {
    let auth = format!("Bearer {METRICS_TOKEN}");
    let reply = app.raw("GET", "/metrics", &[("authorization", &auth)], Vec::new()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.content_type().starts_with("text/plain; version=0.0.4"), "{}", reply.content_type());
    reply.text
}

#[actix_web::test]
async fn a_request_id_is_taken_when_sane_and_always_returned() {
    let app = TestApp::new().await;
    let given = app.raw("GET", "/healthz", &[("x-request-id", "lb-7f3a.42")], Vec::new()).await;
    assert_eq!(given.headers.get("x-request-id").unwrap(), "lb-7f3a.42");
    let none = app.raw("GET", "/api/v1/items", &[], Vec::new()).await;
    assert_eq!(none.status, 401);
    let generated = none.headers.get("x-request-id").expect("every answer has one").to_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
    let forged = app.raw("GET", "/healthz", &[("x-request-id", "a b\tforged=1")], Vec::new()).await;
    let replaced = forged.headers.get("x-request-id").unwrap().to_str().unwrap();
    assert!(replaced != "a b\tforged=1" && uuid::Uuid::parse_str(replaced).is_ok(), "{replaced}");
}

#[actix_web::test]
async fn metrics_need_their_own_token_and_are_off_without_one() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    for auth in [None, Some("Bearer wrong-token-wrong-token".to_string()), Some(format!("Bearer {}", dept.token))] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let refused = app.raw("GET", "/metrics", &headers, Vec::new()).await;
        refused.problem(401);
        assert!(!refused.text.contains("exampost_"), "{}", refused.text);
    }
    let off = TestApp::with_config(|c| c.metrics_token = None).await;
    let auth = format!("Bearer {METRICS_TOKEN}");
    off.raw("GET", "/metrics", &[("authorization", &auth)], Vec::new()).await.problem(404);
    // Without credentials it is 401 either way, as for every endpoint that needs a token.
    off.raw("GET", "/metrics", &[], Vec::new()).await.problem(401);
}

#[actix_web::test]
async fn metrics_count_requests_by_template_scans_items_and_what_waits() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let before = scrape(&app).await;
    let registered_before = sample(&before, "exampost_items_registered_total").unwrap_or(0.0);
    let recorded_before = sample(&before, "exampost_scans_total{outcome=\"recorded\"}").unwrap_or(0.0);

    let number = s10(1);
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &item_json(&number, "2026-THPT")).await.status, 201);
    let csv = format!("tracking_number,season,kind,carrier_org,candidate_number,full_name,date_of_birth,province,ward,address_line\n{},2026-THPT,exam_notice,VNPOST,15000002,Trần Bình,02/07/2008,Phú Thọ,Phường Việt Trì,1 Hùng Vương\n", s10(2));
    let auth = format!("Bearer {}", dept.token);
    let import = app.raw("POST", "/api/v1/items/import", &[("authorization", &auth), ("content-type", "text/csv")], csv.into_bytes()).await;
    assert_eq!(import.body["created"], 1, "{}", import.text);
    let scan = json!({"client_event_id": "obs-1", "type": "accepted", "occurred_at": chrono::Utc::now().to_rfc3339(), "office_code": "VNP-290000", "office_name": "Bưu cục Việt Trì"});
    let path = format!("/api/v1/items/{number}/events");
    assert_eq!(app.post(&path, Some(&carrier.token), &scan).await.status, 201);
    assert_eq!(app.post(&path, Some(&carrier.token), &scan).await.status, 200, "a replay");
    app.get("/no/such/path-xyz123", None).await;
    app.raw("MADEUP1", "/healthz", &[], Vec::new()).await;
    let report = json!({"tracking_number": number, "date_of_birth": "14/03/2008", "kind": "not_received", "lang": "vi"});
    let reported = app.post("/api/v1/public/report", None, &report).await;
    assert_eq!(reported.status, 202, "{}", reported.text);

    let after = scrape(&app).await;
    assert!(sample(&after, "exampost_items_registered_total").unwrap() >= registered_before + 2.0, "{after}");
    assert!(sample(&after, "exampost_scans_total{outcome=\"recorded\"}").unwrap() >= recorded_before + 1.0, "{after}");
    assert!(sample(&after, "exampost_scans_total{outcome=\"replayed\"}").unwrap() >= 1.0, "{after}");
    assert!(sample(&after, "exampost_http_requests_total{method=\"POST\",route=\"/api/v1/items/import\",status=\"200\"}").unwrap() >= 1.0, "{after}");
    assert!(sample(&after, "exampost_http_requests_total{method=\"POST\",route=\"/api/v1/items/{tracking_number}/events\",status=\"201\"}").unwrap() >= 1.0);
    assert!(!after.contains("method=\"POST\",route=\"/api/v1/items/{tracking_number}\""), "the import is not the item's route");
    assert!(!after.contains("xyz123"), "an unknown path is not a label");
    assert!(!after.contains("MADEUP1") && after.contains("method=\"OTHER\""), "a made-up method is not a label");
    assert!(after.contains("exampost_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/items\",le=\"0.005\"}"), "{after}");
    // Read from this app's database at the scrape: its one reported case, zeros elsewhere.
    assert_eq!(sample(&after, "exampost_open_cases{kind=\"recipient_report\",level=\"1\"}"), Some(1.0), "{after}");
    assert_eq!(sample(&after, "exampost_open_cases{kind=\"tampering\",level=\"3\"}"), Some(0.0));
    assert!(sample(&after, "exampost_outbox_pending{channel=\"email\"}").is_some(), "{after}");
    assert!(sample(&after, "exampost_outbox_oldest_pending_age_seconds{channel=\"webhook\"}").is_some());
    assert!(sample(&after, "exampost_db_pool_connections").unwrap() >= 1.0);
    assert_eq!(sample(&after, "exampost_ready"), Some(1.0));
}

/// The binary as run in production, its log read back line by line.
#[actix_web::test]
async fn the_access_log_has_one_json_line_per_request_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/exampost.db", dir.path().display());
    let seeded = Command::new(env!("CARGO_BIN_EXE_exampost")).arg("seed").env("EXAMPOST_DATABASE_URL", &url).env("EXAMPOST_LOG", "warn").output().unwrap();
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let port = crate::cli::free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_exampost"))
        .arg("serve")
        .env("EXAMPOST_DATABASE_URL", &url)
        .env("EXAMPOST_BIND", format!("127.0.0.1:{port}"))
        .env("EXAMPOST_WORKERS", "1")
        .env("EXAMPOST_LOG_FORMAT", "json")
        .env("EXAMPOST_LOG", "info")
        .env("EXAMPOST_SWEEP_SECS", "0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = server.stderr.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let http = awc::Client::default();
    let base = format!("http://127.0.0.1:{port}");
    crate::cli::wait_until_ready(&http, &base).await;
    let secret = "demo-sgddt-pt-secret";
    let mut token = http.post(format!("{base}/api/v1/auth/token")).send_json(&json!({"client_id": "8f0c2a1e-0000-4000-8000-000000000002", "client_secret": secret})).await.unwrap();
    let token: Value = token.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let items = http.get(format!("{base}/api/v1/items?limit=1")).bearer_auth(&token).insert_header(("x-request-id", "trace-items-1")).send().await.unwrap();
    assert_eq!(items.status().as_u16(), 200);
    let lookup = json!({"tracking_number": "RR473000078VN", "date_of_birth": "31/12/1999"});
    let miss = http.post(format!("{base}/api/v1/public/lookup")).insert_header(("x-request-id", "trace-lookup-1")).send_json(&lookup).await.unwrap();
    assert_eq!(miss.status().as_u16(), 404);

    let mut seen: Vec<Value> = Vec::new();
    let mut raw = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let has = |seen: &[Value], id: &str| seen.iter().any(|l| l["target"] == "exampost::access" && l.to_string().contains(id));
    while !(has(&seen, "trace-items-1") && has(&seen, "trace-lookup-1")) && Instant::now() < deadline {
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
            raw.push_str(&line);
            raw.push('\n');
            seen.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")));
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    let access = |id: &str| seen.iter().find(|l| l["target"] == "exampost::access" && l.to_string().contains(id)).cloned().unwrap_or_else(|| panic!("no access line for {id}: {raw}"));
    let items = access("trace-items-1");
    assert_eq!((items["method"].as_str(), items["route"].as_str(), items["status"].as_u64()), (Some("GET"), Some("/api/v1/items"), Some(200)), "{items}");
    assert_eq!(items["client_id"], "8f0c2a1e-0000-4000-8000-000000000002");
    assert!(items["duration_ms"].as_f64().is_some(), "{items}");
    assert_eq!(items["span"]["request_id"], "trace-items-1", "{items}");
    let miss = access("trace-lookup-1");
    assert_eq!((miss["route"].as_str(), miss["status"].as_u64()), (Some("/api/v1/public/lookup"), Some(404)), "{miss}");
    assert_eq!(seen.iter().filter(|l| l["target"] == "exampost::access" && l.to_string().contains("trace-lookup-1")).count(), 1, "logged once: {raw}");
    assert!(!seen.iter().any(|l| l["target"] == "exampost::access" && l["route"] == "/readyz"), "probes are logged at debug only: {raw}");
    for secret in ["31/12/1999", secret, token.as_str(), "\u{1b}["] {
        assert!(!raw.contains(secret), "the log holds {secret:?}: {raw}");
    }
}

#[test]
fn a_log_filter_that_would_log_nothing_is_refused() {
    for (name, value) in [("EXAMPOST_LOG", "verbose"), ("EXAMPOST_LOG_FORMAT", "xml")] {
        let output = Command::new(env!("CARGO_BIN_EXE_exampost")).arg("migrate").env(name, value).env("EXAMPOST_DATABASE_URL", "sqlite::memory:").output().unwrap();
        assert!(!output.status.success(), "{name}={value} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(name), "{stderr}");
    }
}
