//! Group commit for single scans. Each `POST /items/{n}/events` would
//! otherwise be a write transaction of its own, and SQLite runs one writer at
//! a time: at 64 concurrent scanners the begin, the statement preparation and
//! the commit of each were most of the work. One writer thread takes every
//! scan waiting at that moment and records them in one transaction through
//! the same set-based path as a batch; each caller gets its own outcome.
//! A scan is answered only after its transaction committed, so an
//! acknowledged scan is as durable as before.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use tokio::sync::oneshot;

use super::dto::BatchEventEntry;
use super::ingest::{record_each, Outcome};
use crate::api::auth::Caller;
use crate::api::problem::ApiError;
use crate::clock::Clock;
use crate::db::faults::MaybeTransient;
use crate::db::Pool;

/// Scans recorded in one transaction at most.
const MAX_GROUP: usize = 256;
/// Scans waiting at most; beyond that a scan gets 503 and the carrier retries.
const MAX_WAITING: usize = 4096;

struct Job {
    caller: Caller,
    entry: BatchEventEntry,
    reply: oneshot::Sender<Result<Outcome, ApiError>>,
}

/// The way into the writer thread.
#[derive(Clone)]
pub struct IngestQueue {
    jobs: SyncSender<Job>,
}

impl IngestQueue {
    /// Starts the writer thread; it stops when the last handle is dropped.
    pub fn start(pool: Pool, clock: Arc<dyn Clock>) -> IngestQueue {
        let (jobs, waiting) = sync_channel(MAX_WAITING);
        std::thread::Builder::new()
            .name("scan-writer".into())
            .spawn(move || write_groups(&pool, clock.as_ref(), &waiting))
            .expect("start the scan writer thread");
        IngestQueue { jobs }
    }

    /// Records one scan with whatever others are waiting, and returns its outcome.
    pub async fn record(&self, caller: Caller, entry: BatchEventEntry) -> Result<Outcome, ApiError> {
        let (reply, outcome) = oneshot::channel();
        match self.jobs.try_send(Job { caller, entry, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(ApiError::Unavailable),
            Err(TrySendError::Disconnected(_)) => return Err(ApiError::internal("the scan writer has stopped")),
        }
        outcome.await.map_err(|_| ApiError::internal("the scan writer dropped a scan"))?
    }
}

fn write_groups(pool: &Pool, clock: &dyn Clock, waiting: &Receiver<Job>) {
    while let Ok(first) = waiting.recv() {
        let mut group = vec![first];
        group.extend(waiting.try_iter().take(MAX_GROUP - 1));
        match record_group(pool, clock, &group) {
            Ok(outcomes) => answer(group, outcomes),
            // One scan must not sink the others: a group that failed for any
            // reason but the database being away is tried again scan by scan.
            Err(e) if group.len() > 1 && !matches!(e, ApiError::Unavailable | ApiError::Transient(_)) => {
                tracing::warn!(error = ?e, scans = group.len(), "a group of scans failed; recording them one by one");
                for job in group {
                    let outcome = record_group(pool, clock, std::slice::from_ref(&job));
                    let _ = job.reply.send(outcome.map(|mut o| o.remove(0)));
                }
            }
            Err(e) => {
                for job in group {
                    let error = match e {
                        ApiError::Unavailable => ApiError::Unavailable,
                        ApiError::Transient(kind) => ApiError::Transient(kind),
                        _ => ApiError::internal(format!("recording the scan failed: {e:?}")),
                    };
                    let _ = job.reply.send(Err(error));
                }
            }
        }
    }
}

fn record_group(pool: &Pool, clock: &dyn Clock, group: &[Job]) -> Result<Vec<Outcome>, ApiError> {
    let mut conn = pool.get().map_err(|e| {
        tracing::warn!(error = %e, "no database connection for scans");
        ApiError::Unavailable
    })?;
    let entries = group.iter().map(|job| (&job.caller, Ok(job.entry.clone()))).collect();
    let outcomes = record_each(&mut conn, entries, clock.now()).inspect_err(|e| pool.write_health().observe(e.transient()))?;
    Ok(outcomes.into_iter().map(|(outcome, _)| outcome).collect())
}

fn answer(group: Vec<Job>, outcomes: Vec<Outcome>) {
    for (job, outcome) in group.into_iter().zip(outcomes) {
        let _ = job.reply.send(Ok(outcome));
    }
}
