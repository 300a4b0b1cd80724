//! Escalation cases: list, read, and act (acknowledge, comment, resolve,
//! close, escalate, direct). Every change lands on the case's timeline.

mod dto;

pub use dto::*;

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::ValidJson;
use super::pagination::{take_page, Listing, Page, PageParams};
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::cases::{self, CaseCommand, CaseFile, CaseQuery, Protected};
use crate::csv_out;
use crate::store::cases::Case;
use crate::store::items::Item;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_cases)
        .service(find_case)
        .service(acknowledge_case)
        .service(comment_case)
        .service(resolve_case)
        .service(close_case)
        .service(escalate_case)
        .service(direct_case);
}

fn case_view(case: &Case, item: &Item, owner_code: &str, protected: Option<Protected>, incident: Option<String>, place_kept: bool) -> CaseView {
    CaseView {
        id: case.public_id.clone(),
        item: CaseItem {
            tracking_number: item.tracking_number.clone(),
            season: item.season.clone(),
            status: item.status,
            due_at: item.due_at.map(|t| t.and_utc()),
            must_arrive_by: item.must_arrive_by.map(|t| t.and_utc()),
        },
        kind: case.kind,
        severity: case.severity,
        level: case.level,
        state: case.state,
        owner_org: owner_code.to_string(),
        response_due_at: case.response_due_at.and_utc(),
        deadline: protected.map(|p| p.deadline),
        minutes_left: protected.map(|p| p.minutes_left),
        incident_id: incident,
        place_kept,
        plan: case.plan.clone(),
        expected_at: case.expected_at.map(|t| t.and_utc()),
        outcome: case.outcome,
        replacement_requested: case.replacement_requested,
        opened_at: case.opened_at.and_utc(),
        acknowledged_at: case.acknowledged_at.map(|t| t.and_utc()),
        resolved_at: case.resolved_at.map(|t| t.and_utc()),
        closed_at: case.closed_at.map(|t| t.and_utc()),
        updated_at: case.updated_at.and_utc(),
    }
}

fn case_detail(file: CaseFile) -> CaseDetail {
    let case = case_view(&file.case, &file.item, &file.owner_code, file.protected, file.incident.clone(), file.place_kept);
    let timeline = file
        .entries
        .into_iter()
        .map(|e| CaseEntryView {
            action: e.action,
            level: e.level,
            actor: e.actor,
            note: e.note,
            at: e.at.and_utc(),
        })
        .collect();
    CaseDetail { case, timeline }
}

/// Runs one action on the case and answers with the case as it is after.
async fn act(state: web::Data<AppState>, caller: Caller, id: String, command: CaseCommand) -> Result<web::Json<CaseDetail>, ApiError> {
    let clock = state.clock.clone();
    let file = state.db(move |conn| Ok(cases::act(conn, clock.as_ref(), &caller, &id, command)?)).await?;
    Ok(web::Json(case_detail(file)))
}

/// List the cases of the items you can see, newest first.
#[utoipa::path(
    tag = "cases",
    params(CaseListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of cases (or text/csv with format=csv)", body = Page<CaseView>),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/cases")]
pub async fn list_cases(state: web::Data<AppState>, caller: Caller, query: web::Query<CaseListParams>) -> Result<HttpResponse, ApiError> {
    let params = query.into_inner();
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::field("format", "must be json or csv")),
    };
    let page = PageParams { limit: params.limit.clone(), cursor: params.cursor.clone() };
    // A CSV export is every matching case: read in pages of 500 until done.
    let limit = if csv { 500 } else { page.limit()? };
    let mut before = page.id_position(Listing::Cases)?;
    let query = CaseQuery {
        kind: params.kind.clone(),
        level: params.level.clone(),
        state: params.state.clone(),
        owner: params.owner.clone(),
        tracking_number: params.tracking_number.clone(),
    };
    let actor = caller.clone();
    let filter = state.db_read(move |conn| Ok(cases::filter(conn, &actor, &query)?)).await?;
    let mut views = Vec::new();
    loop {
        let (actor, filter, clock) = (caller.clone(), filter.clone(), state.clock.clone());
        let (mut page, last, full) = state
            .db(move |conn| {
                let rows = cases::list(conn, clock.as_ref(), &actor, &filter, before, limit + 1)?;
                let full = rows.len() as i64 > limit;
                let (rows, next_cursor) = take_page(rows, limit, Listing::Cases, |c| c.case.id.to_string());
                let last = rows.last().map(|c| c.case.id);
                let items = rows.iter().map(|c| case_view(&c.case, &c.item, &c.owner_code, c.protected, c.incident.clone(), c.place_kept)).collect::<Vec<_>>();
                Ok((Page { items, next_cursor }, last, full))
            })
            .await?;
        if !csv {
            return Ok(HttpResponse::Ok().json(page));
        }
        views.append(&mut page.items);
        if !full {
            break;
        }
        before = last;
    }
    let header = [
        "case_id", "tracking_number", "kind", "severity", "level", "state", "owner_org", "outcome", "opened_at", "response_due_at", "resolved_at",
        "deadline",
    ];
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let rows = views.iter().map(|c| {
        [
            c.id.clone(), c.item.tracking_number.clone(), c.kind.as_str().into(), c.severity.as_str().into(), c.level.to_string(),
            c.state.as_str().into(), c.owner_org.clone(), c.outcome.map(|o| o.as_str().to_string()).unwrap_or_default(),
            c.opened_at.to_rfc3339(), c.response_due_at.to_rfc3339(), time(c.resolved_at), time(c.deadline),
        ]
    });
    let body = csv_out::file(header, rows).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type(csv_out::CONTENT_TYPE).insert_header(("content-disposition", "attachment; filename=\"cases.csv\"")).body(body))
}

/// Read a case with its timeline.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    security(("bearer" = [])),
    responses((status = 200, body = CaseDetail), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/cases/{id}")]
pub async fn find_case(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<web::Json<CaseDetail>, ApiError> {
    let id = id.into_inner();
    let clock = state.clock.clone();
    let file = state.db(move |conn| Ok(cases::find(conn, clock.as_ref(), &caller, &id)?)).await?;
    let detail = case_detail(file);
    Ok(web::Json(detail))
}

/// Acknowledge a case (the item's carrier), with a plan and an expected time.
///
/// An acknowledged case no longer rises by itself.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = AcknowledgeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CaseDetail),
        (status = 403, description = "Not the item's carrier", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not open", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/acknowledge")]
pub async fn acknowledge_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ValidJson(request): ValidJson<AcknowledgeRequest>,
) -> Result<web::Json<CaseDetail>, ApiError> {
    let command = CaseCommand::Acknowledge { plan: request.plan, expected_at: request.expected_at };
    act(state, caller, id.into_inner(), command).await
}

/// Add a comment to a case's timeline.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = CommentRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CaseDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/comment")]
pub async fn comment_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ValidJson(request): ValidJson<CommentRequest>,
) -> Result<web::Json<CaseDetail>, ApiError> {
    act(state, caller, id.into_inner(), CaseCommand::Comment { note: request.note }).await
}

/// Resolve a case (the item's carrier) with its outcome.
///
/// `declared_lost` records the loss on the item: a `lost` case then asks
/// the sender for a replacement.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = ResolveRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CaseDetail),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already resolved or closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No or unknown outcome", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/resolve")]
pub async fn resolve_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ValidJson(request): ValidJson<ResolveRequest>,
) -> Result<web::Json<CaseDetail>, ApiError> {
    act(state, caller, id.into_inner(), CaseCommand::Resolve { outcome: request.outcome, note: request.note }).await
}

/// Close a resolved case (the item's sender).
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = NoteRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CaseDetail),
        (status = 403, description = "Not the item's sender", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not resolved", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/close")]
pub async fn close_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ValidJson(request): ValidJson<NoteRequest>,
) -> Result<web::Json<CaseDetail>, ApiError> {
    act(state, caller, id.into_inner(), CaseCommand::Close { note: request.note }).await
}

/// Raise a case one level by hand.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = NoteRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CaseDetail),
        (status = 409, description = "Already at the top level, or settled", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/escalate")]
pub async fn escalate_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ValidJson(request): ValidJson<NoteRequest>,
) -> Result<web::Json<CaseDetail>, ApiError> {
    act(state, caller, id.into_inner(), CaseCommand::Escalate { note: request.note }).await
}

/// Direct a level-3 case (the steering committee): an instruction, the
/// organization that must act, and by when.
///
/// That organization becomes the case's owner and its contacts are told at
/// once; `respond_by` is the case's new response time. It may then
/// acknowledge and resolve the case.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = DirectRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CaseDetail),
        (status = 403, description = "Not the steering committee, or the case is below level 3", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Below level 3, or settled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No instruction, an unknown organization, or a time not in the future", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/direct")]
pub async fn direct_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ValidJson(request): ValidJson<DirectRequest>,
) -> Result<web::Json<CaseDetail>, ApiError> {
    let command = CaseCommand::Direct { instruction: request.instruction, organization: request.organization, respond_by: request.respond_by };
    act(state, caller, id.into_inner(), command).await
}
