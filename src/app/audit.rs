//! The read audit: every read of candidates' personal data by staff is on
//! record (who, when, from where, which items or which query and how many,
//! which fields) before the data leaves the service.
//!
//! Entries are queued before the answer is sent and written by one thread
//! in groups. A reader does not wait for the commit: measured, waiting cost
//! lists a third of their throughput (SQLite, 8 connections). A group that
//! cannot be written is kept and retried; when the queue is full, reads of
//! personal data are refused (503) until the database takes entries again.
//! A stop drains the queue (`flush`); only a crash can lose the entries of
//! the last few milliseconds.

use std::collections::BTreeSet;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

use chrono::NaiveDateTime;
use tokio::sync::oneshot;

use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::{DbConn, Pool, TextList};
use crate::domain::exposure::{exposure, Exposure};
use crate::domain::{fields, s10, FieldErrors, ReadAction, Role};
use crate::store::audit::{AuditEntry, AuditFilter, NewAuditEntry};
use crate::store::items::Item;
use crate::store::{self};

/// Entries written in one transaction at most.
const MAX_GROUP: usize = 512;
/// Entries waiting at most; beyond that a read gets 503 and the client retries.
const MAX_WAITING: usize = 8192;
/// A list page names its items up to this many; a longer read keeps its query and count.
const NAMED_ITEMS: usize = 100;

/// How a read came: the reader, its address, and for lists and exports the
/// filters it used.
#[derive(Debug, Clone)]
pub struct Reading<'a> {
    pub actor: &'a Actor,
    pub address: Option<String>,
    pub action: ReadAction,
    pub query: Option<String>,
}

/// The audit entry of a read of `items`, or `None` when it showed nothing
/// personal (an overseer's lists, an institution's items).
pub fn entry_of(reading: &Reading, items: &[Item], at: NaiveDateTime) -> Option<NewAuditEntry> {
    let mut shown = Exposure::NONE;
    let mut provinces = BTreeSet::new();
    let mut numbers = Vec::new();
    for item in items.iter().filter(|item| item.candidate_name.is_some()) {
        shown = shown.union(exposure(reading.actor.reader_of(item)));
        provinces.insert(item.dest_province.as_str());
        numbers.push(item.tracking_number.as_str());
    }
    let fields = shown.fields();
    if fields.is_empty() {
        return None;
    }
    let named = reading.action == ReadAction::View || numbers.len() <= NAMED_ITEMS;
    Some(NewAuditEntry {
        at,
        client_id: reading.actor.client_id.clone(),
        org_id: reading.actor.org_id.clone(),
        role: reading.actor.role,
        address: reading.address.clone(),
        action: reading.action,
        tracking_numbers: named.then(|| numbers.join(",")),
        query: reading.query.clone(),
        item_count: numbers.len() as i64,
        fields: TextList::new(fields),
        provinces: format!(",{},", provinces.into_iter().collect::<Vec<_>>().join(",")),
    })
}

enum Job {
    Entry(NewAuditEntry),
    /// Answered once every entry sent before it is stored.
    Flush(oneshot::Sender<()>),
}

/// The way into the audit writer thread.
#[derive(Clone)]
pub struct ReadLog {
    jobs: SyncSender<Job>,
}

impl ReadLog {
    /// Starts the writer thread; it stores what is queued and stops when the
    /// last handle is dropped.
    pub fn start(pool: Pool) -> ReadLog {
        let (jobs, waiting) = sync_channel(MAX_WAITING);
        std::thread::Builder::new().name("audit-writer".into()).spawn(move || write_groups(&pool, &waiting)).expect("start the audit writer thread");
        ReadLog { jobs }
    }

    /// Queues the audit entry of a read of `items` (none when the read
    /// showed nothing personal). A full queue (the database has been away
    /// for a while) refuses the read: personal data is not shown unless its
    /// entry is held for writing.
    pub fn record(&self, clock: &dyn Clock, reading: &Reading<'_>, items: &[Item]) -> Result<(), Error> {
        let Some(entry) = entry_of(reading, items, store::stored_time(clock.now())) else {
            return Ok(());
        };
        match self.jobs.try_send(Job::Entry(entry)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(Error::Unavailable),
            Err(TrySendError::Disconnected(_)) => Err(Error::internal("the audit writer has stopped")),
        }
    }

    /// Waits until every entry queued before is stored: reading the audit
    /// (or stopping the service) sees every read made before.
    pub async fn flush(&self) -> Result<(), Error> {
        let (done, stored) = oneshot::channel();
        let jobs = self.jobs.clone();
        // `send` blocks while the queue is full: off the async workers.
        actix_web::rt::task::spawn_blocking(move || jobs.send(Job::Flush(done)))
            .await
            .map_err(|_| Error::internal("the audit flush stopped"))?
            .map_err(|_| Error::internal("the audit writer has stopped"))?;
        stored.await.map_err(|_| Error::internal("the audit writer has stopped"))
    }
}

/// The writer's loop. Entries waiting together are stored in one
/// transaction; a group that cannot be stored (the database is away, the
/// disk is full) is kept and tried again, while new reads queue behind it
/// until the queue is full.
fn write_groups(pool: &Pool, waiting: &Receiver<Job>) {
    while let Ok(first) = waiting.recv() {
        let mut group = vec![first];
        collect_group(waiting, &mut group);
        let (entries, flushes): (Vec<Job>, Vec<Job>) = group.into_iter().partition(|job| matches!(job, Job::Entry(_)));
        let entries: Vec<NewAuditEntry> = entries.into_iter().filter_map(|job| if let Job::Entry(entry) = job { Some(entry) } else { None }).collect();
        store_with_retries(pool, &entries);
        for job in flushes {
            if let Job::Flush(done) = job {
                let _ = done.send(());
            }
        }
    }
}

/// Collects what arrives within `GATHER` of the first entry (or until a
/// flush asks): fewer, larger commits. Each commit rewrites the table's last
/// pages, and on SQLite a stream of tiny commits grows the write-ahead log
/// that every concurrent reader consults.
fn collect_group(waiting: &Receiver<Job>, group: &mut Vec<Job>) {
    let until = std::time::Instant::now() + GATHER;
    while group.len() < MAX_GROUP && !matches!(group.last(), Some(Job::Flush(_))) {
        let left = until.saturating_duration_since(std::time::Instant::now());
        match waiting.recv_timeout(left) {
            Ok(job) => group.push(job),
            Err(_) => break,
        }
    }
}

/// How long the writer gathers entries before a commit.
const GATHER: std::time::Duration = std::time::Duration::from_millis(25);

/// How many times a group that fails for another reason than the database
/// being away is tried before its entries are logged and dropped.
const ATTEMPTS_ON_ERROR: u32 = 5;

fn store_with_retries(pool: &Pool, entries: &[NewAuditEntry]) {
    if entries.is_empty() {
        return;
    }
    let mut delay = std::time::Duration::from_millis(50);
    let mut errors = 0;
    loop {
        // A panic must not take the writer down with it: every later read would fail.
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(pool, entries)))
            .unwrap_or_else(|_| Err(Error::internal("writing the read audit panicked")));
        match written {
            Ok(()) => return,
            Err(e @ (Error::Unavailable | Error::Transient(_))) => {
                tracing::warn!(error = ?e, entries = entries.len(), "the read audit waits for the database");
            }
            Err(e) => {
                errors += 1;
                if errors >= ATTEMPTS_ON_ERROR {
                    // Entries hold no personal values: the log keeps what the table could not.
                    for entry in entries {
                        tracing::error!(error = ?e, entry = ?entry, "a read audit entry could not be stored");
                    }
                    return;
                }
            }
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(std::time::Duration::from_secs(5));
    }
}

fn write(pool: &Pool, entries: &[NewAuditEntry]) -> Result<(), Error> {
    let mut conn = pool.get().map_err(|_| Error::Unavailable)?;
    conn.write_transaction(|conn| store::audit::append(conn, entries))?;
    Ok(())
}

/// Which audit entries to read, as the reader gave them.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// The first day, in Vietnam (`YYYY-MM-DD` or `dd/mm/yyyy`).
    pub from: Option<String>,
    /// The last day, in Vietnam.
    pub to: Option<String>,
    pub client_id: Option<String>,
    /// An organization's code: reads by its clients.
    pub organization: Option<String>,
    pub action: Option<String>,
    pub tracking_number: Option<String>,
}

/// The start of a day in Vietnam, in stored (UTC) time.
fn day_start(day: chrono::NaiveDate) -> Option<NaiveDateTime> {
    let local = day.and_hms_opt(0, 0, 0)?;
    chrono::TimeZone::from_local_datetime(&chrono_tz::Asia::Ho_Chi_Minh, &local).earliest().map(|t| t.naive_utc())
}

fn filter_of(conn: &mut DbConn, actor: &Actor, query: &AuditQuery) -> Result<AuditFilter, Error> {
    let mut errors = FieldErrors::default();
    let from = query.from.as_deref().and_then(|t| errors.check("from", fields::date(t))).and_then(day_start);
    let before = query.to.as_deref().and_then(|t| errors.check("to", fields::date(t))).and_then(|d| d.succ_opt()).and_then(day_start);
    if let (Some(from), Some(before)) = (from, before) {
        if before <= from {
            errors.push("to", "must not be before from");
        }
    }
    let action = query.action.as_deref().and_then(|a| errors.check("action", a.trim().parse::<ReadAction>().map_err(|_| "must be view, list or export".to_string())));
    let tracking_number = query.tracking_number.as_deref().and_then(|n| errors.check("tracking_number", s10::normalize(n).map_err(|e| e.to_string())));
    let org_id = match query.organization.as_ref().map(|c| c.trim().to_uppercase()) {
        Some(code) => {
            let found = store::organizations::find_by_code(conn, &code)?;
            errors.check("organization", found.map(|o| o.id).ok_or_else(|| format!("no organization with code {code}")))
        }
        None => None,
    };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors.0));
    }
    Ok(AuditFilter {
        province: (actor.role == Role::Overseer).then(|| actor.province.clone()),
        from,
        before,
        client_id: query.client_id.clone(),
        org_id,
        action,
        tracking_number,
    })
}

/// The audit as an admin (everything) or an overseer (reads of its
/// province's candidates) may read it, newest first, below `before_id`.
pub fn list(conn: &mut DbConn, actor: &Actor, query: &AuditQuery, before_id: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>, Error> {
    actor.require(&[Role::Admin, Role::Overseer])?;
    let filter = filter_of(conn, actor, query)?;
    Ok(store::audit::list(conn, &filter, before_id, limit)?)
}
