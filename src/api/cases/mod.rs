//! Escalation cases: list, read, and act (acknowledge, comment, resolve,
//! close, escalate). Every change lands on the case's timeline.

mod dto;

pub use dto::*;

use std::collections::HashMap;

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::events::{record_all, BatchEventEntry, EventDetail, NewEventRequest, Outcome};
use super::extract::ValidJson;
use super::items::scope_of;
use super::pagination::{take_page, Listing, Page, PageParams};
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::csv_out::CsvOut;
use crate::db::DbConn;
use crate::domain::cases::{transition, CaseAction, CaseKind, CaseOutcome, CaseState, Severity, TOP_LEVEL};
use crate::domain::{fields, s10, FieldErrors, ItemStatus, Role};
use crate::escalation;
use crate::store::cases::{Case, CaseFilter, StateChanges};
use crate::store::items::Item;
use crate::store::{self};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_cases)
        .service(find_case)
        .service(acknowledge_case)
        .service(comment_case)
        .service(resolve_case)
        .service(close_case)
        .service(escalate_case);
}

fn case_view(conn: &mut DbConn, case: &Case, item: &Item) -> Result<CaseView, ApiError> {
    let owner = store::organizations::find(conn, &case.owner_org_id)?.map(|o| o.code).unwrap_or_default();
    let bad = || ApiError::internal(format!("case {} has bad stored values", case.public_id));
    Ok(CaseView {
        id: case.public_id.clone(),
        item: CaseItem {
            tracking_number: item.tracking_number.clone(),
            season: item.season.clone(),
            status: ItemStatus::parse(&item.status).ok_or_else(bad)?,
            due_at: item.due_at.map(|t| t.and_utc()),
        },
        kind: CaseKind::parse(&case.kind).ok_or_else(bad)?,
        severity: Severity::parse(&case.severity).ok_or_else(bad)?,
        level: case.level,
        state: CaseState::parse(&case.state).ok_or_else(bad)?,
        owner_org: owner,
        response_due_at: case.response_due_at.and_utc(),
        plan: case.plan.clone(),
        expected_at: case.expected_at.map(|t| t.and_utc()),
        outcome: case.outcome.as_deref().and_then(CaseOutcome::parse),
        replacement_requested: case.replacement_requested,
        opened_at: case.opened_at.and_utc(),
        acknowledged_at: case.acknowledged_at.map(|t| t.and_utc()),
        resolved_at: case.resolved_at.map(|t| t.and_utc()),
        closed_at: case.closed_at.map(|t| t.and_utc()),
        updated_at: case.updated_at.and_utc(),
    })
}

fn case_detail(conn: &mut DbConn, case_id: i64) -> Result<CaseDetail, ApiError> {
    let case = store::cases::find(conn, case_id)?;
    let item = store::items::find(conn, case.item_id)?;
    let timeline = store::cases::entries(conn, case.id)?
        .into_iter()
        .map(|e| CaseEntryView {
            action: CaseAction::parse(&e.action).unwrap_or(CaseAction::Commented),
            level: e.level,
            actor: e.actor,
            note: e.note,
            at: e.at.and_utc(),
        })
        .collect();
    Ok(CaseDetail { case: case_view(conn, &case, &item)?, timeline })
}

/// The case and its item, if the caller may see the item.
fn visible_case(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(Case, Item), ApiError> {
    let not_found = || ApiError::NotFound(format!("no case {id} that you can see"));
    let case = store::cases::find_by_public_id(conn, id)?.ok_or_else(not_found)?;
    let item = store::items::find(conn, case.item_id)?;
    if !scope_of(caller).includes(&item) {
        return Err(not_found());
    }
    Ok((case, item))
}

/// Who may take which action on a case they can see.
fn allowed(caller: &Caller, item: &Item, action: CaseAction) -> Result<(), ApiError> {
    let ok = match (caller.role, action) {
        (Role::Admin, _) => true,
        (_, CaseAction::Commented | CaseAction::Escalated) => true,
        (Role::Carrier, CaseAction::Acknowledged | CaseAction::Resolved) => item.carrier_org_id == caller.org_id,
        (Role::Education, CaseAction::Closed) => item.sender_org_id == caller.org_id,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let who = match action {
        CaseAction::Acknowledged | CaseAction::Resolved => "the item's carrier",
        CaseAction::Closed => "the item's sender",
        _ => "an admin",
    };
    Err(ApiError::Forbidden(format!("only {who} may do this")))
}

/// Runs one action: visibility, permission and state checks, the change,
/// and its timeline entry, in one write transaction.
async fn act<F>(state: web::Data<AppState>, caller: Caller, id: String, action: CaseAction, apply: F) -> Result<web::Json<CaseDetail>, ApiError>
where
    F: FnOnce(&mut DbConn, &Caller, &Case, &Item, DateTime<Utc>) -> Result<(), ApiError> + Send + 'static,
{
    let now = state.clock.now();
    let detail = state
        .db(move |conn| {
            conn.write_transaction(|conn| {
                let (case, item) = visible_case(conn, &caller, &id)?;
                allowed(&caller, &item, action)?;
                let current = CaseState::parse(&case.state).ok_or_else(|| ApiError::internal("bad stored case state"))?;
                transition(current, action).map_err(|detail| ApiError::Conflict { detail, existing_id: None })?;
                apply(conn, &caller, &case, &item, now)?;
                case_detail(conn, case.id)
            })
        })
        .await?;
    Ok(web::Json(detail))
}

fn changed(done: bool) -> Result<(), ApiError> {
    if done {
        Ok(())
    } else {
        Err(ApiError::Conflict { detail: "the case changed meanwhile; read it again".into(), existing_id: None })
    }
}

fn note(text: Option<&str>) -> Result<Option<String>, ApiError> {
    fields::optional_text(text, 2000).map_err(|r| ApiError::field("note", r))
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
    let scope = scope_of(&caller);
    let filter = state.db(move |conn| case_filter(conn, &scope, &params)).await?;
    let mut views = Vec::new();
    loop {
        let (scope, filter) = (scope_of(&caller), filter.clone());
        let (mut page, last, full) = state
            .db(move |conn| {
                let rows = store::cases::list_visible(conn, &scope, &filter, before, limit + 1)?;
                let full = rows.len() as i64 > limit;
                let (rows, next_cursor) = take_page(rows, limit, Listing::Cases, |c| c.id.to_string());
                let last = rows.last().map(|c| c.id);
                let mut items: HashMap<i64, Item> = HashMap::new();
                let mut views = Vec::with_capacity(rows.len());
                for case in rows {
                    if let std::collections::hash_map::Entry::Vacant(slot) = items.entry(case.item_id) {
                        slot.insert(store::items::find(conn, case.item_id)?);
                    }
                    views.push(case_view(conn, &case, &items[&case.item_id])?);
                }
                Ok((Page { items: views, next_cursor }, last, full))
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
    let mut out = CsvOut::new(true);
    out.row(["case_id", "tracking_number", "kind", "severity", "level", "state", "owner_org", "outcome", "opened_at", "response_due_at", "resolved_at"])
        .map_err(ApiError::internal)?;
    for c in &views {
        let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
        out.row([
            c.id.clone(), c.item.tracking_number.clone(), c.kind.as_str().into(), c.severity.as_str().into(), c.level.to_string(),
            c.state.as_str().into(), c.owner_org.clone(), c.outcome.map(|o| o.as_str().to_string()).unwrap_or_default(),
            c.opened_at.to_rfc3339(), c.response_due_at.to_rfc3339(), time(c.resolved_at),
        ])
        .map_err(ApiError::internal)?;
    }
    let body = out.finish().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").insert_header(("content-disposition", "attachment; filename=\"cases.csv\"")).body(body))
}

fn case_filter(conn: &mut DbConn, scope: &crate::store::items::ItemScope, params: &CaseListParams) -> Result<CaseFilter, ApiError> {
    let mut errors = FieldErrors::default();
    let mut filter = CaseFilter {
        kind: params.kind.as_deref().and_then(|v| errors.check("kind", v.parse::<CaseKind>())).map(|k| k.as_str().into()),
        level: params.level.as_deref().and_then(|v| {
            errors.check("level", v.parse::<i32>().ok().filter(|l| (1..=TOP_LEVEL).contains(l)).ok_or_else(|| "must be 1, 2 or 3".to_string()))
        }),
        state: params.state.as_deref().and_then(|v| errors.check("state", v.parse::<CaseState>())).map(|s| s.as_str().into()),
        ..Default::default()
    };
    if let Some(code) = &params.owner {
        let code = code.trim().to_uppercase();
        let org = store::organizations::find_by_code(conn, &code)?;
        filter.owner_org_id = errors.check("owner", org.map(|o| o.id).ok_or_else(|| format!("no organization with code {code}")));
    }
    if let Some(number) = &params.tracking_number {
        if let Some(number) = errors.check("tracking_number", s10::normalize(number).map_err(|e| e.to_string())) {
            let item = store::items::find_visible(conn, scope, &number, None)?;
            filter.item_id = Some(item.map(|i| i.id).unwrap_or(-1));
        }
    }
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(ApiError::Validation(errors.0))
    }
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
    let detail = state
        .db(move |conn| {
            let (case, _) = visible_case(conn, &caller, &id)?;
            case_detail(conn, case.id)
        })
        .await?;
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
    let mut errors = FieldErrors::default();
    let plan = errors.check("plan", fields::text(&request.plan, 2000));
    let expected = errors.check("expected_at", fields::timestamp(&request.expected_at));
    let (Some(plan), Some(expected), true) = (plan, expected, errors.is_empty()) else {
        return Err(ApiError::Validation(errors.0));
    };
    act(state, caller, id.into_inner(), CaseAction::Acknowledged, move |conn, caller, case, _, now| {
        let changes = StateChanges { plan: Some(plan.clone()), expected_at: Some(expected.naive_utc()), outcome: None };
        changed(store::cases::change_state(conn, case, CaseState::Acknowledged, changes, now.naive_utc())?)?;
        store::cases::add_entry(conn, case, CaseAction::Acknowledged, &caller.client_id, Some(&plan), now.naive_utc())?;
        Ok(())
    })
    .await
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
    let text = note(Some(&request.note))?.ok_or_else(|| ApiError::field("note", "must not be empty"))?;
    act(state, caller, id.into_inner(), CaseAction::Commented, move |conn, caller, case, _, now| {
        Ok(store::cases::add_entry(conn, case, CaseAction::Commented, &caller.client_id, Some(&text), now.naive_utc())?)
    })
    .await
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
    let text = note(request.note.as_deref())?;
    let outcome = request.outcome;
    act(state, caller, id.into_inner(), CaseAction::Resolved, move |conn, caller, case, item, now| {
        changed(escalation::resolve(conn, case, outcome, &caller.client_id, text.as_deref(), now)?)?;
        if outcome == CaseOutcome::DeclaredLost && item.status != ItemStatus::Lost.as_str() {
            declare_lost(conn, caller, case, item, now)?;
        }
        Ok(())
    })
    .await
}

/// Records the carrier's declaration of loss as a `lost_declared` scan.
fn declare_lost(conn: &mut DbConn, caller: &Caller, case: &Case, item: &Item, now: DateTime<Utc>) -> Result<(), ApiError> {
    let entry = BatchEventEntry {
        tracking_number: item.tracking_number.clone(),
        season: Some(item.season.clone()),
        event: NewEventRequest {
            client_event_id: format!("case-{}-declared-lost", case.public_id),
            occurred_at: now.to_rfc3339(),
            office_code: item.last_office_code.clone().unwrap_or_else(|| "EXAMPOST".into()),
            office_name: None,
            operator_id: Some(caller.client_id.clone()),
            device_id: None,
            detail: EventDetail::LostDeclared { note: Some(format!("declared lost when resolving case {}", case.public_id)) },
        },
    };
    match record_all(conn, caller, vec![Ok(entry)], now)?.pop() {
        Some((Outcome::Rejected(problem), _)) => Err(ApiError::from_problem(problem)),
        _ => Ok(()),
    }
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
    let text = note(request.note.as_deref())?;
    act(state, caller, id.into_inner(), CaseAction::Closed, move |conn, caller, case, _, now| {
        changed(store::cases::change_state(conn, case, CaseState::Closed, StateChanges::default(), now.naive_utc())?)?;
        store::cases::add_entry(conn, case, CaseAction::Closed, &caller.client_id, text.as_deref(), now.naive_utc())?;
        Ok(())
    })
    .await
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
    let text = note(request.note.as_deref())?;
    act(state, caller, id.into_inner(), CaseAction::Escalated, move |conn, caller, case, _, now| {
        if case.level >= TOP_LEVEL {
            return Err(ApiError::Conflict { detail: "the case is already at the top level".into(), existing_id: None });
        }
        changed(escalation::rise(conn, case, &caller.client_id, text.as_deref(), now)?)
    })
    .await
}
