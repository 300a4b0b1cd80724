//! Group commit for single scans. Each `POST /items/{n}/events` would
//! otherwise be a write transaction of its own, and SQLite runs one writer at
//! a time: at 64 concurrent scanners the begin, the statement preparation and
//! the commit of each were most of the work. One writer thread takes every
//! scan waiting at that moment and records them in one transaction through
//! the same set-based path as a batch; each sender gets its own outcome.
//! A scan is answered only after its transaction committed, so an
//! acknowledged scan is as durable as before.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use tokio::sync::oneshot;

use super::command::RecordScan;
use super::record::{record_each, Outcome};
use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::faults::{MaybeTransient, Transient};
use crate::db::Pool;
use crate::domain::Role;

/// Scans recorded in one transaction at most.
const MAX_GROUP: usize = 256;
/// Scans waiting at most; beyond that a scan gets 503 and the carrier retries.
const MAX_WAITING: usize = 4096;

struct Job {
    actor: Actor,
    scan: RecordScan,
    reply: oneshot::Sender<Result<Outcome, Error>>,
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
    pub async fn record(&self, actor: Actor, scan: RecordScan) -> Result<Outcome, Error> {
        actor.require(&[Role::Carrier, Role::Admin])?;
        let (reply, outcome) = oneshot::channel();
        match self.jobs.try_send(Job { actor, scan, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(Error::Unavailable),
            Err(TrySendError::Disconnected(_)) => return Err(Error::internal("the scan writer has stopped")),
        }
        outcome.await.map_err(|_| Error::internal("the scan writer dropped a scan"))?
    }
}

fn write_groups(pool: &Pool, clock: &dyn Clock, waiting: &Receiver<Job>) {
    serve_groups(waiting, |group| record_group(pool, clock, group));
}

/// The database is away: every scan of the group gets the same answer, and
/// going one by one would not help.
fn database_away(e: &Error) -> bool {
    matches!(e, Error::Unavailable | Error::Transient(_))
}

/// The writer's loop, over any way of recording a group. One scan must not
/// sink the others, nor the thread: a group that failed or panicked for any
/// reason but the database being away is tried again scan by scan, each
/// under its own guard, so only the scan at fault gets an error.
fn serve_groups(waiting: &Receiver<Job>, mut record: impl FnMut(&[Job]) -> Result<Vec<Outcome>, Error>) {
    while let Ok(first) = waiting.recv() {
        let mut group = vec![first];
        group.extend(waiting.try_iter().take(MAX_GROUP - 1));
        let recorded = guarded(&mut record, &group);
        if recorded.is_err() {
            metrics::counter!(crate::telemetry::names::SCAN_WRITER_ERRORS).increment(1);
        }
        match recorded {
            Ok(outcomes) => answer(group, outcomes),
            Err(e) if group.len() > 1 && !database_away(&e) => {
                tracing::warn!(error = ?e, scans = group.len(), "a group of scans failed; recording them one by one");
                for job in group {
                    let outcome = guarded(&mut record, std::slice::from_ref(&job))
                        .and_then(|outcomes| outcomes.into_iter().next().ok_or_else(|| Error::internal("no outcome for the scan")));
                    if let Err(e @ Error::Internal(_)) = &outcome {
                        tracing::error!(error = ?e, client_event_id = %job.scan.client_event_id, "a scan could not be recorded");
                    }
                    let _ = job.reply.send(outcome);
                }
            }
            Err(e) => {
                if group.len() == 1 && matches!(e, Error::Internal(_)) {
                    tracing::error!(error = ?e, client_event_id = %group[0].scan.client_event_id, "a scan could not be recorded");
                }
                for job in group {
                    let error = match e {
                        Error::Unavailable => Error::Unavailable,
                        Error::Transient(kind) => Error::Transient(kind),
                        _ => Error::internal(format!("recording the scan failed: {e:?}")),
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
fn guarded(record: &mut impl FnMut(&[Job]) -> Result<Vec<Outcome>, Error>, group: &[Job]) -> Result<Vec<Outcome>, Error> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| record(group))) {
        Ok(Ok(outcomes)) if outcomes.len() == group.len() => Ok(outcomes),
        Ok(Ok(_)) => Err(Error::internal("recording returned a different number of outcomes than scans")),
        Ok(Err(e)) => Err(e),
        Err(panic) => {
            let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
            Err(Error::internal(format!("recording panicked: {what}")))
        }
    }
}

/// Records a group on a pooled connection. A connection found closed (the
/// pool lends one checked just now without another check, and the server
/// may have ended it since) is given up and the group is recorded again on
/// a checked one: nothing of it was stored, or it was and the scans are
/// replays.
fn record_group(pool: &Pool, clock: &dyn Clock, group: &[Job]) -> Result<Vec<Outcome>, Error> {
    let attempt = || {
        let mut conn = pool.get().map_err(|e| {
            tracing::warn!(error = %e, "no database connection for scans");
            Error::Unavailable
        })?;
        let scans = group.iter().map(|job| (&job.actor, &job.scan)).collect();
        record_each(&mut conn, scans, clock.now()).inspect_err(|e| pool.observe_failure(e.transient()))
    };
    let outcomes = match attempt() {
        Err(e) if e.transient() == Some(Transient::Connection) => attempt()?,
        recorded => recorded?,
    };
    Ok(outcomes.into_iter().map(|scan| scan.outcome).collect())
}

fn answer(group: Vec<Job>, outcomes: Vec<Outcome>) {
    for (job, outcome) in group.into_iter().zip(outcomes) {
        let _ = job.reply.send(Ok(outcome));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::scans::ScanDetail;

    fn job(client_event_id: &str) -> (Job, oneshot::Receiver<Result<Outcome, Error>>) {
        let (reply, answer) = oneshot::channel();
        let actor = Actor { client_id: "c".into(), org_id: "o".into(), role: Role::Carrier, province: "phu-tho".into(), reads_province: false };
        let scan = RecordScan {
            tracking_number: "RR473124829VN".into(),
            season: None,
            client_event_id: client_event_id.into(),
            occurred_at: "2026-07-15T08:15:00+07:00".into(),
            office_code: "VNP-290000".into(),
            office_name: None,
            operator_id: None,
            device_id: None,
            seal: None,
            detail: ScanDetail::Accepted,
        };
        (Job { actor, scan, reply }, answer)
    }

    /// An outcome that carries the scan's id back, to tell the answers apart.
    fn tagged(id: &str) -> Outcome {
        Outcome::Rejected(Error::NotFound(id.into()))
    }

    /// A recorder that panics on the scan `poison` and records the rest.
    fn recorder(group: &[Job]) -> Result<Vec<Outcome>, Error> {
        group
            .iter()
            .map(|job| {
                let id = &job.scan.client_event_id;
                assert!(id != "poison", "a scan that breaks the recorder");
                Ok(tagged(id))
            })
            .collect()
    }

    fn detail(answer: Result<Outcome, Error>) -> Result<String, String> {
        match answer {
            Ok(Outcome::Rejected(Error::NotFound(id))) => Ok(id),
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
