//! What the service tells its operators: logs (text or JSON, one access
//! line per request) and Prometheus metrics. Every part of the service
//! records through the `tracing` and `metrics` facades; this module only
//! decides where that goes.

use std::io::IsTerminal;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Names of the metrics, so that a dashboard and the code agree.
pub mod names {
    pub const HTTP_REQUESTS: &str = "exampost_http_requests_total";
    pub const HTTP_DURATION: &str = "exampost_http_request_duration_seconds";
    pub const SCANS: &str = "exampost_scans_total";
    pub const ITEMS_REGISTERED: &str = "exampost_items_registered_total";
    pub const OPEN_CASES: &str = "exampost_open_cases";
    pub const OUTBOX_PENDING: &str = "exampost_outbox_pending";
    pub const OUTBOX_OLDEST_AGE: &str = "exampost_outbox_oldest_pending_age_seconds";
    pub const OUTBOX_FAILED: &str = "exampost_outbox_failed";
    pub const SWEEP_DURATION: &str = "exampost_sweep_pass_duration_seconds";
    pub const SWEEP_FAILURES: &str = "exampost_sweep_failures_total";
    pub const DISPATCH_DURATION: &str = "exampost_dispatch_pass_duration_seconds";
    pub const SCAN_WRITER_ERRORS: &str = "exampost_scan_writer_errors_total";
    pub const POOL_CONNECTIONS: &str = "exampost_db_pool_connections";
    pub const POOL_IN_USE: &str = "exampost_db_pool_connections_in_use";
    pub const POOL_WAIT: &str = "exampost_db_pool_wait_seconds";
    pub const POOL_TIMEOUTS: &str = "exampost_db_pool_timeouts_total";
    pub const READY: &str = "exampost_ready";
    pub const READ_REPLICA_LAG: &str = "exampost_read_replica_lag_seconds";
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The log filter and format, from `EXAMPOST_LOG` and `EXAMPOST_LOG_FORMAT`.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub filter: String,
    pub format: LogFormat,
}

const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

impl LogSettings {
    pub fn from_env() -> Result<LogSettings, String> {
        let filter = std::env::var("EXAMPOST_LOG").unwrap_or_else(|_| "info".into());
        let format = std::env::var("EXAMPOST_LOG_FORMAT").unwrap_or_else(|_| "text".into());
        LogSettings::parse(&filter, &format)
    }

    /// Refuses what `tracing` would accept and then ignore: a bare word
    /// that is not a level (`verbose`) is read as a module name, and the
    /// service would log nothing at all.
    ///
    /// Refuses any letter outside ASCII too: targets are Rust module paths,
    /// and tracing-subscriber 0.3.23's directive parser slices its input at
    /// a byte after the character it read, which panics inside a letter of
    /// two or more bytes (` a¡=` brought the process down at start-up).
    pub fn parse(filter: &str, format: &str) -> Result<LogSettings, String> {
        if let Some(letter) = filter.chars().find(|c| !c.is_ascii()) {
            return Err(format!(
                "invalid setting EXAMPOST_LOG: {letter:?} is not an ASCII letter; levels and module names such as exampost=debug are"
            ));
        }
        for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let level = directive.rsplit_once('=').map_or(directive, |(_, level)| level);
            let names_a_target = directive.contains('=') || directive.contains("::") || directive.contains('[');
            if !names_a_target && !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
                return Err(format!(
                    "invalid setting EXAMPOST_LOG: {directive:?} is not a level ({}) nor TARGET=LEVEL such as exampost=debug",
                    LEVELS.join(", ")
                ));
            }
        }
        tracing_subscriber::EnvFilter::try_new(filter).map_err(|e| format!("invalid setting EXAMPOST_LOG: {e}"))?;
        let format = match format.trim().to_ascii_lowercase().as_str() {
            "text" | "" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(format!("invalid setting EXAMPOST_LOG_FORMAT: {other:?} is neither text nor json")),
        };
        Ok(LogSettings { filter: filter.to_string(), format })
    }
}

/// Sends log lines to standard error; colour only when it is a terminal.
///
/// A thread of its own writes them (tracing-appender): written by the
/// request's worker, the access line alone cost a quarter of the
/// throughput of `GET /healthz` (measured: 94–105k req/s before the access
/// log, 70–80k with it written in line). Keep the guard for as long as the
/// process runs: dropping it flushes what is still buffered.
#[must_use = "dropping the guard stops the log writer"]
pub fn init_logging(settings: &LogSettings) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| "info".into());
    // Past this many lines waiting (an overloaded disk), new lines are
    // dropped rather than slowing every request down.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default().buffered_lines_limit(256 * 1024).lossy(true).finish(std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    let _ = match settings.format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
    };
    guard
}

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's metrics recorder, installed on first use. `None` when
/// another recorder was installed first (a library user's own).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            let latency = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
            let passes = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(names::HTTP_DURATION.into()), &latency)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(names::POOL_WAIT.into()), &latency))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("pass_duration_seconds".into()), &passes));
            let handle = builder.and_then(PrometheusBuilder::install_recorder);
            match handle {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed; /metrics will be empty");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    use names::*;
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by method, route template and status");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to answer an HTTP request, by method and route template");
    describe_counter!(SCANS, "Scan events by outcome: recorded, replayed (a retry of a stored scan) or rejected");
    describe_counter!(ITEMS_REGISTERED, "Items registered (created, not replays)");
    describe_gauge!(OPEN_CASES, "Cases not yet resolved, by kind and level (read at scrape time)");
    describe_gauge!(OUTBOX_PENDING, "Notifications waiting to be sent, by channel");
    describe_gauge!(OUTBOX_OLDEST_AGE, Unit::Seconds, "Age of the oldest notification waiting, by channel");
    describe_gauge!(OUTBOX_FAILED, "Notifications given up on, by channel");
    describe_histogram!(SWEEP_DURATION, Unit::Seconds, "Duration of a sweeper pass (delays, cases, roots, reports)");
    describe_counter!(SWEEP_FAILURES, "Sweeper passes that failed");
    describe_histogram!(DISPATCH_DURATION, Unit::Seconds, "Duration of a dispatcher pass over the outbox");
    describe_counter!(SCAN_WRITER_ERRORS, "Scan writer groups that failed as a whole (each scan then retried alone)");
    describe_gauge!(POOL_CONNECTIONS, "Database connections open in this process's pool");
    describe_gauge!(POOL_IN_USE, "Database connections lent out");
    describe_histogram!(POOL_WAIT, Unit::Seconds, "Time a request waited for a database connection");
    describe_counter!(POOL_TIMEOUTS, "Waits for a database connection that gave up");
    describe_gauge!(READY, "1 when the database answers and writes succeed, else 0");
    describe_gauge!(READ_REPLICA_LAG, Unit::Seconds, "How far the read replica is behind the primary (-1: it cannot be asked)");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_log_setting_text_is_taken_or_refused_without_panicking(filter in "\\PC{0,60}", format in "\\PC{0,12}") {
            if let Err(refusal) = LogSettings::parse(&filter, &format) {
                prop_assert!(refusal.contains("EXAMPOST_LOG"));
            }
        }

        /// Past the ASCII check, the text reaches tracing's own parser.
        #[test]
        fn any_ascii_log_setting_reaches_the_filter_without_panicking(filter in "[ -~]{0,60}") {
            if let Err(refusal) = LogSettings::parse(&filter, "text") {
                prop_assert!(refusal.contains("EXAMPOST_LOG"));
            }
        }
    }

    #[test]
    fn levels_and_targets_pass_and_made_up_words_do_not() {
        for good in ["info", "warn", "exampost=debug,actix_web=warn", "exampost::access=off,info", "DEBUG", ""] {
            assert!(LogSettings::parse(good, "text").is_ok(), "{good}");
        }
        for bad in ["verbose", "info,loud", "exampost=loud"] {
            let refused = LogSettings::parse(bad, "text").unwrap_err();
            assert!(refused.contains("EXAMPOST_LOG"), "{bad}: {refused}");
        }
        for outside_ascii in [" a¡=", "exampost=débug", "[{tên=x}]=info"] {
            let refused = LogSettings::parse(outside_ascii, "text").unwrap_err();
            assert!(refused.contains("not an ASCII letter"), "{outside_ascii}: {refused}");
        }
        assert_eq!(LogSettings::parse("info", " JSON").unwrap().format, LogFormat::Json);
        assert!(LogSettings::parse("info", "yaml").unwrap_err().contains("EXAMPOST_LOG_FORMAT"));
    }
}
