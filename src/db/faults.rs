//! Database failures that pass: which errors they are, how long a client
//! should wait before trying again, and whether the database currently
//! takes writes (what `/readyz` reports).

use std::sync::atomic::{AtomicBool, Ordering};

use diesel::connection::SimpleConnection;
use diesel::result::{DatabaseErrorKind, Error};

use super::DbConn;

/// A database failure after which the same request may well succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// A deadlock (PostgreSQL 40P01) or serialization failure (40001): the
    /// database aborted our transaction so that another could go on.
    /// Running ours again normally succeeds at once.
    Conflict,
    /// Another writer held the lock longer than we wait (SQLITE_BUSY after
    /// `busy_timeout`, PostgreSQL lock or statement timeouts).
    Busy,
    /// The database cannot store anything: disk full (SQLITE_FULL,
    /// PostgreSQL 53100), a read-only file or file system, an I/O error.
    /// Lasts until an operator frees space; `/readyz` reports it.
    Storage,
    /// The connection to PostgreSQL was lost (a restart, a failover), or no
    /// connection could be had from the pool in time.
    Connection,
}

impl Transient {
    /// Seconds a client should wait before retrying (the `Retry-After` header).
    pub fn retry_after_seconds(self) -> u32 {
        match self {
            Transient::Conflict => 1,
            Transient::Busy => 2,
            Transient::Connection => 5,
            Transient::Storage => 30,
        }
    }

    /// What a client is told (never the database's own text: it names files and tables).
    pub fn detail(self) -> &'static str {
        match self {
            Transient::Conflict => "concurrent requests touched the same records and this one could not be completed; retry it",
            Transient::Busy => "the database is busy with other writes; retry shortly",
            Transient::Storage => "the database cannot store data at the moment; nothing was changed, retry later",
            Transient::Connection => "the database is not reachable; retry shortly",
        }
    }
}

/// The transient kind of a diesel error, if it is one.
///
/// PostgreSQL's SQLSTATE is not exposed by diesel beyond a few kinds, and
/// SQLite's result code not at all, so the rest is recognised by the
/// servers' message texts. Those are stable in both (SQLite's come from
/// `sqlite3_errstr`; PostgreSQL's are English unless `lc_messages` says
/// otherwise, which this service does not support).
pub fn transient(err: &Error) -> Option<Transient> {
    match err {
        Error::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::SerializationFailure => Some(Transient::Conflict),
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => Some(Transient::Connection),
            // A write sent to a PostgreSQL standby (25006), e.g. during a failover.
            DatabaseErrorKind::ReadOnlyTransaction => Some(Transient::Connection),
            _ => transient_by_message(info.message()),
        },
        // A COMMIT that failed (SQLite: the disk filled up as the WAL grew)
        // and whose rollback failed too: the commit's error is the cause.
        Error::RollbackErrorOnCommit { commit_error, .. } => transient(commit_error),
        _ => None,
    }
}

fn transient_by_message(message: &str) -> Option<Transient> {
    const CONFLICT: &[&str] = &["deadlock detected", "could not serialize access"];
    const BUSY: &[&str] = &["database is locked", "database table is locked", "canceling statement due to lock timeout", "could not obtain lock"];
    const STORAGE: &[&str] = &[
        "database or disk is full",
        "no space left on device",
        "attempt to write a readonly database",
        "disk i/o error",
        "could not extend file",
        "could not write to file",
    ];
    const CONNECTION: &[&str] = &[
        "server closed the connection unexpectedly",
        "terminating connection due to administrator command",
        "the database system is shutting down",
        "the database system is starting up",
        "no connection to the server",
        "could not receive data from server",
        "could not send data to server",
        "ssl syscall error",
        "connection reset by peer",
    ];
    let message = message.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|needle| message.contains(needle));
    if has(CONFLICT) {
        Some(Transient::Conflict)
    } else if has(BUSY) {
        Some(Transient::Busy)
    } else if has(STORAGE) {
        Some(Transient::Storage)
    } else if has(CONNECTION) {
        Some(Transient::Connection)
    } else {
        None
    }
}

/// Errors that can say whether they are a transient database failure
/// (so a retry loop can work on the handlers' own error type).
pub trait MaybeTransient {
    fn transient(&self) -> Option<Transient>;
}

impl MaybeTransient for Error {
    fn transient(&self) -> Option<Transient> {
        transient(self)
    }
}

/// Whether writes currently fail for lack of storage, as last observed.
/// Set by a write that failed so; cleared by a write that succeeded (the
/// probe `/readyz` runs while the flag is set, since a service reported
/// not ready gets no traffic that could clear it).
#[derive(Debug, Default)]
pub struct WriteHealth {
    failing: AtomicBool,
}

impl WriteHealth {
    /// Takes note of an error if it shows the database cannot store data.
    pub fn observe(&self, fault: Option<Transient>) {
        if fault == Some(Transient::Storage) && !self.failing.swap(true, Ordering::Relaxed) {
            tracing::error!("the database cannot store data; reporting not ready until a write succeeds");
        }
    }

    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// Writes a little to the database (enough to need new pages and a
    /// commit to disk) and records whether that worked.
    pub fn probe(&self, conn: &mut DbConn, now: chrono::DateTime<chrono::Utc>) -> Result<(), Error> {
        let written = write_probe(conn, now);
        match &written {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("the database stores data again; reporting ready");
                }
            }
            Err(e) => self.observe(transient(e)),
        }
        written
    }
}

/// Bytes the probe stores: more than a page, so that it needs pages the
/// database may not have free, while staying cheap to write.
const PROBE_BYTES: usize = 64 * 1024;

/// Replaces the one probe row with fresh random bytes (random, so that
/// PostgreSQL cannot compress them away) and commits.
fn write_probe(conn: &mut DbConn, now: chrono::DateTime<chrono::Utc>) -> Result<(), Error> {
    use diesel::sql_types::{Binary, Text};
    use diesel::RunQueryDsl;
    let filler: Vec<u8> = (0..PROBE_BYTES / 16).flat_map(|_| uuid::Uuid::new_v4().into_bytes()).collect();
    let written_at = now.to_rfc3339();
    conn.write_transaction(|conn| {
        conn.batch_execute("DELETE FROM write_probes")?;
        diesel::sql_query("INSERT INTO write_probes (id, written_at, filler) VALUES (1, $1, $2)")
            .bind::<Text, _>(written_at)
            .bind::<Binary, _>(filler)
            .execute(conn)
            .map(|_| ())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_messages_of_both_servers() {
        assert_eq!(transient_by_message("deadlock detected"), Some(Transient::Conflict));
        assert_eq!(transient_by_message("could not serialize access due to concurrent update"), Some(Transient::Conflict));
        assert_eq!(transient_by_message("database is locked"), Some(Transient::Busy));
        assert_eq!(transient_by_message("database or disk is full"), Some(Transient::Storage));
        assert_eq!(
            transient_by_message("could not extend file \"base/16384/16385\": No space left on device"),
            Some(Transient::Storage)
        );
        assert_eq!(transient_by_message("attempt to write a readonly database"), Some(Transient::Storage));
        assert_eq!(transient_by_message("terminating connection due to administrator command"), Some(Transient::Connection));
        assert_eq!(transient_by_message("SSL SYSCALL error: EOF detected"), Some(Transient::Connection));
        assert_eq!(transient_by_message("could not receive data from server: Connection reset by peer"), Some(Transient::Connection));
        assert_eq!(transient_by_message("UNIQUE constraint failed: items.public_id"), None);
        assert_eq!(transient_by_message("syntax error at or near \"SELEC\""), None);
    }

    #[test]
    fn a_failed_commit_is_judged_by_its_own_error() {
        let full = Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new("database or disk is full".to_string()));
        let rollback = Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new("cannot rollback - no transaction is active".to_string()));
        let both = Error::RollbackErrorOnCommit { commit_error: Box::new(full), rollback_error: Box::new(rollback) };
        assert_eq!(transient(&both), Some(Transient::Storage));
    }

    #[test]
    fn only_storage_faults_make_writes_unhealthy() {
        let health = WriteHealth::default();
        health.observe(Some(Transient::Conflict));
        health.observe(None);
        assert!(!health.is_failing());
        health.observe(Some(Transient::Storage));
        assert!(health.is_failing());
    }
}
