//! Starting the service: [`Application::build`] opens the database, brings
//! its schema up to date, builds the shared state, binds the listener and
//! starts the background workers. `exampost serve` and the integration tests
//! start the application through it, so tests run production's wiring.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, HttpServer};

use crate::api::{self, AppState};
use crate::auth::TokenKeys;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::db::{self, DbError, Pool};
use crate::telemetry::names;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
    #[error("notifications: {0}")]
    Notify(String),
}

/// The service, built and listening; [`Application::run_until_stopped`] serves.
pub struct Application {
    state: web::Data<AppState>,
    address: SocketAddr,
    server: Server,
}

impl Application {
    /// Everything a production start needs, on the system clock.
    pub async fn build(config: Config) -> Result<Application, StartError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`Application::build`] with the clock every part of the service reads
    /// the time from (tests give a clock they move). Binding port 0 picks a
    /// free port; [`Application::address`] tells which. The sweeper and the
    /// dispatcher run only when the configuration asks for them.
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Application, StartError> {
        // The database first: an unusable data directory is named as such.
        let pool = open_database(&config)?;
        let secret = config.signing_key()?;
        let tokens = TokenKeys::new(&secret, config.token_ttl);
        let chain_key = crate::app::chain::ChainKey::derive(&secret);
        let bind_error = |e| StartError::Bind(config.bind.to_string(), e);
        let listener = TcpListener::bind(config.bind).map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        tracing::info!(%address, database = %described(&config.database), "ExamPost listening");
        let state = web::Data::new(AppState {
            scans: crate::app::scans::writer::IngestQueue::start(pool.clone(), clock.clone()),
            reads: crate::app::audit::ReadLog::start(pool.clone()),
            chain_key,
            pool,
            tokens,
            clock,
            lookup_limit: crate::api::lookup_limit(config.lookups_per_minute),
            guesses: Default::default(),
            webhook_policy: config.webhook_policy.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
            import_max_bytes: config.import_max_bytes,
            metrics_token: config.metrics_token.clone(),
            read_replica: match &config.read_database {
                Some(target) => Some(crate::db::replica::ReadReplica::new(db::connect_lazily(target, config.sqlite_sync, config.pool_size), config.read_max_lag)),
                None => None,
            },
            token_guard: crate::api::auth::TokenGuard::new(&config.token_limits),
        });
        start_workers(&state, &config)?;
        let server = start(state.clone(), listener, config.workers).map_err(bind_error)?;
        Ok(Application { state, address, server })
    }

    /// The address the server listens on (with the port picked when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The state every handler and worker shares.
    pub fn state(&self) -> &web::Data<AppState> {
        &self.state
    }

    /// Serves until the server is stopped (a signal, or the runtime ending).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stopped = self.server.await;
        // Reads answered before the stop are on the audit before the process ends.
        if let Err(e) = self.state.reads.flush().await {
            tracing::error!(error = %e, "the read audit could not be flushed at stop");
        }
        stopped
    }
}

/// The background loops the configuration asks for: the sweeper and the
/// notification dispatcher (the throttle flush always runs, see [`start`]).
fn start_workers(state: &web::Data<AppState>, config: &Config) -> Result<(), StartError> {
    if let Some(replica) = state.read_replica.clone() {
        let primary = state.pool.clone();
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                let (replica, primary) = (replica.clone(), primary.clone());
                let _ = web::block(move || {
                    replica.check(&primary);
                    replica.lag()
                })
                .await
                .map(|lag| {
                    let seconds = match lag {
                        crate::db::replica::Lag::Behind(lag) => lag.as_secs_f64(),
                        crate::db::replica::Lag::Unknown => -1.0,
                    };
                    metrics::gauge!(names::READ_REPLICA_LAG).set(seconds);
                });
            }
        });
    }
    if let Some(prometheus) = crate::telemetry::prometheus() {
        // Histograms keep their samples until upkeep folds them in, scraped or not.
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(5));
            loop {
                tick.tick().await;
                prometheus.run_upkeep();
            }
        });
    }
    if let Some(every) = config.sweep_every {
        actix_web::rt::spawn(sweep_forever(state.clone(), every, config.report_time, config.retention_days));
    }
    if let Some(every) = config.dispatch_every {
        let dispatcher = crate::notify::dispatch::Dispatcher::new(config.smtp_url.as_deref(), &config.mail_from)
            .map_err(StartError::Notify)?
            .with_webhook_policy(config.webhook_policy.clone());
        actix_web::rt::spawn(dispatch_forever(state.clone(), dispatcher, every));
    }
    Ok(())
}

/// Connects to the database and brings its schema up to date.
pub fn open_database(config: &Config) -> Result<Pool, DbError> {
    let pool = db::connect(&config.database, config.sqlite_sync, config.pool_size)?;
    let mut conn = pool.get()?;
    let applied = db::run_migrations(&mut conn)?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    db::refresh_statistics(&mut conn)?;
    drop(conn);
    Ok(pool)
}

/// The database as the logs may show it: a PostgreSQL password becomes `***`.
pub fn described(target: &crate::db::DbTarget) -> String {
    match target {
        crate::db::DbTarget::Sqlite(path) => format!("sqlite://{}", path.display()),
        crate::db::DbTarget::Postgres(raw) => match url::Url::parse(raw) {
            Ok(mut url) => {
                if url.password().is_some() {
                    let _ = url.set_password(Some("***"));
                }
                url.to_string()
            }
            // Unparseable, so there is no telling where a password would be.
            Err(_) => "postgres://***".into(),
        },
    }
}

/// Starts serving on an already bound listener.
fn start(state: web::Data<AppState>, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    // Blocking work is database work and waits for a pooled connection
    // anyway; threads beyond the pool would only wait there, each holding a
    // stack and a malloc arena (measured: 165 MB peak RSS under load without
    // this bound, at 64 connections).
    let blocking_threads = state.pool.max_size() as usize + 2;
    actix_web::rt::spawn(crate::api::throttle::flush_forever(state.clone()));
    let server = HttpServer::new(move || api::app(state.clone()))
        .workers(workers)
        .worker_max_blocking_threads(blocking_threads)
        .listen(listener)?
        .run();
    Ok(server)
}

/// `exampost serve`: build the application, then serve until stopped.
pub async fn serve(config: Config) -> Result<(), StartError> {
    let bind = config.bind.to_string();
    Application::build(config).await?.run_until_stopped().await.map_err(|e| StartError::Bind(bind, e))
}

/// The sweeper loop: one pass every `every`, off the async workers. Safe to
/// run in several processes: cases are unique per item and kind, and the
/// ladder moves a case only from the level it was read at.
async fn sweep_forever(state: web::Data<AppState>, every: std::time::Duration, report_time: chrono::NaiveTime, retention_days: Option<u32>) {
    let mut tick = actix_web::rt::time::interval(every);
    loop {
        tick.tick().await;
        let (pool, clock, chain_key) = (state.pool.clone(), state.clock.clone(), state.chain_key.clone());
        let started = std::time::Instant::now();
        let pass = web::block(move || -> Result<_, String> {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let report = crate::app::cases::sweep(&mut conn, clock.as_ref()).map_err(|e| e.to_string())?;
            // Before the reports: the daily report publishes yesterday's root.
            let sealed = crate::app::chain::seal_due(&mut conn, clock.as_ref(), &chain_key).map_err(|e| e.to_string())?;
            if sealed > 0 {
                tracing::info!(sealed, "daily chain roots signed");
            }
            if let Some(days) = retention_days {
                crate::app::retention::purge_due(&mut conn, clock.as_ref(), days).map_err(|e| e.to_string())?;
            }
            let reports = crate::app::reports::scheduled::send_due(&mut conn, clock.as_ref(), report_time).map_err(|e| e.to_string())?;
            if reports > 0 {
                tracing::info!(reports, "daily steering reports sent");
            }
            crate::db::refresh_statistics(&mut conn).map_err(|e| e.to_string())?;
            Ok(report)
        })
        .await;
        metrics::histogram!(names::SWEEP_DURATION).record(started.elapsed().as_secs_f64());
        if !matches!(pass, Ok(Ok(_))) {
            metrics::counter!(names::SWEEP_FAILURES).increment(1);
        }
        match pass {
            Ok(Ok(report)) if report.failed > 0 => tracing::warn!(?report, "sweep passed over what failed; next sweep retries"),
            Ok(Ok(report)) if report.cases_opened + report.cases_escalated > 0 => tracing::info!(?report, "sweep"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "sweep failed; retrying next time"),
            Err(e) => tracing::warn!(error = %e, "sweep task failed"),
        }
    }
}

/// The dispatcher loop: sends what the outbox holds, every `every`.
async fn dispatch_forever(state: web::Data<AppState>, dispatcher: crate::notify::dispatch::Dispatcher, every: std::time::Duration) {
    let mut tick = actix_web::rt::time::interval(every);
    loop {
        tick.tick().await;
        // A pass that panics must not end the loop: notifications would stop until restart.
        let started = std::time::Instant::now();
        let pass = crate::notify::dispatch::isolated("dispatch pass", dispatcher.run_once(&state.pool, state.clock.now())).await;
        metrics::histogram!(names::DISPATCH_DURATION).record(started.elapsed().as_secs_f64());
        match pass {
            Ok(report) if report.sent + report.failed > 0 => tracing::info!(?report, "notifications"),
            Ok(_) | Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::described;
    use crate::db::DbTarget;

    #[test]
    fn the_logged_database_url_has_no_password() {
        let with_password = DbTarget::Postgres("postgres://exampost:s3cr%40t@db.internal:5432/exampost?sslmode=require".into());
        assert_eq!(described(&with_password), "postgres://exampost:***@db.internal:5432/exampost?sslmode=require");
        let without = DbTarget::Postgres("postgres://exampost@db.internal/exampost".into());
        assert_eq!(described(&without), "postgres://exampost@db.internal/exampost");
        assert_eq!(described(&DbTarget::Postgres("postgres://u:p@[bad".into())), "postgres://***");
    }
}
