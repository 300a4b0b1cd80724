//! The dispatcher: sends what the outbox holds, by SMTP (lettre) and HTTP
//! (signed webhooks), and records each outcome. Several processes may run
//! it: a message is leased before it is sent, so only one sends it; a
//! crash after sending and before recording lets the lease lapse, and the
//! message is sent again (at least once, never lost).

use std::time::Duration as StdDuration;

use actix_web::web;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::Sha256;

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
    http: awc::Client,
    owner: String,
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
        let http = awc::Client::builder().timeout(StdDuration::from_secs(10)).finish();
        Ok(Dispatcher { mailer, from, http, owner: uuid::Uuid::new_v4().to_string() })
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
            let outcome = match message.channel.as_str() {
                "email" => self.send_mail(&message).await,
                _ => self.send_webhook(&message, hook.as_ref(), now).await,
            };
            if outcome.is_ok() {
                report.sent += 1;
            } else {
                report.failed += 1;
            }
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
        }
        Ok(report)
    }

    async fn send_mail(&self, message: &Message) -> Outcome {
        let mailer = self.mailer.as_ref().ok_or_else(|| ("no SMTP server configured".to_string(), None))?;
        let to: Mailbox = message.target.parse().map_err(|e| (format!("bad address {}: {e}", message.target), None))?;
        let mail = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone().unwrap_or_default())
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| (e.to_string(), None))?;
        match mailer.send(mail).await {
            Ok(response) => Ok(Some(response.code().to_string().parse().unwrap_or(250))),
            Err(e) => Err((e.to_string(), None)),
        }
    }

    async fn send_webhook(&self, message: &Message, hook: Option<&Webhook>, now: DateTime<Utc>) -> Outcome {
        let hook = hook.ok_or_else(|| ("the subscription was deleted".to_string(), None))?;
        let timestamp = now.timestamp();
        let response = self
            .http
            .post(&hook.url)
            .insert_header(("content-type", "application/json"))
            .insert_header(("x-exampost-event", message.topic.as_str()))
            .insert_header(("x-exampost-delivery", message.id.to_string()))
            .insert_header(("x-exampost-timestamp", timestamp.to_string()))
            .insert_header(("x-exampost-signature", format!("sha256={}", signature(&hook.secret, timestamp, &message.body))))
            .send_body(message.body.clone())
            .await
            .map_err(|e| (e.to_string(), None))?;
        let code = response.status().as_u16() as i32;
        if response.status().is_success() {
            Ok(Some(code))
        } else {
            Err((format!("the endpoint answered {code}"), Some(code)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour_then_gives_up() {
        let now = Utc::now();
        let wait = |n| (retry_at(n, now).unwrap() - now.naive_utc()).num_seconds();
        assert_eq!((wait(1), wait(2), wait(3)), (30, 60, 120));
        assert_eq!(wait(10), 3600);
        assert!(retry_at(MAX_ATTEMPTS, now).is_none());
    }

    #[test]
    fn signature_covers_timestamp_and_body() {
        let a = signature("s3cret", 1_700_000_000, "{}");
        assert_eq!(a.len(), 64);
        assert_ne!(a, signature("s3cret", 1_700_000_001, "{}"));
        assert_ne!(a, signature("other", 1_700_000_000, "{}"));
    }
}
