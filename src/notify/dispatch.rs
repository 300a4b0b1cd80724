//! The dispatcher: sends what the outbox holds, by SMTP (lettre) and HTTP
//! (signed webhooks), and records each outcome. Several processes may run
//! it: a message is leased before it is sent, so only one sends it; a
//! crash after sending and before recording lets the lease lapse, and the
//! message is sent again (at least once, never lost).

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use actix_web::web;
use actix_rt::net::TcpStream;
use actix_tls::connect::{ConnectError, ConnectInfo, Connection};
use awc::error::{ConnectError as HttpConnectError, SendRequestError};
use awc::http::Uri;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use hmac::{Hmac, Mac};
use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::Sha256;

use super::egress::WebhookPolicy;
use crate::db::Pool;
use crate::store::outbox::{Message, Webhook};
use crate::store::{self};

/// Attempts before a message is given up (about a day of retries).
pub const MAX_ATTEMPTS: i32 = 25;
const LEASE: i64 = 120;
const BATCH: i64 = 100;

/// HMAC-SHA256 of `"{timestamp}.{body}"` with the subscription's secret, hex.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// When to try again after `attempts` failures: 30 s doubling up to an hour.
pub fn retry_at(attempts: i32, now: DateTime<Utc>) -> Option<NaiveDateTime> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let seconds = (30i64 << (attempts - 1).clamp(0, 10)).min(3600);
    Some((now + Duration::seconds(seconds)).naive_utc())
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DispatchReport {
    pub sent: usize,
    pub failed: usize,
}

pub struct Dispatcher {
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    tls: Arc<rustls::ClientConfig>,
    webhooks: WebhookPolicy,
    owner: String,
}

/// Runs one unit of a shared worker's work so that its panic or error
/// stays its own: logged, turned into an `Err`, and the worker goes on.
pub async fn isolated<T>(what: &str, work: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(error)) => {
            tracing::warn!(unit = what, %error, "unit of work failed; carrying on");
            Err(error)
        }
        Err(_) => {
            tracing::error!(unit = what, "unit of work panicked; carrying on");
            Err("internal error".into())
        }
    }
}

/// Connects only to addresses the policy checked, whatever the URL's host
/// would resolve to by the time the connection is made.
#[derive(Clone)]
struct CheckedAddresses(Rc<[SocketAddr]>);

impl actix_service::Service<ConnectInfo<Uri>> for CheckedAddresses {
    type Response = Connection<Uri, TcpStream>;
    type Error = ConnectError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    actix_service::always_ready!();

    fn call(&self, request: ConnectInfo<Uri>) -> Self::Future {
        let addresses = self.0.clone();
        Box::pin(async move {
            let mut last_error = None;
            for address in addresses.iter() {
                match TcpStream::connect(address).await {
                    Ok(stream) => return Ok(Connection::new(request.request().clone(), stream)),
                    Err(e) => last_error = Some(e),
                }
            }
            Err(last_error.map(ConnectError::Io).unwrap_or(ConnectError::NoRecords))
        })
    }
}

/// A delivery failure as the subscriber's log shows it: a category, never
/// the OS error text, which would tell a closed internal port from an open
/// one to whoever reads the log.
fn failure_category(error: &SendRequestError) -> &'static str {
    match error {
        SendRequestError::Timeout | SendRequestError::Connect(HttpConnectError::Timeout) => "timeout",
        SendRequestError::Connect(_) => "connection failed",
        SendRequestError::Url(_) => "refused url",
        _ => "request failed",
    }
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

type Outcome = Result<Option<i32>, (String, Option<i32>)>;

impl Dispatcher {
    /// `smtp_url` as lettre reads it (`smtp://host:port`, `smtps://user:pass@host`);
    /// without one, e-mails wait in the outbox. Build it inside the runtime.
    pub fn new(smtp_url: Option<&str>, from: &str) -> Result<Self, String> {
        let mailer = match smtp_url {
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("EXAMPOST_SMTP_URL: {e}"))?
                    .timeout(Some(StdDuration::from_secs(10)))
                    .build(),
            ),
            None => None,
        };
        let from = from.parse::<Mailbox>().map_err(|e| format!("EXAMPOST_MAIL_FROM: {e}"))?;
        Ok(Dispatcher { mailer, from, tls: tls_config(), webhooks: WebhookPolicy::default(), owner: uuid::Uuid::new_v4().to_string() })
    }

    /// Where webhooks may go beyond public https endpoints (default: nowhere else).
    pub fn with_webhook_policy(mut self, policy: WebhookPolicy) -> Self {
        self.webhooks = policy;
        self
    }

    /// Sends every message due at `now` that this process can lease.
    pub async fn run_once(&self, pool: &Pool, now: DateTime<Utc>) -> Result<DispatchReport, String> {
        let channels: &'static [&'static str] = if self.mailer.is_some() { &["email", "webhook"] } else { &["webhook"] };
        let owner = self.owner.clone();
        let claim_pool = pool.clone();
        let claimed = web::block(move || -> Result<Vec<(Message, Option<Webhook>)>, String> {
            let mut conn = claim_pool.get().map_err(|e| e.to_string())?;
            let until = (now + Duration::seconds(LEASE)).naive_utc();
            let mut mine = Vec::new();
            for message in store::outbox::due(&mut conn, channels, now.naive_utc(), BATCH).map_err(|e| e.to_string())? {
                if store::outbox::claim(&mut conn, message.id, &owner, now.naive_utc(), until).map_err(|e| e.to_string())? {
                    let hook = match message.channel.as_str() {
                        "webhook" => store::outbox::find_webhook(&mut conn, &message.target).map_err(|e| e.to_string())?,
                        _ => None,
                    };
                    mine.push((message, hook));
                }
            }
            Ok(mine)
        })
        .await
        .map_err(|e| e.to_string())??;

        let mut report = DispatchReport::default();
        for (message, hook) in claimed {
            // One message that cannot be sent or recorded must not keep the
            // others waiting: its lease lapses and a later pass retries it.
            let attempted = message.clone();
            match isolated("notification", self.deliver(pool, message, hook, now)).await {
                Ok(true) => report.sent += 1,
                Ok(false) => report.failed += 1,
                Err(_) => {
                    report.failed += 1;
                    // Counted as an attempt, so a message that always breaks
                    // its unit is given up after MAX_ATTEMPTS, not retried forever.
                    let record_pool = pool.clone();
                    let _ = web::block(move || -> Result<(), String> {
                        let mut conn = record_pool.get().map_err(|e| e.to_string())?;
                        let retry = retry_at(attempted.attempts + 1, now);
                        store::outbox::mark_failed(&mut conn, &attempted, "internal error", None, retry).map_err(|e| e.to_string())
                    })
                    .await;
                }
            }
        }
        Ok(report)
    }

    /// Sends one message and records the outcome; `Ok(true)` when it was delivered.
    async fn deliver(&self, pool: &Pool, message: Message, hook: Option<Webhook>, now: DateTime<Utc>) -> Result<bool, String> {
        let outcome = match message.channel.as_str() {
            "email" => self.send_mail(&message).await,
            _ => self.send_webhook(&message, hook.as_ref(), now).await,
        };
        let delivered = outcome.is_ok();
        let record_pool = pool.clone();
        web::block(move || -> Result<(), String> {
            let mut conn = record_pool.get().map_err(|e| e.to_string())?;
            let done = match outcome {
                Ok(code) => store::outbox::mark_sent(&mut conn, message.id, code, now.naive_utc()),
                Err((error, code)) => {
                    tracing::warn!(id = message.id, channel = %message.channel, %error, "notification not delivered");
                    store::outbox::mark_failed(&mut conn, &message, &error, code, retry_at(message.attempts + 1, now))
                }
            };
            done.map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??;
        Ok(delivered)
    }

    async fn send_mail(&self, message: &Message) -> Outcome {
        let mailer = self.mailer.as_ref().ok_or_else(|| ("no SMTP server configured".to_string(), None))?;
        let to: Mailbox = message.target.parse().map_err(|e| (format!("bad address {}: {e}", message.target), None))?;
        let mail = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone().unwrap_or_default())
            .header(if message.topic == "report.steering" { ContentType::TEXT_HTML } else { ContentType::TEXT_PLAIN })
            .body(message.body.clone())
            .map_err(|e| (e.to_string(), None))?;
        match mailer.send(mail).await {
            Ok(response) => Ok(Some(response.code().to_string().parse().unwrap_or(250))),
            Err(e) => Err((e.to_string(), None)),
        }
    }

    async fn send_webhook(&self, message: &Message, hook: Option<&Webhook>, now: DateTime<Utc>) -> Outcome {
        let hook = hook.ok_or_else(|| ("subscription deleted".to_string(), None))?;
        let refused = |r: super::egress::Refusal| (r.category().to_string(), None);
        // Checked again at each delivery: the allow-list may have shrunk and
        // the name may point elsewhere since the client subscribed.
        let url = self.webhooks.check_url(&hook.url).map_err(refused)?;
        let addresses = self.webhooks.resolve(&url).await.map_err(refused)?;
        let connector = awc::Connector::new()
            .rustls_0_23(self.tls.clone())
            .timeout(StdDuration::from_secs(5))
            .connector(CheckedAddresses(addresses.into()));
        let http = awc::Client::builder().connector(connector).disable_redirects().timeout(StdDuration::from_secs(10)).finish();
        let timestamp = now.timestamp();
        let response = http
            .post(url.as_str())
            .insert_header(("content-type", "application/json"))
            .insert_header(("x-exampost-event", message.topic.as_str()))
            .insert_header(("x-exampost-delivery", message.id.to_string()))
            .insert_header(("x-exampost-timestamp", timestamp.to_string()))
            .insert_header(("x-exampost-signature", format!("sha256={}", signature(&hook.secret, timestamp, &message.body))))
            .send_body(message.body.clone())
            .await
            .map_err(|e| (failure_category(&e).to_string(), None))?;
        let code = i32::from(response.status().as_u16());
        if response.status().is_success() {
            Ok(Some(code))
        } else {
            // Redirects are answers, not directions: following one would let
            // a public endpoint send us to an internal address.
            Err((format!("answered {code}"), Some(code)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour_then_gives_up() {
        let now: DateTime<Utc> = "2026-07-15T08:00:00Z".parse().expect("a time");
        let wait = |n| (retry_at(n, now).unwrap() - now.naive_utc()).num_seconds();
        assert_eq!((wait(1), wait(2), wait(3)), (30, 60, 120));
        assert_eq!(wait(10), 3600);
        assert!(retry_at(MAX_ATTEMPTS, now).is_none());
    }

    #[actix_rt::test]
    async fn a_panicking_or_failing_unit_stays_its_own() {
        let mut done = Vec::new();
        for unit in 0..4 {
            let outcome = isolated("test", async move {
                match unit {
                    1 => panic!("unit {unit} breaks"),
                    2 => Err("unit 2 fails".to_string()),
                    _ => Ok(unit),
                }
            })
            .await;
            done.push(outcome);
        }
        assert_eq!(done, vec![Ok(0), Err("internal error".into()), Err("unit 2 fails".into()), Ok(3)]);
    }

    #[test]
    fn signature_covers_timestamp_and_body() {
        let a = signature("s3cret", 1_700_000_000, "{}");
        assert_eq!(a.len(), 64);
        assert_ne!(a, signature("s3cret", 1_700_000_001, "{}"));
        assert_ne!(a, signature("other", 1_700_000_000, "{}"));
    }
}
