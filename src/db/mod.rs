//! One database layer over SQLite (embedded default) and PostgreSQL (production).
//!
//! The backend is picked from the URL scheme by [`ConnectionManager`], which
//! reports the real connection error. SQLite connections get their pragmas as
//! they are opened; writes that read first use [`DbConn::write_transaction`],
//! which begins IMMEDIATE on SQLite so that concurrent writers wait for the
//! lock instead of failing with SQLITE_BUSY.

pub mod backup;
pub mod faults;
pub mod replica;
pub mod schema;
mod text_list;

pub use text_list::TextList;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// The connection pool, and what it has seen of the database's health.
/// Dereferences to the r2d2 pool.
#[derive(Clone)]
pub struct Pool {
    connections: r2d2::Pool<ConnectionManager>,
    write_health: Arc<faults::WriteHealth>,
    trust: Arc<Trust>,
    /// A SQLite database's serving lock, held for as long as any clone lives.
    _serving: Option<Arc<std::fs::File>>,
}

impl Pool {
    /// Whether writes currently fail for lack of storage (shared by every clone).
    pub fn write_health(&self) -> Arc<faults::WriteHealth> {
        self.write_health.clone()
    }

    /// A connection was found dead (the server restarted, or ended it):
    /// every connection is checked again before its next use.
    pub fn distrust_connections(&self) {
        self.trust.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Notes what a piece of work's error says about the connections: a
    /// closed one makes all of them suspect, a full disk makes writes unhealthy.
    pub fn observe_failure(&self, fault: Option<faults::Transient>) {
        if fault == Some(faults::Transient::Connection) {
            self.distrust_connections();
        }
        self.write_health.observe(fault);
    }
}

impl std::ops::Deref for Pool {
    type Target = r2d2::Pool<ConnectionManager>;

    fn deref(&self) -> &Self::Target {
        &self.connections
    }
}

pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// How long after its last check (or its opening) a connection is lent
/// without another. The check is a round trip of its own: on a point read
/// it halves what PostgreSQL serves (pgbench, 64 clients, 2 cores: 24,000
/// tps for the read alone, 13,500 with `SELECT 1` before it), so a busy
/// connection is checked about twice a second instead of on every request.
/// Counted from the check, not from the last use: a use that failed in a way
/// nobody reported (a worker's error kept as text) must not renew the trust.
/// HikariCP skips its check the same way (`aliveBypassWindowMs`, 500 ms).
pub const TRUSTED_FOR: Duration = Duration::from_millis(500);

/// The pool's trust in its connections: an epoch that moves on when one is
/// found dead, so that the others are checked again rather than trusted.
#[derive(Debug, Default)]
struct Trust {
    epoch: AtomicU64,
}

/// A pooled connection and when it was last checked. Dereferences to the
/// connection.
pub struct PoolConn {
    conn: DbConn,
    checked_at: Instant,
    epoch: u64,
}

impl std::ops::Deref for PoolConn {
    type Target = DbConn;

    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

/// Where the data lives, parsed from the database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbTarget {
    /// `sqlite://relative/path.db`, `sqlite:///absolute/path.db`, or
    /// `postgres://` / `postgresql://` URLs.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() || path.contains(":memory:") {
                return Err("a SQLite URL needs a file path (in-memory databases are not shared by a pool), e.g. sqlite://./data/exampost.db".into());
            }
            Ok(DbTarget::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbTarget::Postgres(url.to_string()))
        } else {
            Err("must start with sqlite:// or postgres://".into())
        }
    }
}

/// `PRAGMA synchronous` for SQLite: FULL survives power loss, NORMAL (with WAL)
/// only process crashes, but commits several times faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqliteSync {
    Normal,
    Full,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("{0}")]
    Query(#[from] diesel::result::Error),
    #[error("the data directory {0} cannot be used: {1} (it holds the SQLite database; make it writable by the service's user, or point EXAMPOST_DATABASE_URL elsewhere)")]
    Directory(PathBuf, std::io::Error),
    #[error("{0}")]
    Pool(#[from] r2d2::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
}

/// Opens connections for the pool, choosing the backend from the target.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    target: DbTarget,
    sqlite_sync: SqliteSync,
    trust: Arc<Trust>,
}

impl ConnectionManager {
    pub fn new(target: DbTarget, sqlite_sync: SqliteSync) -> Self {
        Self { target, sqlite_sync, trust: Arc::default() }
    }

    fn trusted(&self, conn: &PoolConn) -> bool {
        conn.epoch == self.trust.epoch.load(Ordering::Acquire) && conn.checked_at.elapsed() < TRUSTED_FOR
    }

    fn open(&self) -> Result<DbConn, DbError> {
        match &self.target {
            DbTarget::Postgres(url) => Ok(DbConn::Postgresql(diesel::PgConnection::establish(url)?)),
            DbTarget::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())?;
                let sync = match self.sqlite_sync {
                    SqliteSync::Normal => "NORMAL",
                    SqliteSync::Full => "FULL",
                };
                // temp_store: statement journals (a multi-row insert under a unique
                // index needs one) in memory, not in a temporary file written
                // with a syscall per page.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = {sync}; \
                     PRAGMA temp_store = MEMORY;"
                ))?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = PoolConn;
    type Error = DbError;

    fn connect(&self) -> Result<PoolConn, DbError> {
        // The epoch first: trust lost while this opens must not be missed.
        let epoch = self.trust.epoch.load(Ordering::Acquire);
        let conn = self.open()?;
        Ok(PoolConn { conn, checked_at: Instant::now(), epoch })
    }

    /// Checks a connection not checked in the last [`TRUSTED_FOR`], or
    /// checked before one was found dead. One checked just now is lent
    /// unchecked: if the server went away in the meantime, the work on it
    /// fails as a transient fault (503, Retry-After) and the pool checks
    /// every connection from then on.
    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), DbError> {
        if self.trusted(conn) {
            return Ok(());
        }
        // The epoch before the check: a death found during it makes the next lending check again.
        let epoch = self.trust.epoch.load(Ordering::Acquire);
        conn.conn.batch_execute("SELECT 1").map_err(DbError::from)?;
        conn.epoch = epoch;
        conn.checked_at = Instant::now();
        Ok(())
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        match &mut conn.conn {
            DbConn::Postgresql(c) => diesel::r2d2::R2D2Connection::is_broken(c),
            DbConn::Sqlite(c) => diesel::r2d2::R2D2Connection::is_broken(c),
        }
    }
}

/// A pool that opens its connections when first asked: a read replica that
/// is away at start must not stop the service (its reads go to the primary).
pub fn connect_lazily(target: &DbTarget, sqlite_sync: SqliteSync, pool_size: u32) -> Pool {
    let manager = ConnectionManager::new(target.clone(), sqlite_sync);
    let trust = manager.trust.clone();
    let connections = r2d2::Pool::builder()
        .test_on_check_out(true)
        .max_size(pool_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(2))
        .build_unchecked(manager);
    Pool { connections, write_health: Arc::default(), trust, _serving: None }
}

/// Opens one connection outside any pool (the CLI): a pool keeps background
/// threads opening connections, and a process that exits while libpq is
/// inside such a thread can crash in OpenSSL's exit handlers.
pub fn connect_one(target: &DbTarget, sqlite_sync: SqliteSync) -> Result<DbConn, DbError> {
    let manager = ConnectionManager::new(target.clone(), sqlite_sync);
    if let DbTarget::Sqlite(path) = target {
        ensure_parent_dir(path)?;
    }
    let mut conn = manager.open()?;
    if conn.is_sqlite() {
        conn.batch_execute("PRAGMA journal_mode = WAL;")?;
    }
    Ok(conn)
}

/// Opens the pool: creates the SQLite file's directory and turns on WAL
/// (a property of the file, so once), then checks a first connection.
pub fn connect(target: &DbTarget, sqlite_sync: SqliteSync, pool_size: u32) -> Result<Pool, DbError> {
    let manager = ConnectionManager::new(target.clone(), sqlite_sync);
    let trust = manager.trust.clone();
    let mut serving = None;
    if let DbTarget::Sqlite(path) = target {
        ensure_parent_dir(path)?;
        serving = Some(Arc::new(backup::serving_lock(path, false).map_err(|e| DbError::Directory(path.to_path_buf(), std::io::Error::other(e)))?));
        let mut first = manager.open()?;
        first.batch_execute("PRAGMA journal_mode = WAL;")?;
    }
    // A PostgreSQL connection can die with its server and is checked before
    // use (unless checked just now: `is_valid`); a SQLite one cannot.
    let check = matches!(target, DbTarget::Postgres(_));
    let connections = r2d2::Pool::builder()
        .test_on_check_out(check)
        .max_size(pool_size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        .build(manager)?;
    Ok(Pool { connections, write_health: Arc::default(), trust, _serving: serving })
}

/// Creates the SQLite file's directory and proves it writable: SQLite would
/// otherwise say only "unable to open database file", and the generated
/// token secret would fail next with a message about the secret.
fn ensure_parent_dir(path: &Path) -> Result<(), DbError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let unusable = |e| DbError::Directory(dir.to_path_buf(), e);
    std::fs::create_dir_all(dir).map_err(unusable)?;
    let probe = dir.join(format!(".exampost-write-check-{}", std::process::id()));
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&probe).map_err(unusable)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Applies every pending migration of the connection's backend.
pub fn run_migrations(conn: &mut DbConn) -> Result<usize, DbError> {
    let applied = match conn {
        DbConn::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    applied.map_err(|e| DbError::Migration(e.to_string()))
}

/// True when the schema is up to date (used by `/readyz`).
pub fn migrations_applied(conn: &mut DbConn) -> Result<bool, DbError> {
    let pending = match conn {
        DbConn::Postgresql(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
        DbConn::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
    };
    pending.map(|p| !p).map_err(|e| DbError::Migration(e.to_string()))
}

/// Brings the query planner's statistics up to date where SQLite judges
/// them missing or stale (a new index, a table ten times larger than when
/// last analyzed). Without them SQLite may pick the wrong index (the
/// carrier's instead of the tracking number's, say) and read a third of all
/// items for one scan. The analysis is complete, not sampled: sampled counts
/// (`analysis_limit`) were off by 20 times and picked the wrong indexes;
/// a complete one takes about 3 s at a million items, and is rare.
/// PostgreSQL's autovacuum keeps its own statistics.
pub fn refresh_statistics(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => {
            c.batch_execute("PRAGMA analysis_limit = 0; PRAGMA optimize = 0x10002;")?;
            forget_value_samples(c)
        }
        DbConn::Postgresql(_) => Ok(()),
    }
}

/// `ANALYZE` everything (after a bulk load).
pub fn analyze(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => {
            c.batch_execute("ANALYZE;")?;
            forget_value_samples(c)
        }
        DbConn::Postgresql(c) => c.batch_execute("ANALYZE;"),
    }
}

/// Drops the per-value samples (`sqlite_stat4`) that ANALYZE keeps beside the
/// per-index counts: with them SQLite re-plans a statement whenever a value
/// bound to an indexed column changes, which throws away every cached
/// statement on every call (profiled: a third of a lookup's time). The
/// counts in `sqlite_stat1` are what picks the right index here.
fn forget_value_samples(conn: &mut diesel::SqliteConnection) -> QueryResult<()> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let found: Found = diesel::sql_query("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'sqlite_stat4'").get_result(conn)?;
    if found.n > 0 {
        // Reloading the statistics (ANALYZE sqlite_schema) makes this connection use the change at once.
        conn.batch_execute("DELETE FROM sqlite_stat4; ANALYZE sqlite_schema;")?;
    }
    Ok(())
}

/// The writers of this process, one at a time (see [`DbConn::write_transaction`]).
/// One lock for every SQLite database the process opens: a process serves one,
/// and tests, which open many, only lose some parallelism of their writes.
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl DbConn {
    pub fn is_sqlite(&self) -> bool {
        matches!(self, DbConn::Sqlite(_))
    }

    /// Runs `f` in a transaction that holds the write lock from its start on
    /// SQLite (`BEGIN IMMEDIATE`); a normal transaction on PostgreSQL.
    /// Nested `transaction` calls inside `f` become savepoints.
    pub fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        let DbConn::Sqlite(sqlite) = self else {
            return self.transaction(f);
        };
        let nested = AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth()?.is_some();
        if nested {
            // The outer transaction already holds the write lock: a savepoint.
            return self.transaction(f);
        }
        // SQLite lets one writer in at a time; the others would wait in its busy
        // handler, which sleeps in steps of up to 100 ms and wastes most of the
        // time under load. Queueing on a lock in the process first hands the
        // database over the moment it is free; the busy handler is left for
        // writers in other processes.
        let _writer = SQLITE_WRITER.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        let outcome = f(self);
        let DbConn::Sqlite(sqlite) = self else { unreachable!("the variant cannot change") };
        match outcome {
            Ok(value) => {
                AnsiTransactionManager::commit_transaction(sqlite)?;
                Ok(value)
            }
            Err(err) => {
                // SQLite rolls a transaction back by itself on some errors
                // (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM), and our ROLLBACK
                // then fails. The first error is the one that explains what
                // happened; diesel marks the connection broken, and the pool
                // replaces it.
                if let Err(rollback) = AnsiTransactionManager::rollback_transaction(sqlite) {
                    tracing::warn!(error = %rollback, "rolling back a failed write transaction failed too");
                }
                Err(err)
            }
        }
    }

    /// [`DbConn::write_transaction`], run again when the database aborted it
    /// to resolve a deadlock or a serialization failure: a few times, after
    /// short randomised pauses (so that the two sides do not collide again),
    /// and then the error is returned. Inside another transaction it runs
    /// once: only the outermost transaction can be run again.
    pub fn write_transaction_retrying<T, E, F>(&mut self, mut f: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConn) -> Result<T, E>,
        E: From<diesel::result::Error> + faults::MaybeTransient,
    {
        if self.in_transaction()? {
            return self.write_transaction(f);
        }
        let mut attempt = 0;
        loop {
            match self.write_transaction(&mut f) {
                Err(err) if err.transient() == Some(faults::Transient::Conflict) && attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    let pause = CONFLICT_PAUSE * 2u32.pow(attempt) / 2;
                    tracing::info!(attempt, "transaction aborted by a conflict with another; running it again");
                    std::thread::sleep(pause + pause.mul_f64(rand::random::<f64>()));
                }
                outcome => return outcome,
            }
        }
    }

    fn in_transaction(&mut self) -> QueryResult<bool> {
        let depth = match self {
            DbConn::Postgresql(c) => AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?,
            DbConn::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?,
        };
        Ok(depth.is_some())
    }
}

/// Times a transaction aborted by a deadlock or serialization failure is
/// run again before the client gets 503: a conflict is between two
/// transactions, and one of them wins each time, so a handful is plenty.
const CONFLICT_RETRIES: u32 = 4;
/// The first pause before running it again; it doubles each time, plus up to as much at random.
const CONFLICT_PAUSE: Duration = Duration::from_millis(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_database_urls() {
        assert_eq!(DbTarget::parse("sqlite://./data/x.db").unwrap(), DbTarget::Sqlite("./data/x.db".into()));
        assert_eq!(DbTarget::parse("sqlite:///tmp/x.db").unwrap(), DbTarget::Sqlite("/tmp/x.db".into()));
        assert!(matches!(DbTarget::parse("postgres://u@h/db").unwrap(), DbTarget::Postgres(_)));
        assert!(DbTarget::parse("sqlite::memory:").is_err());
        assert!(DbTarget::parse("mysql://x").is_err());
    }

    #[test]
    fn connection_errors_are_reported_as_they_are() {
        let target = DbTarget::Postgres("postgres://nobody@127.0.0.1:1/none".into());
        let err = connect_one(&target, SqliteSync::Full).err().expect("nothing listens on port 1").to_string();
        assert!(err.contains("127.0.0.1") && err.contains("1"), "{err}");
        assert!(!err.contains("multiconnection"), "{err}");
        let err = connect_one(&DbTarget::Sqlite("/proc/no/such/dir/x.db".into()), SqliteSync::Full).err().unwrap().to_string();
        assert!(err.contains("/proc/no/such/dir"), "{err}");
    }

    #[test]
    fn immediate_transaction_commits_and_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let target = DbTarget::Sqlite(dir.path().join("t.db"));
        let pool = connect(&target, SqliteSync::Normal, 2).unwrap();
        let mut conn = pool.get().unwrap();
        conn.batch_execute("CREATE TABLE t (v INTEGER)").unwrap();
        conn.write_transaction(|c| c.batch_execute("INSERT INTO t VALUES (1)")).unwrap();
        let failed: Result<(), diesel::result::Error> = conn.write_transaction(|c| {
            c.batch_execute("INSERT INTO t VALUES (2)")?;
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(failed.is_err());
        let nested: Result<(), diesel::result::Error> =
            conn.write_transaction(|c| c.write_transaction(|c| c.batch_execute("INSERT INTO t VALUES (3)")));
        assert!(nested.is_ok());
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let count: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM t").get_result(&mut **conn).unwrap();
        assert_eq!(count.n, 2);
    }
}
