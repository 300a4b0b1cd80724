//! The timing rules per priority: transit times, stall limits, response times.

use actix_web::{get, put, web};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::domain::cases::Rule;
use crate::domain::{Priority, Role};
use crate::store;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_rules).service(update_rule);
}

/// New timing for one priority (all in hours).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"transit_hours_same_province": 24, "transit_hours_other_province": 48, "stall_hours": 12,
    "ack_hours": 2, "suspected_loss_hours": 72, "at_risk_margin_hours": 24}))]
pub struct RuleUpdate {
    pub transit_hours_same_province: i32,
    pub transit_hours_other_province: i32,
    #[schema(minimum = 1, maximum = 1440)]
    pub stall_hours: i32,
    #[schema(minimum = 1, maximum = 1440)]
    pub ack_hours: i32,
    #[schema(minimum = 1, maximum = 1440)]
    pub suspected_loss_hours: i32,
    #[schema(minimum = 1, maximum = 1440)]
    pub at_risk_margin_hours: i32,
}

/// The timing rules of every priority.
#[utoipa::path(tag = "rules", security(("bearer" = [])), responses((status = 200, body = Vec<Rule>)))]
#[get("/rules")]
pub async fn list_rules(state: web::Data<AppState>, _caller: Caller) -> Result<web::Json<Vec<Rule>>, ApiError> {
    Ok(web::Json(state.db(|conn| Ok(store::rules::all(conn)?)).await?))
}

/// Change the timing of one priority (admin). Deadlines of items follow at their next scan.
#[utoipa::path(
    tag = "rules",
    params(("priority" = Priority, Path, description = "standard, priority or urgent")),
    request_body = RuleUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Rule),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/rules/{priority}")]
pub async fn update_rule(
    state: web::Data<AppState>,
    caller: Caller,
    priority: web::Path<String>,
    ValidJson(update): ValidJson<RuleUpdate>,
) -> Result<web::Json<Rule>, ApiError> {
    caller.require(&[Role::Admin])?;
    let priority: Priority = priority.parse().map_err(|r| ApiError::field("priority", r))?;
    let rule = Rule {
        priority,
        transit_hours_same_province: update.transit_hours_same_province,
        transit_hours_other_province: update.transit_hours_other_province,
        stall_hours: update.stall_hours,
        ack_hours: update.ack_hours,
        suspected_loss_hours: update.suspected_loss_hours,
        at_risk_margin_hours: update.at_risk_margin_hours,
    };
    rule.check().map_err(|(field, reason)| ApiError::field(field, reason))?;
    let stored = rule.clone();
    state.db(move |conn| Ok(store::rules::update(conn, &stored)?)).await?;
    Ok(web::Json(rule))
}
