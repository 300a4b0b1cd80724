//! The timing rules per priority: transit times, stall limits, response times.

use actix_web::{get, put, web};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::administration::{self, RuleChange};
use crate::domain::cases::Rule;
use crate::domain::Priority;

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

impl From<RuleUpdate> for RuleChange {
    fn from(u: RuleUpdate) -> Self {
        RuleChange {
            transit_hours_same_province: u.transit_hours_same_province,
            transit_hours_other_province: u.transit_hours_other_province,
            stall_hours: u.stall_hours,
            ack_hours: u.ack_hours,
            suspected_loss_hours: u.suspected_loss_hours,
            at_risk_margin_hours: u.at_risk_margin_hours,
        }
    }
}

/// The timing rules of every priority.
#[utoipa::path(tag = "rules", security(("bearer" = [])), responses((status = 200, body = Vec<Rule>)))]
#[get("/rules")]
pub async fn list_rules(state: web::Data<AppState>, _caller: Caller) -> Result<web::Json<Vec<Rule>>, ApiError> {
    Ok(web::Json(state.db(|conn| Ok(administration::list_rules(conn)?)).await?))
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
    let priority = priority.into_inner();
    let change = RuleChange::from(update);
    let rule = state.db(move |conn| Ok(administration::update_rule(conn, &caller, &priority, change)?)).await?;
    Ok(web::Json(rule))
}
