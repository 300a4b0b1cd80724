//! The timing rules per priority (acceptance windows, transit times, stall
//! limits, response times) and the default priority of each item kind.

use actix_web::{get, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::administration::{self, RuleChange};
use crate::domain::cases::Rule;
use crate::domain::{ItemKind, Priority};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_rules).service(update_rule).service(list_kind_priorities).service(update_kind_priority);
}

/// New timing for one priority (all in hours).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"transit_hours_same_province": 24, "transit_hours_other_province": 48, "stall_hours": 12,
    "ack_hours": 2, "suspected_loss_hours": 72, "at_risk_margin_hours": 24, "accept_hours": 4}))]
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
    /// Longest time from registration to acceptance; omitted keeps the current one.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1440)]
    pub accept_hours: Option<i32>,
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
            accept_hours: u.accept_hours,
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

/// The priority an item kind gets when its sender names none.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"kind": "exam_notice", "priority": "priority"}))]
pub struct KindPriority {
    pub kind: ItemKind,
    pub priority: Priority,
}

/// A new default priority for one item kind.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"priority": "urgent"}))]
pub struct KindPriorityUpdate {
    pub priority: Priority,
}

/// The default priority of every item kind.
///
/// Exam notices, admission notices, enrollment dossiers and official
/// dispatches are `priority` unless an admin changes it.
#[utoipa::path(tag = "rules", security(("bearer" = [])), responses((status = 200, body = Vec<KindPriority>)))]
#[get("/rules/kinds")]
pub async fn list_kind_priorities(state: web::Data<AppState>, _caller: Caller) -> Result<web::Json<Vec<KindPriority>>, ApiError> {
    let rows = state.db(|conn| Ok(administration::list_kind_priorities(conn)?)).await?;
    Ok(web::Json(rows.into_iter().map(|(kind, priority)| KindPriority { kind, priority }).collect()))
}

/// Change the default priority of one item kind (admin). Items already registered keep theirs.
#[utoipa::path(
    tag = "rules",
    params(("kind" = ItemKind, Path, description = "An item kind")),
    request_body = KindPriorityUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = KindPriority),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/rules/kinds/{kind}")]
pub async fn update_kind_priority(
    state: web::Data<AppState>,
    caller: Caller,
    kind: web::Path<String>,
    ValidJson(update): ValidJson<KindPriorityUpdate>,
) -> Result<web::Json<KindPriority>, ApiError> {
    let kind = kind.into_inner();
    let (kind, priority) = state.db(move |conn| Ok(administration::set_kind_priority(conn, &caller, &kind, update.priority)?)).await?;
    Ok(web::Json(KindPriority { kind, priority }))
}
