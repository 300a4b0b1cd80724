//! The public lookups' throttles. Their counts live in the database
//! (`throttle_counters`), so every replica enforces the same limits.
//!
//! Lookups per address: every lookup counts, and a write per lookup would
//! cost more than the lookup (and serialise SQLite). So each process counts
//! in memory and, about once a second, adds its counts to the shared rows
//! and reads back the totals of the addresses it has seen. A decision uses
//! the last total read plus what this process has counted since, so the
//! limit holds across replicas within about a second.
//!
//! Wrong guesses of a second factor are rare and written at once. The rules
//! (per "subject": a tracking number, or a candidate number in a season):
//! - an address that guessed wrong [`WRONG_PER_ADDRESS`] times is locked out
//!   of that subject until the hour is over: this stops the common case, one
//!   guesser, without touching anyone else;
//! - all addresses together get [`WRONG_PER_SUBJECT`] wrong guesses a day
//!   (a day in Vietnam) before the subject is "under attack";
//! - under attack every address still gets [`ATTEMPTS_WHEN_SPENT`] attempts a
//!   day, right or wrong, so the real candidate gets in while a guesser with
//!   K addresses is held to `WRONG_PER_SUBJECT + ATTEMPTS_WHEN_SPENT × K` a day.
//!
//! Within a process the guesses for one subject are judged one at a time, so
//! a burst of concurrent guesses cannot all pass the check before any of them
//! is counted; across replicas a burst overshoots by at most one per replica.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::QueryResult;

use super::client_addr::{client_addr, limit_key};
use super::problem::{Problem, PROBLEM_JSON};
use super::AppState;
use crate::db::DbConn;
use crate::store::throttle::{self as counters, Increment};

const ADDRESS_WINDOW_SECS: i64 = 60;
/// Wrong guesses per subject from one address before it is locked out of that subject.
pub const WRONG_PER_ADDRESS: i64 = 5;
/// How long such a lock lasts at most: to the end of the current hour.
const ADDRESS_LOCK_SECS: i64 = 3600;
/// Wrong guesses per subject from all addresses together, per day.
pub const WRONG_PER_SUBJECT: i64 = 10;
/// Attempts per subject and address per day once the shared budget is spent.
pub const ATTEMPTS_WHEN_SPENT: i64 = 2;
const DAY_SECS: i64 = 86_400;
/// Days start at midnight in Vietnam, when candidates' days do.
const VIETNAM_OFFSET_SECS: i64 = 7 * 3600;
/// Locks serialising guesses; a collision only makes two lookups wait in turn.
const GUESS_STRIPES: usize = 256;
/// How often a process adds its lookup counts to the shared ones.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Expired counters are removed this often (in flushes).
const PURGE_EVERY_FLUSHES: u32 = 60;

/// Requests allowed per address and minute, across all replicas: public
/// lookups, and token and sign-in requests (each its own count).
pub struct AddressLimit {
    /// What is counted; the shared rows' names start with it.
    name: &'static str,
    per_minute: i64,
    local: Mutex<LocalCounts>,
}

#[derive(Default)]
struct LocalCounts {
    window: i64,
    /// Per address, this window: the last total read back plus what was flushed since.
    known: HashMap<IpAddr, i64>,
    /// Counted here and not yet added to the shared rows, per window and address.
    pending: HashMap<AddressWindow, i64>,
}

/// One address's lookups in one window: what a shared counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct AddressWindow {
    window: i64,
    addr: IpAddr,
}

impl AddressWindow {
    fn bucket(&self, name: &str) -> String {
        format!("{name}:{}:{}", self.addr, self.window)
    }

    /// The shared counter outlives its window by one, for late flushes.
    fn expires_at(&self) -> i64 {
        (self.window + 2) * ADDRESS_WINDOW_SECS
    }
}

/// Seconds from `now` to the end of the fixed window of `length` containing it.
fn seconds_left(now: i64, length: i64, offset: i64) -> u64 {
    let end = ((now + offset).div_euclid(length) + 1) * length - offset;
    u64::try_from(end - now).unwrap_or(1).max(1)
}

impl AddressLimit {
    /// The public lookups' limit.
    pub fn new(per_minute: u32) -> Self {
        Self::named("lookups", per_minute)
    }

    pub fn named(name: &'static str, per_minute: u32) -> Self {
        AddressLimit { name, per_minute: i64::from(per_minute.max(1)), local: Mutex::new(LocalCounts::default()) }
    }

    /// Counts one lookup from `addr`, or says how many seconds it must wait.
    pub fn admit(&self, addr: IpAddr, now: DateTime<Utc>) -> Result<(), u64> {
        let now = now.timestamp();
        let window = now.div_euclid(ADDRESS_WINDOW_SECS);
        // A panic elsewhere cannot leave these plain counts half-updated.
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        if local.window != window {
            local.window = window;
            local.known.clear();
        }
        let known = local.known.get(&addr).copied().unwrap_or(0);
        let pending = local.pending.entry(AddressWindow { window, addr }).or_insert(0);
        if known + *pending >= self.per_minute {
            return Err(seconds_left(now, ADDRESS_WINDOW_SECS, 0));
        }
        *pending += 1;
        Ok(())
    }

    /// Adds what this process counted to the shared counts and learns the
    /// totals of those addresses. Returns how many addresses were sent.
    pub fn flush(&self, conn: &mut DbConn) -> QueryResult<usize> {
        let taken = {
            let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
            let taken = std::mem::take(&mut local.pending);
            let window = local.window;
            // Until the totals come back, the flushed counts still count here.
            for (counted, hits) in &taken {
                if counted.window == window {
                    *local.known.entry(counted.addr).or_insert(0) += hits;
                }
            }
            taken
        };
        let sent: Vec<AddressWindow> = taken.iter().filter(|(_, hits)| **hits > 0).map(|(counted, _)| *counted).collect();
        if sent.is_empty() {
            return Ok(0);
        }
        let increments: Vec<Increment> =
            sent.iter().map(|counted| Increment { bucket: counted.bucket(self.name), hits: taken[counted], expires_at: counted.expires_at() }).collect();
        let totals = counters::add(conn, &increments)?;
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        let current = local.window;
        for (counted, increment) in sent.iter().zip(&increments) {
            if let (true, Some(total)) = (counted.window == current, totals.get(&increment.bucket)) {
                let known = local.known.entry(counted.addr).or_insert(0);
                *known = (*known).max(*total);
            }
        }
        Ok(sent.len())
    }
}

/// Failed attempts per key (a client id, a person's e-mail) in fixed
/// windows, counted in the database so that every replica sees them. They
/// are rare, so each is written at once.
#[derive(Debug, Clone, Copy)]
pub struct SharedFailures {
    limit: i64,
    window_secs: i64,
}

impl SharedFailures {
    pub fn new(limit: u32, window: Duration) -> Self {
        SharedFailures { limit: i64::from(limit.max(1)), window_secs: i64::try_from(window.as_secs()).unwrap_or(86_400).max(1) }
    }

    /// The key may be anything a caller sent: the row is named by its digest.
    fn bucket(&self, key: &str, now: i64) -> (String, i64) {
        use sha2::{Digest, Sha256};
        let window = now.div_euclid(self.window_secs);
        (format!("failures:{}:{window}", hex::encode(&Sha256::digest(key.as_bytes())[..16])), (window + 1) * self.window_secs)
    }

    /// Whole seconds until `key` may try again, if it has used up its window.
    pub fn blocked_for(&self, conn: &mut DbConn, key: &str, now: DateTime<Utc>) -> QueryResult<Option<u64>> {
        let (bucket, ends) = self.bucket(key, now.timestamp());
        let failures = counters::total_of(conn, &bucket)?;
        Ok((failures >= self.limit).then(|| u64::try_from(ends - now.timestamp()).unwrap_or(1).max(1)))
    }

    /// Counts one failure of `key`.
    pub fn record(&self, conn: &mut DbConn, key: &str, now: DateTime<Utc>) -> QueryResult<()> {
        let (bucket, expires_at) = self.bucket(key, now.timestamp());
        counters::add(conn, &[Increment { bucket, hits: 1, expires_at }]).map(|_| ())
    }
}

/// Makes the guesses for one subject wait their turn in this process.
pub struct GuessThrottle {
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl Default for GuessThrottle {
    fn default() -> Self {
        GuessThrottle { stripes: (0..GUESS_STRIPES).map(|_| tokio::sync::Mutex::new(())).collect() }
    }
}

impl GuessThrottle {
    /// Held while a guess for `subject` is checked, judged and counted.
    pub async fn one_at_a_time(&self, subject: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let mut hasher = DefaultHasher::new();
        subject.hash(&mut hasher);
        let stripe = usize::try_from(hasher.finish() % GUESS_STRIPES as u64).unwrap_or(0);
        self.stripes[stripe].lock().await
    }
}

/// One attempt at a second factor: what is guessed at, from where, when.
pub struct Guess {
    subject: String,
    addr: IpAddr,
    now: i64,
}

impl Guess {
    /// `subject` names what the factor unlocks, e.g. `item:EE123456789VN`.
    pub fn new(subject: String, addr: IpAddr, now: DateTime<Utc>) -> Self {
        Guess { subject, addr: limit_key(addr), now: now.timestamp() }
    }

    fn hour(&self) -> i64 {
        self.now.div_euclid(ADDRESS_LOCK_SECS)
    }

    fn day(&self) -> i64 {
        (self.now + VIETNAM_OFFSET_SECS).div_euclid(DAY_SECS)
    }

    fn day_ends(&self) -> i64 {
        (self.day() + 1) * DAY_SECS - VIETNAM_OFFSET_SECS
    }

    fn by_address(&self) -> Increment {
        Increment {
            bucket: format!("wrong:{}:{}:{}", self.subject, self.addr, self.hour()),
            hits: 1,
            expires_at: (self.hour() + 1) * ADDRESS_LOCK_SECS,
        }
    }

    fn by_subject(&self) -> Increment {
        Increment { bucket: format!("wrong:{}:{}", self.subject, self.day()), hits: 1, expires_at: self.day_ends() }
    }

    fn when_spent(&self) -> Increment {
        Increment { bucket: format!("spent:{}:{}:{}", self.subject, self.addr, self.day()), hits: 1, expires_at: self.day_ends() }
    }

    /// Before the factor is checked: may this attempt be judged? `Err` holds
    /// the seconds to wait. Under attack this uses up one of the address's
    /// attempts, whatever the outcome.
    pub fn admit(&self, conn: &mut DbConn) -> QueryResult<Result<(), u64>> {
        let (by_address, by_subject) = (self.by_address(), self.by_subject());
        let totals = counters::totals_of_two(conn, &by_address.bucket, &by_subject.bucket)?;
        if totals.get(&by_address.bucket).copied().unwrap_or(0) >= WRONG_PER_ADDRESS {
            return Ok(Err(seconds_left(self.now, ADDRESS_LOCK_SECS, 0)));
        }
        if totals.get(&by_subject.bucket).copied().unwrap_or(0) >= WRONG_PER_SUBJECT {
            let spent = self.when_spent();
            let used = counters::add(conn, std::slice::from_ref(&spent))?.get(&spent.bucket).copied().unwrap_or(i64::MAX);
            if used > ATTEMPTS_WHEN_SPENT {
                return Ok(Err(seconds_left(self.now, DAY_SECS, VIETNAM_OFFSET_SECS)));
            }
        }
        Ok(Ok(()))
    }

    /// Counts a wrong factor against the address and the subject.
    pub fn wrong(&self, conn: &mut DbConn) -> QueryResult<()> {
        counters::add(conn, &[self.by_address(), self.by_subject()]).map(drop)
    }
}

/// A 429 problem with `Retry-After`.
pub fn throttled(kind: &str, title: &str, detail: String, seconds: u64) -> HttpResponse {
    let problem = Problem { kind: kind.into(), title: title.into(), status: 429, detail, errors: vec![], existing_id: None };
    HttpResponse::TooManyRequests()
        .insert_header(("retry-after", seconds.to_string()))
        .content_type(PROBLEM_JSON)
        .json(problem)
}

/// Middleware for the public scope: the per-address lookup limit.
pub async fn limit_lookups(req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
        let addr = limit_key(client_addr(req.request()));
        if let Err(seconds) = state.lookup_limit.admit(addr, state.clock.now()) {
            let detail = format!("too many lookups from your address; try again in {seconds} s");
            let response = throttled("/problems/too-many-requests", "Too many requests", detail, seconds);
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

/// One round of upkeep: flush the lookup and token-request counts and, when `purge`, remove
/// expired counters.
pub async fn flush_once(state: &web::Data<AppState>, purge: bool) -> Result<(), super::problem::ApiError> {
    let shared = state.clone();
    let now = state.clock.now().timestamp();
    state
        .db(move |conn| {
            shared.lookup_limit.flush(conn)?;
            shared.token_guard.attempts_by_address.flush(conn)?;
            if purge {
                counters::purge_expired(conn, now)?;
            }
            Ok(())
        })
        .await
}

/// Flushes every [`FLUSH_EVERY`] for as long as the server runs.
pub async fn flush_forever(state: web::Data<AppState>) {
    let mut tick = actix_web::rt::time::interval(FLUSH_EVERY);
    let mut rounds: u32 = 0;
    loop {
        tick.tick().await;
        rounds = rounds.wrapping_add(1);
        if let Err(e) = flush_once(&state, rounds.is_multiple_of(PURGE_EVERY_FLUSHES)).await {
            tracing::warn!(error = %e, "throttle counts not flushed; retrying next time");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_end_where_they_should() {
        assert_eq!(seconds_left(120, 60, 0), 60);
        assert_eq!(seconds_left(179, 60, 0), 1);
        // 16:59:59 UTC is 23:59:59 in Vietnam: one second of the day left.
        assert_eq!(seconds_left(DAY_SECS - VIETNAM_OFFSET_SECS - 1, DAY_SECS, VIETNAM_OFFSET_SECS), 1);
    }

    #[test]
    fn an_address_is_limited_per_window_in_one_process() {
        let limit = AddressLimit::new(2);
        let addr: IpAddr = "198.51.100.7".parse().unwrap();
        let start = DateTime::from_timestamp(600, 0).unwrap();
        assert_eq!((limit.admit(addr, start), limit.admit(addr, start)), (Ok(()), Ok(())));
        assert_eq!(limit.admit(addr, start + chrono::Duration::seconds(15)), Err(45));
        assert_eq!(limit.admit("198.51.100.8".parse().unwrap(), start), Ok(()));
        assert_eq!(limit.admit(addr, start + chrono::Duration::seconds(60)), Ok(()));
    }
}
