//! Seasons: the calendar and the default deadlines per item kind.

use actix_web::{get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::seasons::{self, SeasonCommand};
use crate::domain::ItemKind;
use crate::store::seasons::Season;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_seasons).service(create_season).service(update_season);
}

/// A default deadline of one item kind.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeasonDeadline {
    pub kind: ItemKind,
    /// A day (`YYYY-MM-DD`, the end of it in Vietnam) or an RFC 3339 time; answers give the time.
    pub deadline: String,
}

/// A season as an admin declares it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "2026-THPT", "name": "Kỳ thi tốt nghiệp THPT năm 2026", "exam_days": ["2026-06-11", "2026-06-12"],
    "result_day": "2026-07-16", "closes_on": "2026-09-30",
    "deadlines": [{"kind": "exam_notice", "deadline": "2026-06-01"}, {"kind": "admission_notice", "deadline": "2026-08-21"}]}))]
pub struct SeasonRequest {
    /// A year, a dash and a programme code (ignored by `PUT`: the path names it).
    #[serde(default)]
    pub code: Option<String>,
    pub name: String,
    #[serde(default)]
    pub exam_days: Vec<String>,
    #[serde(default)]
    pub result_day: Option<String>,
    /// The last day the season is open; the candidates' page offers it until then.
    pub closes_on: String,
    /// Per item kind, the deadline an item takes when its sender gives no `must_arrive_by`.
    #[serde(default)]
    pub deadlines: Vec<SeasonDeadline>,
}

/// A season.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SeasonView {
    pub code: String,
    pub name: String,
    pub exam_days: Vec<chrono::NaiveDate>,
    pub result_day: Option<chrono::NaiveDate>,
    pub closes_on: chrono::NaiveDate,
    pub deadlines: Vec<SeasonDeadline>,
}

pub fn view(season: Season) -> SeasonView {
    SeasonView {
        deadlines: season.deadlines.iter().map(|(kind, at)| SeasonDeadline { kind: *kind, deadline: at.and_utc().to_rfc3339() }).collect(),
        code: season.row.code,
        name: season.row.name,
        exam_days: season.row.exam_days.into_vec(),
        result_day: season.row.result_day,
        closes_on: season.row.closes_on,
    }
}

fn command(request: SeasonRequest, code: String) -> SeasonCommand {
    SeasonCommand {
        code,
        name: request.name,
        exam_days: request.exam_days,
        result_day: request.result_day,
        closes_on: request.closes_on,
        deadlines: request.deadlines.into_iter().map(|d| (d.kind, d.deadline)).collect(),
    }
}

/// Every season with its calendar and default deadlines.
#[utoipa::path(tag = "seasons", security(("bearer" = [])), responses((status = 200, body = Vec<SeasonView>)))]
#[get("/seasons")]
pub async fn list_seasons(state: web::Data<AppState>, _caller: Caller) -> Result<web::Json<Vec<SeasonView>>, ApiError> {
    let all = state.db(|conn| Ok(seasons::list(conn)?)).await?;
    Ok(web::Json(all.into_iter().map(view).collect()))
}

/// Declare a season (admin).
#[utoipa::path(
    tag = "seasons",
    request_body = SeasonRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = SeasonView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/seasons")]
pub async fn create_season(state: web::Data<AppState>, caller: Caller, ValidJson(request): ValidJson<SeasonRequest>) -> Result<HttpResponse, ApiError> {
    let code = request.code.clone().unwrap_or_default();
    let command = command(request, code);
    let clock = state.clock.clone();
    let season = state.db(move |conn| Ok(seasons::create(conn, clock.as_ref(), &caller, command)?)).await?;
    Ok(HttpResponse::Created().json(view(season)))
}

/// Change a season's calendar and default deadlines (admin). Items already registered keep theirs.
#[utoipa::path(
    tag = "seasons",
    params(("code" = String, Path, description = "Season code, e.g. 2026-THPT")),
    request_body = SeasonRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SeasonView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/seasons/{code}")]
pub async fn update_season(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    ValidJson(request): ValidJson<SeasonRequest>,
) -> Result<web::Json<SeasonView>, ApiError> {
    let command = command(request, code.into_inner());
    let clock = state.clock.clone();
    let code = command.code.clone();
    let season = state.db(move |conn| Ok(seasons::replace(conn, clock.as_ref(), &caller, &code, command)?)).await?;
    Ok(web::Json(view(season)))
}
