//! Electronic pre-advice of candidates' dossiers: attach, list for the
//! receiving institution, acknowledge.

use actix_web::{get, post, put, web, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::audit::record_read;
use super::auth::Caller;
use super::extract::{SeasonParam, ValidJson};
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::pre_advice::{self, AttachPreAdvice};
use crate::domain::{ItemKind, ItemStatus, ReadAction};
use crate::store::items::Item;
use crate::store::pre_advices::PreAdvice;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(attach_pre_advice).service(acknowledge_pre_advice).service(list_pre_advices);
}

/// The data that reaches the institution ahead of the paper.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"programme": "7480201 Công nghệ thông tin", "document_digest": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}))]
pub struct PreAdviceRequest {
    /// The programme applied for or enrolled in.
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    pub programme: String,
    /// SHA-256 of the dossier's documents (64 hex digits): the paper is checked against it on arrival.
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub document_digest: String,
}

/// A dossier's pre-advice.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PreAdviceView {
    pub tracking_number: String,
    pub season: String,
    pub kind: ItemKind,
    /// Where the paper is.
    pub item_status: ItemStatus,
    pub candidate_number: String,
    pub candidate_name: String,
    pub programme: String,
    pub document_digest: String,
    pub submitted_at: chrono::DateTime<chrono::Utc>,
    /// When the institution acknowledged it: from then the candidate's place does not depend on the paper's journey.
    pub acknowledged_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn view((advice, item): (PreAdvice, Item)) -> PreAdviceView {
    PreAdviceView {
        tracking_number: item.tracking_number,
        season: item.season,
        kind: item.kind,
        item_status: item.status,
        candidate_number: advice.candidate_number,
        candidate_name: advice.candidate_name,
        programme: advice.programme,
        document_digest: advice.document_digest,
        submitted_at: advice.submitted_at.and_utc(),
        acknowledged_at: advice.acknowledged_at.map(|t| t.and_utc()),
    }
}

/// Attach the electronic pre-advice of a dossier (its sender or its carrier).
///
/// Replaces an earlier one until the institution acknowledges it.
#[utoipa::path(
    tag = "items",
    params(("tracking_number" = String, Path, description = "UPU S10 number"), SeasonParam),
    request_body = PreAdviceRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PreAdviceView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already acknowledged", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a dossier to an institution, or a bad digest", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/items/{tracking_number}/pre-advice")]
pub async fn attach_pre_advice(
    state: web::Data<AppState>,
    caller: Caller,
    tracking_number: web::Path<String>,
    season: web::Query<SeasonParam>,
    ValidJson(request): ValidJson<PreAdviceRequest>,
) -> Result<web::Json<PreAdviceView>, ApiError> {
    let command = AttachPreAdvice {
        tracking_number: tracking_number.into_inner(),
        season: season.into_inner().season,
        programme: request.programme,
        document_digest: request.document_digest,
    };
    let clock = state.clock.clone();
    let attached = state.db(move |conn| Ok(pre_advice::attach(conn, clock.as_ref(), &caller, command)?)).await?;
    Ok(web::Json(view(attached)))
}

/// Acknowledge a dossier's pre-advice (the institution it is addressed to).
///
/// The candidate's lookup then says "Trường đã nhận hồ sơ điện tử", and the
/// item's cases and mails say that the candidate's place is kept.
#[utoipa::path(
    tag = "items",
    params(("tracking_number" = String, Path, description = "UPU S10 number"), SeasonParam),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PreAdviceView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item, or it has no pre-advice", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already acknowledged", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/items/{tracking_number}/pre-advice/acknowledge")]
pub async fn acknowledge_pre_advice(
    state: web::Data<AppState>,
    caller: Caller,
    tracking_number: web::Path<String>,
    season: web::Query<SeasonParam>,
) -> Result<web::Json<PreAdviceView>, ApiError> {
    let (number, season) = (tracking_number.into_inner(), season.into_inner().season);
    let clock = state.clock.clone();
    let acknowledged = state.db(move |conn| Ok(pre_advice::acknowledge(conn, clock.as_ref(), &caller, &number, season.as_deref())?)).await?;
    Ok(web::Json(view(acknowledged)))
}

/// Which pre-advices to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PreAdviceParams {
    /// `pending` (not yet acknowledged), `acknowledged`, or `all` (default).
    #[param(pattern = "^(pending|acknowledged|all)$")]
    pub status: Option<String>,
}

/// The pre-advices of dossiers addressed to your institution (admins: all), oldest first.
#[utoipa::path(
    tag = "items",
    params(PreAdviceParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<PreAdviceView>),
        (status = 403, description = "Not an education organization", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/pre-advices")]
pub async fn list_pre_advices(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: web::Query<PreAdviceParams>,
) -> Result<web::Json<Vec<PreAdviceView>>, ApiError> {
    let status = query.into_inner().status;
    let reader = caller.clone();
    let found = state.db(move |conn| Ok(pre_advice::list(conn, &reader, status.as_deref())?)).await?;
    let items: Vec<Item> = found.iter().map(|(_, item)| item.clone()).collect();
    record_read(&state, &req, &caller, ReadAction::List, &items)?;
    Ok(web::Json(found.into_iter().map(view).collect()))
}
