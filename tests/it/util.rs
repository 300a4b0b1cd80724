//! `TestApp`: the real HTTP server on a loopback port, over a fresh database
//! (a temp SQLite file, or a new PostgreSQL database when
//! `TEST_DATABASE_URL=postgres://…` is set), with helpers to make callers.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use diesel::{Connection, RunQueryDsl};
use serde_json::Value;

use exampost::api::AppState;
use exampost::app::{administration, Actor};
use exampost::auth::TokenKeys;
use exampost::clock::{Clock, ManualClock};
use exampost::config::{Config, TrustedProxies};
use exampost::db::{self, DbTarget, SqliteSync};
use exampost::domain::{OrgKind, Role};
use exampost::server::Application;
use exampost::store::clients::ApiClient;
use exampost::store::organizations::Organization;

pub const TEST_SECRET: &[u8] = b"test-secret-that-is-long-enough-for-hs256";

/// A fresh, empty database that disappears when dropped.
pub enum TestDb {
    Sqlite { _dir: tempfile::TempDir, url: String },
    Postgres { admin_url: String, name: String, url: String },
    /// Another's database, which that one removes.
    Shared { url: String },
}

impl TestDb {
    pub fn new() -> TestDb {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if admin_url.starts_with("postgres") => {
                let name = format!("exampost_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = diesel::PgConnection::establish(&admin_url).expect("connect to TEST_DATABASE_URL");
                diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create test database");
                let base = admin_url.rsplit_once('/').map(|(base, _)| base).expect("URL has a database");
                let url = format!("{base}/{name}");
                TestDb::Postgres { admin_url, name, url }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("exampost.db").display());
                TestDb::Sqlite { _dir: dir, url }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } | TestDb::Shared { url } => url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name, .. } = self {
            if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
            }
        }
    }
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Value,
    pub text: String,
    /// The body as sent (a workbook, say).
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Asserts an RFC 9457 problem with this status, and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "expected {status}, got {}: {}", self.status, self.text);
        assert!(self.content_type().starts_with("application/problem+json"), "content type {:?}: {}", self.content_type(), self.text);
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].as_str().is_some_and(|t| t.starts_with("/problems/")), "type in {}", self.text);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string(), "title/detail in {}", self.text);
        &self.body
    }

    /// The field names of a validation problem.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"].as_array().map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect()).unwrap_or_default()
    }
}

/// A caller with a valid token.
#[derive(Clone)]
pub struct Party {
    pub token: String,
}

pub struct TestApp {
    pub base: String,
    /// The server's clock: tests move it instead of sleeping.
    pub clock: Arc<ManualClock>,
    pub state: web::Data<AppState>,
    pub db: TestDb,
    client: awc::Client,
    /// The test changed rows the way only someone with the database could
    /// (tampering): what the service keeps is no longer what it would derive.
    edited_behind_the_service: std::sync::atomic::AtomicBool,
}

/// After every test, the public answer and the fold kept on each item equal
/// the same facts derived from the tables they come from (the whole history
/// of its events): a write that forgets to keep them current, or an event
/// applied on top that should have folded the history again, fails the test
/// that made it.
impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let Ok(mut conn) = self.state.pool.get_timeout(Duration::from_secs(5)) else { return };
        // A test may have left the database unreadable on purpose.
        if let Ok(drift) = exampost::store::items::public_drift(&mut conn) {
            assert!(drift.is_empty(), "the public answer kept on items drifted from its sources:\n{}", drift.join("\n"));
        }
        if self.edited_behind_the_service.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        if let Ok(drift) = exampost::store::events::fold_drift(&mut conn) {
            assert!(drift.is_empty(), "the state kept on items drifted from a fold of their whole history:\n{}", drift.join("\n"));
        }
    }
}

/// Seasons every test server has.
pub const TEST_SEASONS: &[&str] = &["2026-THPT", "2027-THPT", "2020-THPT"];

/// The token the test servers' /metrics answers to.
pub const METRICS_TOKEN: &str = "metrics-token-for-tests";

pub fn test_config(url: &str) -> Config {
    Config {
        database: DbTarget::parse(url).unwrap(),
        bind: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: Some(TEST_SECRET.to_vec()),
        token_ttl: Duration::from_secs(900),
        pool_size: 4,
        sqlite_sync: SqliteSync::Normal,
        workers: 1,
        sweep_every: None,
        report_time: chrono::NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
        retention_days: Some(180),
        smtp_url: None,
        mail_from: "ExamPost <no-reply@exampost.invalid>".into(),
        dispatch_every: None,
        lookups_per_minute: 10,
        webhook_policy: loopback_webhooks(),
        trusted_proxies: Default::default(),
        token_limits: Default::default(),
        import_max_bytes: 64 << 20,
        metrics_token: Some(exampost::config::MetricsToken::new(METRICS_TOKEN).expect("a long token")),
        read_database: None,
        read_max_lag: Duration::from_secs(5),
    }
}

/// Test receivers listen on plain http on loopback.
pub fn loopback_webhooks() -> exampost::notify::egress::WebhookPolicy {
    exampost::notify::egress::WebhookPolicy::parse("127.0.0.1", true).unwrap()
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_config(|_| {}).await
    }

    /// A server whose clock starts at `start`.
    pub async fn at(start: chrono::DateTime<chrono::Utc>) -> TestApp {
        Self::build(TestDb::new(), Arc::new(ManualClock::new(start)), |_| {}).await
    }

    /// A server whose configuration differs from the tests' usual one.
    pub async fn with_config(edit: impl FnOnce(&mut Config)) -> TestApp {
        Self::build(TestDb::new(), Arc::new(ManualClock::new(chrono::Utc::now())), edit).await
    }

    pub async fn with_webhook_policy(webhook_policy: exampost::notify::egress::WebhookPolicy) -> TestApp {
        Self::with_config(|config| config.webhook_policy = webhook_policy).await
    }

    /// The server over a database made elsewhere (e.g. on a small disk).
    pub async fn with_db(db: TestDb) -> TestApp {
        Self::build(db, Arc::new(ManualClock::new(chrono::Utc::now())), |_| {}).await
    }

    /// A server on this database with its configuration edited.
    pub async fn with_db_and_config(db: TestDb, edit: impl FnOnce(&mut Config)) -> TestApp {
        Self::build(db, Arc::new(ManualClock::new(chrono::Utc::now())), edit).await
    }

    /// A server behind a reverse proxy on loopback: it believes the
    /// `X-Forwarded-For` and `Forwarded` headers that tests send.
    pub async fn behind_proxy() -> TestApp {
        Self::with_config(|config| config.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap()).await
    }

    /// Another replica: its own process state, this one's database and clock.
    pub async fn replica(&self) -> TestApp {
        let db = TestDb::Shared { url: self.db.url().to_string() };
        let (trusted_proxies, webhook_policy) = (self.state.trusted_proxies.clone(), self.state.webhook_policy.clone());
        Self::build(db, self.clock.clone(), |config| {
            config.trusted_proxies = trusted_proxies;
            config.webhook_policy = webhook_policy;
        })
        .await
    }

    /// Production's start ([`Application::build_with_clock`]) on the test's
    /// database and clock, on a free loopback port; the sweeper and the
    /// dispatcher are off (tests run their passes by hand).
    async fn build(db: TestDb, clock: Arc<ManualClock>, edit: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = test_config(db.url());
        edit(&mut config);
        let application = Application::build_with_clock(config, clock.clone()).await.expect("start the test server");
        let base = format!("http://{}", application.address());
        let state = application.state().clone();
        actix_web::rt::spawn(application.run_until_stopped());
        // An idle connection is reused for a second at most: the server closes
        // one idle for 5 s (actix-web's keep-alive), and a request sent on a
        // connection as the server closes it fails with `Disconnected` (seen
        // in CI after pauses of about that length: a dispatcher pass through
        // an SMTP outage, the audit writer's backoff).
        let connector = awc::Connector::new().conn_keep_alive(Duration::from_secs(1));
        let client = awc::Client::builder().connector(connector).timeout(Duration::from_secs(120)).finish();
        let app = TestApp { base, clock, state, db, client, edited_behind_the_service: Default::default() };
        // The seasons the tests register into (a season must exist to register).
        for code in TEST_SEASONS {
            app.season(code, &[]);
        }
        app
    }

    /// Declares (or re-declares) a season open to the end of 2099, with these default deadlines.
    pub fn season(&self, code: &str, deadlines: &[(exampost::domain::ItemKind, chrono::NaiveDateTime)]) {
        use exampost::store::seasons::{Season, SeasonRow};
        let at = chrono::Utc::now().naive_utc();
        let row = SeasonRow {
            code: code.to_string(),
            name: format!("Mùa thi {code}"),
            exam_days: exampost::db::TextList::new(vec![]),
            result_day: None,
            closes_on: chrono::NaiveDate::from_ymd_opt(2099, 12, 31).unwrap(),
            created_at: at,
            updated_at: at,
        };
        exampost::store::seasons::save(&mut self.conn(), &Season { row, deadlines: deadlines.to_vec() }).unwrap();
    }

    pub fn conn(&self) -> db::PooledConn {
        self.state.pool.get().unwrap()
    }

    pub fn org(&self, code: &str, kind: OrgKind, province: &str) -> Organization {
        let command = administration::CreateOrganization { code: code.into(), name: format!("Org {code}"), kind, province: province.into(), reads_province: false };
        administration::create_organization(&mut self.conn(), &*self.clock, &Actor::operator("test"), command).unwrap()
    }

    /// A client of the organization with this code, with its secret.
    pub fn client(&self, org_code: &str, name: &str, role: Role) -> (ApiClient, String) {
        let command = administration::CreateClient { organization: org_code.into(), name: name.into(), role };
        let issued = administration::create_client(&mut self.conn(), &*self.clock, &Actor::operator("test"), command).unwrap();
        (issued.client, issued.secret)
    }

    /// A real client of the organization, with a token minted by the server's keys.
    pub fn party(&self, org: &Organization, role: Role) -> Party {
        let (client, _secret) = self.client(&org.code, "test client", role);
        let subject = exampost::auth::TokenSubject { client_id: &client.id, org_id: &org.id, role, province: &org.province, reads_province: org.reads_province, generation: 0 };
        // Valid from a year before the server's clock to a year after it, so
        // that tests may move the clock days either way; a test of expiry
        // takes a token from the token endpoint instead.
        let long_lived = TokenKeys::new(TEST_SECRET, Duration::from_secs(2 * 365 * 86_400));
        let token = long_lived.issue(subject, self.clock.now() - chrono::Duration::days(365));
        Party { token }
    }

    /// A provincial Department of Education (reads its province) and a client of it.
    pub fn department(&self, code: &str, province: &str) -> Party {
        let command = administration::CreateOrganization {
            code: code.into(),
            name: format!("Sở GD&ĐT {code}"),
            kind: OrgKind::Education,
            province: province.into(),
            reads_province: true,
        };
        let org = administration::create_organization(&mut self.conn(), &*self.clock, &Actor::operator("test"), command).unwrap();
        self.party(&org, Role::Education)
    }

    /// Organization and client in one step.
    pub fn new_party(&self, code: &str, kind: OrgKind, province: &str) -> Party {
        let role = match kind {
            OrgKind::Carrier => Role::Carrier,
            OrgKind::Education => Role::Education,
            OrgKind::Overseer => Role::Overseer,
        };
        let org = self.org(code, kind, province);
        self.party(&org, role)
    }

    /// Marks that the test edits rows behind the service's back (the kept
    /// state is then not checked against the history after the test).
    pub fn edit_rows_behind_the_service(&self) {
        self.edited_behind_the_service.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn read(mut response: awc::ClientResponse<impl futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>> + Unpin>) -> Reply {
        let bytes = response.body().limit(64 * 1024 * 1024).await.expect("read body");
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status: response.status().as_u16(), headers: response.headers().clone(), body, text, bytes: bytes.to_vec() }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::read(request.send().await.expect("send")).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        let mut request = self.client.post(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::read(request.send_json(body).await.expect("send")).await
    }

    pub async fn put_json(&self, path: &str, token: &str, body: &Value) -> Reply {
        let request = self.client.put(self.url(path)).bearer_auth(token);
        Self::read(request.send_json(body).await.expect("send")).await
    }

    /// Sends any method, headers and raw body.
    pub async fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, self.url(path));
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        Self::read(request.send_body(body).await.expect("send")).await
    }

    /// Sends a body of unknown length (chunked transfer encoding).
    pub async fn stream<S>(&self, method: &str, path: &str, headers: &[(&str, &str)], chunks: S) -> Reply
    where
        S: futures_util::Stream<Item = Result<actix_web::web::Bytes, std::io::Error>> + 'static,
    {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, self.url(path));
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        Self::read(request.send_stream(chunks).await.expect("send")).await
    }

    /// Number of rows in a table, straight from the database.
    pub fn count(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let row: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).get_result(&mut **self.conn()).unwrap();
        row.n
    }
}
