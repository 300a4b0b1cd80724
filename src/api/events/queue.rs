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
    serve_groups(waiting, |group| record_group(pool, clock, group));
}

/// The writer's loop, over any way of recording a group. One scan must not
/// sink the others, nor the thread: a group that failed or panicked for any
/// reason but the database being away is tried again scan by scan, each
/// under its own guard, so only the scan at fault gets an error.
fn serve_groups(waiting: &Receiver<Job>, mut record: impl FnMut(&[Job]) -> Result<Vec<Outcome>, ApiError>) {
    while let Ok(first) = waiting.recv() {
        let mut group = vec![first];
        group.extend(waiting.try_iter().take(MAX_GROUP - 1));
        match guarded(&mut record, &group) {
            Ok(outcomes) => answer(group, outcomes),
            // One scan must not sink the others: a group that failed for any
            // reason but the database being away is tried again scan by scan.
            Err(e) if group.len() > 1 && !matches!(e, ApiError::Unavailable | ApiError::Transient(_)) => {
                tracing::warn!(error = ?e, scans = group.len(), "a group of scans failed; recording them one by one");
                for job in group {
                    let outcome = guarded(&mut record, std::slice::from_ref(&job)).and_then(|outcomes| {
                        outcomes.into_iter().next().ok_or_else(|| ApiError::internal("no outcome for the scan"))
                    });
                    if let Err(e @ ApiError::Internal(_)) = &outcome {
                        tracing::error!(error = ?e, client_event_id = %job.entry.event.client_event_id, "a scan could not be recorded");
                    }
                    let _ = job.reply.send(outcome);
                }
            }
            Err(e) => {
                if group.len() == 1 && matches!(e, ApiError::Internal(_)) {
                    tracing::error!(error = ?e, client_event_id = %group[0].entry.event.client_event_id, "a scan could not be recorded");
                }
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

/// Runs `record` on a group, turning a panic into an internal error. A
/// connection a panic left inside a transaction is not reused: the pool
/// discards connections whose transaction state is broken.
fn guarded(record: &mut impl FnMut(&[Job]) -> Result<Vec<Outcome>, ApiError>, group: &[Job]) -> Result<Vec<Outcome>, ApiError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| record(group))) {
        Ok(Ok(outcomes)) if outcomes.len() == group.len() => Ok(outcomes),
        Ok(Ok(_)) => Err(ApiError::internal("recording returned a different number of outcomes than scans")),
        Ok(Err(e)) => Err(e),
        Err(panic) => {
            let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
            Err(ApiError::internal(format!("recording panicked: {what}")))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::events::{EventDetail, NewEventRequest};
    use crate::api::problem::Problem;
    use crate::domain::Role;

    fn job(client_event_id: &str) -> (Job, oneshot::Receiver<Result<Outcome, ApiError>>) {
        let (reply, answer) = oneshot::channel();
        let caller = Caller { client_id: "c".into(), org_id: "o".into(), role: Role::Carrier, province: "phu-tho".into() };
        let event = NewEventRequest {
            client_event_id: client_event_id.into(),
            occurred_at: "2026-07-15T08:15:00+07:00".into(),
            office_code: "VNP-290000".into(),
            office_name: None,
            operator_id: None,
            device_id: None,
            detail: EventDetail::Accepted {},
        };
        (Job { caller, entry: BatchEventEntry { tracking_number: "RR473124829VN".into(), season: None, event }, reply }, answer)
    }

    fn accepted(id: &str) -> Outcome {
        Outcome::Rejected(Problem { kind: format!("/problems/test-{id}"), title: String::new(), status: 299, detail: id.into(), errors: vec![], existing_id: None })
    }

    /// A recorder that panics on the scan `poison` and records the rest.
    fn recorder(group: &[Job]) -> Result<Vec<Outcome>, ApiError> {
        group
            .iter()
            .map(|job| {
                let id = &job.entry.event.client_event_id;
                assert!(id != "poison", "a scan that breaks the recorder");
                Ok(accepted(id))
            })
            .collect()
    }

    fn detail(answer: Result<Outcome, ApiError>) -> Result<String, String> {
        match answer {
            Ok(Outcome::Rejected(problem)) => Ok(problem.detail),
            Ok(_) => Err("unexpected outcome".into()),
            Err(e) => Err(format!("{e:?}")),
        }
    }

    #[test]
    fn a_panicking_scan_fails_alone_and_the_writer_carries_on() {
        let (jobs, waiting) = sync_channel(16);
        let mut answers = Vec::new();
        // One group: the poisoned scan sits between two good ones.
        for id in ["a", "poison", "b"] {
            let (job, answer) = job(id);
            jobs.send(job).unwrap();
            answers.push(answer);
        }
        let writer = std::thread::spawn(move || serve_groups(&waiting, recorder));
        let answers: Vec<_> = answers.into_iter().map(|a| detail(a.blocking_recv().unwrap())).collect();
        assert_eq!(answers[0], Ok("a".to_string()));
        assert!(matches!(&answers[1], Err(e) if e.contains("panicked") && e.contains("breaks the recorder")), "{:?}", answers[1]);
        assert_eq!(answers[2], Ok("b".to_string()));

        // A later scan on its own still goes through the same thread.
        let (later, answer) = job("later");
        jobs.send(later).unwrap();
        assert_eq!(detail(answer.blocking_recv().unwrap()), Ok("later".to_string()));
        let (poison, answer) = job("poison");
        jobs.send(poison).unwrap();
        assert!(detail(answer.blocking_recv().unwrap()).is_err());
        drop(jobs);
        writer.join().expect("the writer thread ends cleanly when the queue closes");
    }
}
