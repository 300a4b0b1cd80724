//! `/healthz` (the process answers) and `/readyz` (the database answers,
//! its schema is current, and it stores what it is given).

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::problem::{ApiError, Problem};
use super::AppState;
use crate::db;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(healthz).service(readyz);
}

/// Health state.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// Liveness: the process is up.
#[utoipa::path(tag = "health", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok".into() })
}

/// Readiness: the database answers, its schema is current, writes succeed.
///
/// Not ready while writes fail for lack of storage (a full disk, a
/// read-only database): after such a failure each call writes a little
/// to see whether space has returned, and reports ready again once it has.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "Database unreachable, migrations pending, or writes failing (with Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let current = state
        .db(|conn| db::migrations_applied(conn).map_err(|e| {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::Unavailable
        }))
        .await?;
    if !current {
        return Err(ApiError::Unavailable);
    }
    let write_health = state.pool.write_health();
    if write_health.is_failing() {
        // The flag is only cleared by a write that succeeds, and a service
        // reported not ready gets no traffic to write: so write here.
        let now = state.clock.now();
        state.db(move |conn| write_health.probe(conn, now).map_err(ApiError::from)).await?;
    }
    Ok(HttpResponse::Ok().json(Health { status: "ok".into() }))
}
