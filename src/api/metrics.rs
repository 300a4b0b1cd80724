//! `GET /metrics`: Prometheus's text format, for a scraper holding
//! `EXAMPOST_METRICS_TOKEN`. Counters and histograms are this process's;
//! the database's figures (cases waiting, the outbox) are read at scrape
//! time, so every replica reports the same ones.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::problem::{ApiError, Problem};
use super::AppState;
use crate::telemetry::names;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(metrics);
}

/// Prometheus metrics.
///
/// Requests by route template, status and latency; scans recorded, replayed
/// and rejected; items registered; cases not yet resolved by kind and level;
/// the outbox's backlog by channel; sweeper and dispatcher pass durations;
/// the connection pool. Needs `Authorization: Bearer <EXAMPOST_METRICS_TOKEN>`
/// (not an access token); without that setting the endpoint does not exist.
#[utoipa::path(
    tag = "health",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The Prometheus text exposition format", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "No or a wrong metrics token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Metrics are off (EXAMPOST_METRICS_TOKEN is not set) and a token was sent", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // No credentials: 401 whether or not metrics are on, as for any endpoint that needs a token.
    let offered = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(offered) = offered else {
        return Err(ApiError::Unauthorized("send the metrics token as Authorization: Bearer <EXAMPOST_METRICS_TOKEN>".into()));
    };
    let Some(expected) = &state.metrics_token else {
        return Err(ApiError::NotFound("no route GET /metrics: set EXAMPOST_METRICS_TOKEN to serve metrics".into()));
    };
    if !expected.matches(offered.trim()) {
        return Err(ApiError::Unauthorized("send the metrics token as Authorization: Bearer <EXAMPOST_METRICS_TOKEN>".into()));
    }
    let Some(prometheus) = crate::telemetry::prometheus() else {
        return Err(ApiError::internal("the metrics recorder is not installed"));
    };
    let now = state.clock.now();
    let snapshot = state.db(move |conn| Ok(crate::app::operations::snapshot(conn, now)?)).await;
    let ready = snapshot.is_ok() && !state.pool.write_health().is_failing();
    ::metrics::gauge!(names::READY).set(if ready { 1.0 } else { 0.0 });
    if let Ok(snapshot) = snapshot {
        for (kind, level, count) in snapshot.active_cases {
            ::metrics::gauge!(names::OPEN_CASES, "kind" => kind.as_str(), "level" => level.to_string()).set(count as f64);
        }
        for channel in snapshot.outbox {
            let label = [("channel", channel.channel)];
            ::metrics::gauge!(names::OUTBOX_PENDING, &label).set(channel.pending as f64);
            ::metrics::gauge!(names::OUTBOX_OLDEST_AGE, &label).set(channel.oldest_pending_secs as f64);
            ::metrics::gauge!(names::OUTBOX_FAILED, &label).set(channel.failed as f64);
        }
    }
    let pool = state.pool.state();
    ::metrics::gauge!(names::POOL_CONNECTIONS).set(f64::from(pool.connections));
    ::metrics::gauge!(names::POOL_IN_USE).set(f64::from(pool.connections.saturating_sub(pool.idle_connections)));
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(prometheus.render()))
}
