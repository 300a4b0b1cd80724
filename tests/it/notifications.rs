//! Notifications through real transports: a real SMTP server on loopback
//! (aiosmtpd, stopped and restarted by the test) and a webhook receiver on
//! loopback that checks every signature.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration as StdDuration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{Duration, FixedOffset};
use serde_json::{json, Value};

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{Party, TestApp};
use exampost::clock::Clock;
use exampost::notify::dispatch::{signature, Dispatcher};

/// A real SMTP server (aiosmtpd) writing what it receives into a maildir.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    child: Option<Child>,
    _dir: Arc<tempfile::TempDir>,
}

fn ensure_aiosmtpd() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let present = Command::new("python3").args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success());
        if !present {
            let installed = Command::new("python3").args(["-m", "pip", "install", "--quiet", "aiosmtpd"]).status();
            assert!(installed.is_ok_and(|s| s.success()), "the SMTP tests need aiosmtpd: python3 -m pip install aiosmtpd");
        }
    });
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        ensure_aiosmtpd();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let mut server = SmtpServer { port, maildir: dir.path().join("mail"), child: None, _dir: dir };
        server.restart();
        server
    }

    pub fn restart(&mut self) {
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{}", self.port), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(started.elapsed() < StdDuration::from_secs(20), "aiosmtpd did not start");
            std::thread::sleep(StdDuration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, as text.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else { return vec![] };
        entries.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn scan_now(app: &TestApp, id: &str, event_type: &str, extra: Value) -> Value {
    let now = app.clock.now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap());
    let mut event = json!({"client_event_id": id, "type": event_type, "occurred_at": now.to_rfc3339(), "office_code": "VNP-35000"});
    event.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    event
}

async fn scan(app: &TestApp, carrier: &Party, number: &str, event: Value) {
    let reply = app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &event).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

/// The decoded text body of a received message (lettre picks base64 or
/// quoted-printable for non-ASCII text).
fn body_text(message: &str) -> String {
    let message = message.replace("\r\n", "\n");
    let (headers, body) = message.split_once("\n\n").unwrap();
    let encoding = headers.lines().find_map(|l| l.strip_prefix("Content-Transfer-Encoding: ")).unwrap_or("7bit").trim().to_string();
    match encoding.as_str() {
        "base64" => {
            use base64::Engine;
            let joined: String = body.split_whitespace().collect();
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(joined).unwrap()).unwrap()
        }
        "quoted-printable" => {
            let unfolded = body.replace("=\n", "");
            let mut bytes = Vec::new();
            let raw = unfolded.as_bytes();
            let mut i = 0;
            while i < raw.len() {
                if raw[i] == b'=' && i + 2 < raw.len() {
                    if let Ok(b) = u8::from_str_radix(std::str::from_utf8(&raw[i + 1..i + 3]).unwrap_or("zz"), 16) {
                        bytes.push(b);
                        i += 3;
                        continue;
                    }
                }
                bytes.push(raw[i]);
                i += 1;
            }
            String::from_utf8(bytes).unwrap()
        }
        _ => body.to_string(),
    }
}

#[actix_web::test]
async fn emails_reach_contacts_and_candidates_once_even_across_an_smtp_outage() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let contact = json!({"name": "Nguyễn Văn Hùng", "email": "hung@vnpost.example", "lang": "en"});
    assert_eq!(app.post("/api/v1/contacts", Some(&carrier.token), &contact).await.status, 201);
    let dept_contact = json!({"name": "Trần Thị Lan", "email": "lan@sgd.example", "levels": [2, 3]});
    assert_eq!(app.post("/api/v1/contacts", Some(&dept.token), &dept_contact).await.status, 201);

    let mut smtp = SmtpServer::start();
    let dispatcher = Dispatcher::new(Some(&smtp.url()), "ExamPost <no-reply@exampost.example>").unwrap();
    let number = s10(1);
    let mut body = item_json(&number, "2026-THPT");
    body["priority"] = json!("urgent");
    body.as_object_mut().unwrap().remove("must_arrive_by");
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &body).await.status, 201);
    scan(&app, &carrier, &number, scan_now(&app, "a-0", "accepted", json!({}))).await;

    // Overdue and stalled: two cases for the carrier's contact, a delay notice for the candidate.
    app.clock.advance(Duration::hours(25));
    exampost::app::cases::sweep(&mut **app.conn(), app.clock.as_ref()).unwrap();
    let report = dispatcher.run_once(&app.state.pool, app.clock.now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (3, 0));
    let messages = smtp.messages();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages.iter().filter(|m| m.contains("To: hung@vnpost.example")).count(), 2);
    let to_candidate: Vec<&String> = messages.iter().filter(|m| m.contains("To: Minh.Anh@example.vn")).collect();
    assert_eq!(to_candidate.len(), 1);
    let text = body_text(to_candidate[0]);
    assert!(text.contains(&number) && text.contains("Giấy báo dự thi") && text.contains("chậm so với dự kiến"), "{text}");
    for private in ["15001234", "Trần Phú", "Minh Anh", "2008"] {
        assert!(!text.contains(private), "the candidate's e-mail carries only what they need: {text}");
    }
    assert!(messages.iter().any(|m| m.contains("Subject: [ExamPost] New case: Overdue")), "{messages:?}");

    // The mail server goes down; the item is delivered: both cases resolve, the candidate is told.
    smtp.stop();
    let delivered = json!({"recipient_name": "Nguyễn Thị Minh Anh", "identity_check": "citizen_id_card"});
    scan(&app, &carrier, &number, scan_now(&app, "d-0", "delivered", delivered)).await;
    let report = dispatcher.run_once(&app.state.pool, app.clock.now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 3));
    assert_eq!(app.count("outbox"), 6, "nothing is lost while the server is down");

    // Back up: nothing is retried before its time, then each arrives exactly once.
    smtp.restart();
    let report = dispatcher.run_once(&app.state.pool, app.clock.now()).await.unwrap();
    assert_eq!(report.sent, 0, "backoff: not yet due");
    app.clock.advance(Duration::seconds(31));
    let report = dispatcher.run_once(&app.state.pool, app.clock.now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (3, 0));
    app.clock.advance(Duration::hours(1));
    assert_eq!(dispatcher.run_once(&app.state.pool, app.clock.now()).await.unwrap().sent, 0);
    let messages = smtp.messages();
    assert_eq!(messages.len(), 6);
    assert_eq!(messages.iter().filter(|m| m.contains("Subject: [ExamPost] Case resolved")).count(), 2);
    assert_eq!(messages.iter().filter(|m| m.contains("To: Minh.Anh@example.vn")).count(), 2);
    assert!(!messages.iter().any(|m| m.contains("lan@sgd.example")), "level-2 contacts hear only of level-2 cases");
}

/// A webhook receiver that checks signatures and can be told to fail.
#[derive(Clone, Default)]
pub struct Receiver {
    pub secret: Arc<Mutex<String>>,
    pub received: Arc<Mutex<Vec<(String, String, Value)>>>,
    pub failures_left: Arc<Mutex<u32>>,
    pub bad_signatures: Arc<Mutex<u32>>,
}

async fn receive(req: HttpRequest, body: web::Bytes, receiver: web::Data<Receiver>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let timestamp: i64 = header("x-exampost-timestamp").parse().unwrap_or(0);
    let expected = format!("sha256={}", signature(&receiver.secret.lock().unwrap(), timestamp, &text));
    if header("x-exampost-signature") != expected {
        *receiver.bad_signatures.lock().unwrap() += 1;
        return HttpResponse::Unauthorized().finish();
    }
    {
        let mut failures = receiver.failures_left.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return HttpResponse::InternalServerError().finish();
        }
    }
    let payload: Value = serde_json::from_str(&text).unwrap();
    receiver.received.lock().unwrap().push((header("x-exampost-delivery"), header("x-exampost-event"), payload));
    HttpResponse::NoContent().finish()
}

/// Starts a receiver on a loopback port; returns it and its URL.
pub fn start_receiver() -> (Receiver, String) {
    let receiver = Receiver::default();
    let data = web::Data::new(receiver.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = HttpServer::new(move || App::new().app_data(data.clone()).route("/hook", web::post().to(receive)))
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
    actix_web::rt::spawn(server);
    (receiver, url)
}

#[actix_web::test]
async fn signed_webhooks_are_retried_and_logged() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let (receiver, url) = start_receiver();
    let bad = app.post("/api/v1/webhooks", Some(&dept.token), &json!({"url": "ftp://x", "topics": ["everything"]})).await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["topics", "url"]);
    let hook = app.post("/api/v1/webhooks", Some(&dept.token), &json!({"url": url, "topics": ["item.status_changed", "case.opened"]})).await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    *receiver.secret.lock().unwrap() = hook.body["secret"].as_str().unwrap().to_string();
    let listed = app.get("/api/v1/webhooks", Some(&dept.token)).await;
    assert!(listed.body[0]["secret"].is_null(), "the secret is shown once");
    let hook_id = hook.body["id"].as_str().unwrap();

    let dispatcher = Dispatcher::new(None, "ExamPost <no-reply@exampost.example>").unwrap().with_webhook_policy(crate::util::loopback_webhooks());
    let number = s10(1);
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &item_json(&number, "2026-THPT")).await.status, 201);
    scan(&app, &carrier, &number, scan_now(&app, "a-0", "accepted", json!({}))).await;

    *receiver.failures_left.lock().unwrap() = 1;
    let report = dispatcher.run_once(&app.state.pool, app.clock.now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    let log = app.get(&format!("/api/v1/webhooks/{hook_id}/deliveries"), Some(&dept.token)).await;
    assert_eq!((log.body[0]["status"].as_str(), log.body[0]["attempts"].as_i64(), log.body[0]["last_status_code"].as_i64()), (Some("pending"), Some(1), Some(500)));

    app.clock.advance(Duration::seconds(31));
    let report = dispatcher.run_once(&app.state.pool, app.clock.now()).await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0));
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].1, "item.status_changed");
    assert_eq!(received[0].2["data"]["tracking_number"], number);
    assert_eq!((received[0].2["data"]["status"].as_str(), received[0].2["data"]["previous_status"].as_str()), (Some("accepted"), Some("registered")));
    assert_eq!(*receiver.bad_signatures.lock().unwrap(), 0);
    let log = app.get(&format!("/api/v1/webhooks/{hook_id}/deliveries"), Some(&dept.token)).await;
    assert_eq!((log.body[0]["status"].as_str(), log.body[0]["attempts"].as_i64()), (Some("sent"), Some(2)));

    // Other organizations cannot read the log; a carrier subscription hears nothing of the department's.
    app.get(&format!("/api/v1/webhooks/{hook_id}/deliveries"), Some(&carrier.token)).await.problem(404);
}

/// Starts `exampost serve` on the test's database with a fast sweeper and dispatcher.
fn spawn_server(db_url: &str) -> Child {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    Command::new(env!("CARGO_BIN_EXE_exampost"))
        .arg("serve")
        .env("EXAMPOST_DATABASE_URL", db_url)
        .env("EXAMPOST_JWT_SECRET", "two-process-test-secret-two-process-test")
        .env("EXAMPOST_BIND", format!("127.0.0.1:{port}"))
        .env("EXAMPOST_WORKERS", "1")
        .env("EXAMPOST_SWEEP_SECS", "1")
        .env("EXAMPOST_DISPATCH_SECS", "1")
        .env("EXAMPOST_WEBHOOK_ALLOW", "127.0.0.1")
        .env("EXAMPOST_WEBHOOK_ALLOW_HTTP", "true")
        .env("EXAMPOST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[actix_web::test]
async fn two_server_processes_open_each_case_once_and_send_each_notification_once() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let (receiver, url) = start_receiver();
    let hook = app.post("/api/v1/webhooks", Some(&carrier.token), &json!({"url": url, "topics": ["case.opened"]})).await;
    *receiver.secret.lock().unwrap() = hook.body["secret"].as_str().unwrap().to_string();

    // Ten urgent items accepted three days ago: each is overdue and stalled now.
    app.clock.set(chrono::Utc::now() - Duration::days(3));
    for serial in 1..=10 {
        let number = s10(serial);
        let mut body = item_json(&number, "2026-THPT");
        body["priority"] = json!("urgent");
        body.as_object_mut().unwrap().remove("must_arrive_by");
        assert_eq!(app.post("/api/v1/items", Some(&dept.token), &body).await.status, 201);
        scan(&app, &carrier, &number, scan_now(&app, &format!("a-{serial}"), "accepted", json!({}))).await;
    }

    let mut servers = [spawn_server(app.db.url()), spawn_server(app.db.url())];
    let started = Instant::now();
    while receiver.received.lock().unwrap().len() < 20 && started.elapsed() < StdDuration::from_secs(60) {
        actix_web::rt::time::sleep(StdDuration::from_millis(200)).await;
    }
    // Give a duplicate, if any, time to arrive.
    actix_web::rt::time::sleep(StdDuration::from_secs(3)).await;
    for server in &mut servers {
        server.kill().unwrap();
        server.wait().unwrap();
    }

    assert_eq!(app.count("cases"), 20, "one overdue and one stalled case per item");
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 20, "each case.opened delivered once");
    let mut ids: Vec<&String> = received.iter().map(|r| &r.0).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    let mut pairs: Vec<(String, String)> = received
        .iter()
        .map(|r| (r.2["data"]["tracking_number"].as_str().unwrap().to_string(), r.2["data"]["kind"].as_str().unwrap().to_string()))
        .collect();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), 20);
    assert_eq!(*receiver.bad_signatures.lock().unwrap(), 0);
}
