//! Settings from environment variables or the same-named flags, validated at
//! start-up into a [`Config`]; every error names the bad setting.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use ipnet::IpNet;
use rand::RngCore;

use crate::db::{DbTarget, SqliteSync};

/// Which database, and how durably: the settings every command takes.
#[derive(Args, Debug, Clone)]
pub struct Database {
    /// Database URL: sqlite://PATH (embedded, default) or postgres://USER@HOST/DB.
    #[arg(long, env = "EXAMPOST_DATABASE_URL", default_value = "sqlite://./data/exampost.db", global = true)]
    pub database_url: String,
    /// SQLite durability: `full` survives power loss, `normal` is faster.
    #[arg(long, env = "EXAMPOST_SQLITE_SYNCHRONOUS", default_value = "full", global = true)]
    pub sqlite_synchronous: String,
}

/// The settings as the environment gives them, for commands that take no
/// service flags (`seed`, `sweep`, ...) but still need a secret or a period.
#[derive(clap::Parser, Debug)]
struct FromEnvironment {
    #[command(flatten)]
    settings: Settings,
}

impl Settings {
    /// The service's settings from `EXAMPOST_*` variables and defaults alone.
    pub fn from_environment(database: &Database) -> Result<Settings, String> {
        use clap::Parser;
        let parsed = FromEnvironment::try_parse_from(["exampost"]).map_err(|e| e.to_string())?;
        Ok(parsed.settings.on(database))
    }

    /// The built-in defaults on `database`, whatever the environment says:
    /// for commands that need only the database (`backup`, `restore`,
    /// `migrate`, `verify`), so that a bad service setting cannot stand in
    /// the way of an emergency restore.
    pub fn built_in(database: &Database) -> Settings {
        use clap::{CommandFactory, FromArgMatches};
        let command = FromEnvironment::command().mut_args(|arg| arg.env(None::<&'static str>));
        let settings = command.try_get_matches_from(["exampost"]).ok().and_then(|matches| FromEnvironment::from_arg_matches(&matches).ok());
        let mut settings = settings.expect("the built-in defaults parse").settings.on(database);
        // These commands sign nothing; PostgreSQL's rule that replicas share
        // a secret is about serving, so a throwaway one satisfies the check.
        let mut throwaway = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut throwaway);
        settings.jwt_secret = Some(hex::encode(throwaway));
        settings
    }

    /// These settings on `database`.
    pub fn on(mut self, database: &Database) -> Settings {
        self.database_url = database.database_url.clone();
        self.sqlite_synchronous = database.sqlite_synchronous.clone();
        self
    }
}

/// Raw settings, as given. `Config::from_settings` checks them.
#[derive(Args, Debug, Clone)]
pub struct Settings {
    /// The database (`Database`'s `--database-url`, which every command takes).
    #[arg(skip)]
    pub database_url: String,
    /// Address to listen on.
    #[arg(long, env = "EXAMPOST_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// HS256 secret for access tokens, at least 32 bytes. Required with
    /// PostgreSQL; with SQLite one is generated beside the database file.
    #[arg(long, env = "EXAMPOST_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Access token lifetime in seconds (60-86400).
    #[arg(long, env = "EXAMPOST_TOKEN_TTL_SECS", default_value = "900")]
    pub token_ttl_secs: String,
    /// Database connections in the pool (1-256).
    #[arg(long, env = "EXAMPOST_POOL_SIZE", default_value = "8")]
    pub pool_size: String,
    /// SQLite durability (`Database`'s `--sqlite-synchronous`).
    #[arg(skip)]
    pub sqlite_synchronous: String,
    /// Seconds between sweeps for delays and unanswered cases (0: no sweeper in this process).
    #[arg(long, env = "EXAMPOST_SWEEP_SECS", default_value = "60")]
    pub sweep_secs: String,
    /// When the daily steering report goes to its subscribers, HH:MM Vietnam time.
    #[arg(long, env = "EXAMPOST_REPORT_TIME", default_value = "07:00")]
    pub report_time: String,
    /// Days candidates' personal data is kept after a season's last deadline;
    /// then the daily pass purges it (0: no automatic purge).
    #[arg(long, env = "EXAMPOST_RETENTION_DAYS", default_value = "180")]
    pub retention_days: String,
    /// SMTP server for e-mail notifications, e.g. smtp://mail.example.vn:587?tls=required
    /// or smtps://user:pass@host. Without one, e-mails wait in the outbox.
    #[arg(long, env = "EXAMPOST_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of e-mail notifications.
    #[arg(long, env = "EXAMPOST_MAIL_FROM", default_value = "ExamPost <no-reply@exampost.invalid>")]
    pub mail_from: String,
    /// Seconds between dispatcher passes over the outbox (0: no dispatcher in this process).
    #[arg(long, env = "EXAMPOST_DISPATCH_SECS", default_value = "5")]
    pub dispatch_secs: String,
    /// Public lookups allowed per client address per minute.
    #[arg(long, env = "EXAMPOST_LOOKUPS_PER_MINUTE", default_value = "10")]
    pub lookups_per_minute: String,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "EXAMPOST_WORKERS")]
    pub workers: Option<String>,
    /// Webhook destinations allowed although not public: comma-separated
    /// host names, addresses and CIDR networks (e.g. `hooks.internal,10.20.0.0/16`).
    #[arg(long, env = "EXAMPOST_WEBHOOK_ALLOW", default_value = "")]
    pub webhook_allow: String,
    /// Accept plain http:// webhook URLs (`true`/`false`; for tests and closed networks).
    #[arg(long, env = "EXAMPOST_WEBHOOK_ALLOW_HTTP", default_value = "false")]
    pub webhook_allow_http: String,
    /// Reverse proxies whose X-Forwarded-For / Forwarded headers name the
    /// client: comma-separated IPs or CIDRs (default: none, the TCP peer is the client).
    #[arg(long, env = "EXAMPOST_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// The largest spreadsheet an import over HTTP takes, in bytes (1 KiB to 1 GiB).
    #[arg(long, env = "EXAMPOST_IMPORT_MAX_BYTES", default_value = "67108864")]
    pub import_max_bytes: String,
    /// Failed token requests allowed per client id within the failure window.
    #[arg(long, env = "EXAMPOST_TOKEN_FAILURES_PER_CLIENT", default_value = "10")]
    pub token_failures_per_client: String,
    /// The window, in seconds, over which a client id's failed token requests count.
    #[arg(long, env = "EXAMPOST_TOKEN_FAILURE_WINDOW_SECS", default_value = "900")]
    pub token_failure_window_secs: String,
    /// Token requests allowed per client address per minute, failed or not.
    #[arg(long, env = "EXAMPOST_TOKEN_ATTEMPTS_PER_ADDRESS", default_value = "30")]
    pub token_attempts_per_address: String,
    /// Threads that check client secrets (argon2, 19 MiB each); default one per core.
    #[arg(long, env = "EXAMPOST_TOKEN_VERIFY_THREADS")]
    pub token_verify_threads: Option<String>,
    /// Secret checks that may wait for a verify thread; more get 503 at once.
    #[arg(long, env = "EXAMPOST_TOKEN_VERIFY_QUEUE", default_value = "64")]
    pub token_verify_queue: String,
    /// A PostgreSQL streaming replica for the public lookup, lists and
    /// reports (postgres://USER@REPLICA/DB); writes stay on the primary.
    #[arg(long, env = "EXAMPOST_READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<String>,
    /// How far behind (seconds) the replica may be before its reads go to the primary.
    #[arg(long, env = "EXAMPOST_READ_MAX_LAG_SECS", default_value = "5")]
    pub read_max_lag_secs: String,
    /// The bearer token Prometheus sends to read GET /metrics (at least 16
    /// characters). Without one, /metrics answers 404: it is not public.
    #[arg(long, env = "EXAMPOST_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Seconds a replica trusts what it read about a token's client (revoked? rotated?).
    #[arg(long, env = "EXAMPOST_CLIENT_CACHE_SECS", default_value = "5")]
    pub client_cache_secs: String,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DbTarget,
    pub bind: SocketAddr,
    pub jwt_secret: Option<Vec<u8>>,
    pub token_ttl: Duration,
    pub pool_size: u32,
    pub sqlite_sync: SqliteSync,
    pub workers: usize,
    /// `None`: this process does not sweep.
    pub sweep_every: Option<Duration>,
    /// When the sweeper sends the daily steering report (Vietnam time).
    pub report_time: chrono::NaiveTime,
    /// Days personal data is kept after a season's last deadline; `None`: never purged automatically.
    pub retention_days: Option<u32>,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// `None`: this process does not send notifications.
    pub dispatch_every: Option<Duration>,
    pub lookups_per_minute: u32,
    pub webhook_policy: crate::notify::egress::WebhookPolicy,
    pub trusted_proxies: TrustedProxies,
    pub import_max_bytes: u64,
    pub token_limits: TokenLimits,
    /// `None`: /metrics is off.
    pub metrics_token: Option<MetricsToken>,
    /// A read replica (PostgreSQL only); `None`: every read on the primary.
    pub read_database: Option<DbTarget>,
    pub read_max_lag: Duration,
}

/// The token that reads /metrics; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    pub fn new(token: &str) -> Result<MetricsToken, String> {
        let token = token.trim();
        if token.chars().count() < 16 {
            return Err("must be at least 16 characters".into());
        }
        Ok(MetricsToken(token.to_string()))
    }

    /// Whether `offered` is the token, in time that does not depend on where they differ.
    pub fn matches(&self, offered: &str) -> bool {
        use sha2::{Digest, Sha256};
        let (a, b) = (Sha256::digest(self.0.as_bytes()), Sha256::digest(offered.as_bytes()));
        a.iter().zip(b.iter()).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

/// Limits of the token endpoint and the bearer check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLimits {
    pub failures_per_client: u32,
    pub failure_window: Duration,
    pub attempts_per_address_per_minute: u32,
    pub verify_threads: usize,
    pub verify_queue: usize,
    /// How stale a replica's view of a client may be: the longest a revoked
    /// client's token keeps working there.
    pub client_cache_ttl: Duration,
}

impl Default for TokenLimits {
    fn default() -> Self {
        TokenLimits {
            failures_per_client: 10,
            failure_window: Duration::from_secs(900),
            attempts_per_address_per_minute: 30,
            verify_threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            verify_queue: 64,
            client_cache_ttl: Duration::from_secs(5),
        }
    }
}

impl TokenLimits {
    fn from_settings(s: &Settings) -> Result<Self, ConfigError> {
        let defaults = TokenLimits::default();
        Ok(TokenLimits {
            failures_per_client: number("EXAMPOST_TOKEN_FAILURES_PER_CLIENT (--token-failures-per-client)", &s.token_failures_per_client, 1u32, 10_000_000)?,
            failure_window: Duration::from_secs(number(
                "EXAMPOST_TOKEN_FAILURE_WINDOW_SECS (--token-failure-window-secs)",
                &s.token_failure_window_secs,
                1u64,
                86_400,
            )?),
            attempts_per_address_per_minute: number(
                "EXAMPOST_TOKEN_ATTEMPTS_PER_ADDRESS (--token-attempts-per-address)",
                &s.token_attempts_per_address,
                1u32,
                10_000_000,
            )?,
            verify_threads: match &s.token_verify_threads {
                Some(raw) => number("EXAMPOST_TOKEN_VERIFY_THREADS (--token-verify-threads)", raw, 1usize, 256)?,
                None => defaults.verify_threads,
            },
            verify_queue: number("EXAMPOST_TOKEN_VERIFY_QUEUE (--token-verify-queue)", &s.token_verify_queue, 0usize, 100_000)?,
            client_cache_ttl: Duration::from_secs(number("EXAMPOST_CLIENT_CACHE_SECS (--client-cache-secs)", &s.client_cache_secs, 0u64, 300)?),
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid setting {setting}: {reason}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub reason: String,
}

fn bad(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError { setting, reason: reason.into() }
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    setting: &'static str,
    raw: &str,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    match raw.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(bad(setting, format!("must be a whole number from {min} to {max}, got {raw:?}"))),
    }
}

impl Config {
    pub fn from_settings(s: &Settings) -> Result<Self, ConfigError> {
        let database = DbTarget::parse(&s.database_url).map_err(|r| bad("EXAMPOST_DATABASE_URL (--database-url)", r))?;
        let bind = s
            .bind
            .parse::<SocketAddr>()
            .map_err(|_| bad("EXAMPOST_BIND (--bind)", format!("must be an address and port such as 127.0.0.1:8080, got {:?}", s.bind)))?;
        let jwt_secret = match &s.jwt_secret {
            Some(secret) if secret.len() < 32 => {
                return Err(bad("EXAMPOST_JWT_SECRET (--jwt-secret)", "must be at least 32 bytes long"))
            }
            Some(secret) => Some(secret.as_bytes().to_vec()),
            None if matches!(database, DbTarget::Postgres(_)) => {
                return Err(bad(
                    "EXAMPOST_JWT_SECRET (--jwt-secret)",
                    "is required with PostgreSQL, so that every replica signs and checks tokens with the same key",
                ))
            }
            None => None,
        };
        let token_ttl = Duration::from_secs(number("EXAMPOST_TOKEN_TTL_SECS (--token-ttl-secs)", &s.token_ttl_secs, 60u64, 86_400)?);
        let pool_size = number("EXAMPOST_POOL_SIZE (--pool-size)", &s.pool_size, 1u32, 256)?;
        let sqlite_sync = match s.sqlite_synchronous.to_ascii_lowercase().as_str() {
            "full" => SqliteSync::Full,
            "normal" => SqliteSync::Normal,
            other => return Err(bad("EXAMPOST_SQLITE_SYNCHRONOUS (--sqlite-synchronous)", format!("must be full or normal, got {other:?}"))),
        };
        let workers = match &s.workers {
            Some(raw) => number("EXAMPOST_WORKERS (--workers)", raw, 1usize, 256)?,
            None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        };
        let sweep_secs = number("EXAMPOST_SWEEP_SECS (--sweep-secs)", &s.sweep_secs, 0u64, 86_400)?;
        let sweep_every = (sweep_secs > 0).then(|| Duration::from_secs(sweep_secs));
        let dispatch_secs = number("EXAMPOST_DISPATCH_SECS (--dispatch-secs)", &s.dispatch_secs, 0u64, 3600)?;
        let dispatch_every = (dispatch_secs > 0).then(|| Duration::from_secs(dispatch_secs));
        if let Some(url) = &s.smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(bad("EXAMPOST_SMTP_URL (--smtp-url)", "must start with smtp:// or smtps://"));
            }
        }
        if s.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(bad("EXAMPOST_MAIL_FROM (--mail-from)", format!("is not a mailbox such as ExamPost <no-reply@example.vn>, got {:?}", s.mail_from)));
        }
        let allow_http = match s.webhook_allow_http.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" | "" => false,
            other => return Err(bad("EXAMPOST_WEBHOOK_ALLOW_HTTP (--webhook-allow-http)", format!("must be true or false, got {other:?}"))),
        };
        let webhook_policy = crate::notify::egress::WebhookPolicy::parse(&s.webhook_allow, allow_http)
            .map_err(|r| bad("EXAMPOST_WEBHOOK_ALLOW (--webhook-allow)", r))?;
        let read_database = match s.read_database_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => match (DbTarget::parse(url), &database) {
                (Ok(replica @ DbTarget::Postgres(_)), DbTarget::Postgres(_)) => Some(replica),
                (Ok(_), _) | (Err(_), DbTarget::Sqlite(_)) => {
                    return Err(bad("EXAMPOST_READ_DATABASE_URL (--read-database-url)", "a read replica is a PostgreSQL replica of a PostgreSQL primary"))
                }
                (Err(reason), _) => return Err(bad("EXAMPOST_READ_DATABASE_URL (--read-database-url)", reason)),
            },
        };
        Ok(Config {
            webhook_policy,
            database,
            bind,
            jwt_secret,
            token_ttl,
            pool_size,
            sqlite_sync,
            workers,
            sweep_every,
            report_time: chrono::NaiveTime::parse_from_str(s.report_time.trim(), "%H:%M")
                .map_err(|_| bad("EXAMPOST_REPORT_TIME (--report-time)", format!("must be HH:MM (Vietnam time), got {:?}", s.report_time)))?,
            retention_days: Some(number("EXAMPOST_RETENTION_DAYS (--retention-days)", &s.retention_days, 0u32, 36_500)?).filter(|days| *days > 0),
            smtp_url: s.smtp_url.clone(),
            mail_from: s.mail_from.clone(),
            dispatch_every,
            lookups_per_minute: number("EXAMPOST_LOOKUPS_PER_MINUTE (--lookups-per-minute)", &s.lookups_per_minute, 1u32, 10_000_000)?,
            trusted_proxies: TrustedProxies::parse(&s.trusted_proxies)
                .map_err(|r| bad("EXAMPOST_TRUSTED_PROXIES (--trusted-proxies)", r))?,
            import_max_bytes: number("EXAMPOST_IMPORT_MAX_BYTES (--import-max-bytes)", &s.import_max_bytes, 1024u64, 1 << 30)?,
            token_limits: TokenLimits::from_settings(s)?,
            read_database,
            read_max_lag: Duration::from_secs(number("EXAMPOST_READ_MAX_LAG_SECS (--read-max-lag-secs)", &s.read_max_lag_secs, 0u64, 3600)?),
            metrics_token: match s.metrics_token.as_deref().filter(|t| !t.trim().is_empty()) {
                Some(token) => Some(MetricsToken::new(token).map_err(|r| bad("EXAMPOST_METRICS_TOKEN (--metrics-token)", r))?),
                None => None,
            },
        })
    }

    /// The token signing key: the configured one, or (SQLite only) the one
    /// stored beside the database file, generated on first use.
    pub fn signing_key(&self) -> Result<Vec<u8>, ConfigError> {
        if let Some(secret) = &self.jwt_secret {
            return Ok(secret.clone());
        }
        let DbTarget::Sqlite(db_path) = &self.database else {
            unreachable!("from_settings requires a secret with PostgreSQL")
        };
        let dir = db_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        load_or_create_secret(&dir.join("jwt-secret"))
            .map_err(|e| bad("data directory", format!("{} cannot hold the generated token secret ({e}): make it writable by the service's user, or set EXAMPOST_JWT_SECRET", dir.display())))
    }
}

fn load_or_create_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        if existing.trim().len() >= 32 {
            return Ok(existing.trim().as_bytes().to_vec());
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, secret.as_bytes())?;
    Ok(secret.into_bytes())
}

/// The proxies whose forwarding headers are believed (EXAMPOST_TRUSTED_PROXIES).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Comma-separated IPs or CIDRs, e.g. `10.0.0.0/8, 127.0.0.1`; empty: none.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = IpNet::from_str(entry)
                .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                .map_err(|_| format!("{entry:?} is neither an IP address nor a CIDR such as 10.0.0.0/8"))?;
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    pub fn trusts(&self, addr: IpAddr) -> bool {
        // An IPv4 address seen through an IPv6 socket is the IPv4 address.
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&addr))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Settings {
        Settings {
            database_url: "sqlite://./data/exampost.db".into(),
            bind: "127.0.0.1:8080".into(),
            jwt_secret: None,
            token_ttl_secs: "900".into(),
            pool_size: "8".into(),
            sqlite_synchronous: "full".into(),
            workers: None,
            sweep_secs: "60".into(),
            report_time: "07:00".into(),
            retention_days: "180".into(),
            smtp_url: None,
            mail_from: "ExamPost <no-reply@exampost.invalid>".into(),
            dispatch_secs: "5".into(),
            lookups_per_minute: "10".into(),
            webhook_allow: String::new(),
            webhook_allow_http: "false".into(),
            trusted_proxies: String::new(),
            import_max_bytes: "67108864".into(),
            token_failures_per_client: "10".into(),
            token_failure_window_secs: "900".into(),
            token_attempts_per_address: "30".into(),
            token_verify_threads: None,
            token_verify_queue: "64".into(),
            client_cache_secs: "5".into(),
            metrics_token: None,
            read_database_url: None,
            read_max_lag_secs: "5".into(),
        }
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::from_settings(&defaults()).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.sqlite_sync, SqliteSync::Full);
        assert_eq!(c.token_limits, TokenLimits::default());
    }

    #[test]
    fn errors_name_the_setting() {
        let cases: Vec<(Settings, &str)> = vec![
            (Settings { database_url: "mysql://x".into(), ..defaults() }, "EXAMPOST_DATABASE_URL"),
            (Settings { bind: "localhost".into(), ..defaults() }, "EXAMPOST_BIND"),
            (Settings { pool_size: "0".into(), ..defaults() }, "EXAMPOST_POOL_SIZE"),
            (Settings { token_ttl_secs: "ten".into(), ..defaults() }, "EXAMPOST_TOKEN_TTL_SECS"),
            (Settings { sqlite_synchronous: "off".into(), ..defaults() }, "EXAMPOST_SQLITE_SYNCHRONOUS"),
            (Settings { sweep_secs: "-1".into(), ..defaults() }, "EXAMPOST_SWEEP_SECS"),
            (Settings { smtp_url: Some("mail.example.vn".into()), ..defaults() }, "EXAMPOST_SMTP_URL"),
            (Settings { mail_from: "not a mailbox".into(), ..defaults() }, "EXAMPOST_MAIL_FROM"),
            (Settings { jwt_secret: Some("short".into()), ..defaults() }, "EXAMPOST_JWT_SECRET"),
            (Settings { database_url: "postgres://u@h/db".into(), ..defaults() }, "EXAMPOST_JWT_SECRET"),
            (Settings { webhook_allow: "10.0.0.0/33".into(), ..defaults() }, "EXAMPOST_WEBHOOK_ALLOW"),
            (Settings { webhook_allow_http: "maybe".into(), ..defaults() }, "EXAMPOST_WEBHOOK_ALLOW_HTTP"),
            (Settings { trusted_proxies: "10.0.0.0/8, proxy".into(), ..defaults() }, "EXAMPOST_TRUSTED_PROXIES"),
            (Settings { import_max_bytes: "10".into(), ..defaults() }, "EXAMPOST_IMPORT_MAX_BYTES"),
            (Settings { token_failures_per_client: "0".into(), ..defaults() }, "EXAMPOST_TOKEN_FAILURES_PER_CLIENT"),
            (Settings { token_failure_window_secs: "forever".into(), ..defaults() }, "EXAMPOST_TOKEN_FAILURE_WINDOW_SECS"),
            (Settings { token_attempts_per_address: "-5".into(), ..defaults() }, "EXAMPOST_TOKEN_ATTEMPTS_PER_ADDRESS"),
            (Settings { token_verify_threads: Some("0".into()), ..defaults() }, "EXAMPOST_TOKEN_VERIFY_THREADS"),
            (Settings { token_verify_queue: "many".into(), ..defaults() }, "EXAMPOST_TOKEN_VERIFY_QUEUE"),
            (Settings { client_cache_secs: "3600".into(), ..defaults() }, "EXAMPOST_CLIENT_CACHE_SECS"),
            (Settings { metrics_token: Some("short".into()), ..defaults() }, "EXAMPOST_METRICS_TOKEN"),
            (Settings { read_database_url: Some("postgres://replica/exampost".into()), ..defaults() }, "EXAMPOST_READ_DATABASE_URL"),
            (Settings { read_max_lag_secs: "soon".into(), ..defaults() }, "EXAMPOST_READ_MAX_LAG_SECS"),
        ];
        for (settings, name) in cases {
            let err = Config::from_settings(&settings).unwrap_err();
            assert!(err.setting.starts_with(name), "{err} should name {name}");
        }
    }

    #[test]
    fn generated_secret_is_stored_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/db/x.db", dir.path().display());
        let config = Config::from_settings(&Settings { database_url: url, ..defaults() }).unwrap();
        let first = config.signing_key().unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(config.signing_key().unwrap(), first);
        assert!(dir.path().join("db/jwt-secret").exists());
    }

    #[test]
    fn the_trusted_list_names_a_bad_entry() {
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert_eq!(TrustedProxies::parse(" 127.0.0.1 ,::1,10.0.0.0/8").unwrap().0.len(), 3);
        let err = TrustedProxies::parse("10.0.0.0/8, proxy.local").unwrap_err();
        assert!(err.contains("proxy.local"), "{err}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }
}
