//! Area incidents: declare, list, read, extend the deadlines, close.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::incidents::{self, DeclareIncident, IncidentFile};
use crate::domain::incidents::{IncidentKind, IncidentState};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create_incident).service(list_incidents).service(find_incident).service(extend_incident).service(close_incident);
}

/// An incident to declare.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "flood", "provinces": ["lao-cai"], "wards": [], "office_codes": ["VNP-KTPT"],
    "starts_at": "2026-07-15T00:00:00+07:00", "ends_at": "2026-07-17T23:59:00+07:00",
    "description": "Lũ quét, quốc lộ 70 bị chia cắt; xe thư không vào được"}))]
pub struct IncidentRequest {
    pub kind: IncidentKind,
    /// Province codes or names.
    #[serde(default)]
    pub provinces: Vec<String>,
    /// Ward names as items give them.
    #[serde(default)]
    pub wards: Vec<String>,
    /// Offices; an item whose last scan was at one is in the area.
    #[serde(default)]
    pub office_codes: Vec<String>,
    /// RFC 3339 with offset: items whose deadline falls in the window are linked.
    pub starts_at: String,
    pub ends_at: String,
    pub description: String,
}

/// An area incident.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentView {
    pub id: String,
    pub kind: IncidentKind,
    pub state: IncidentState,
    pub provinces: Vec<String>,
    pub wards: Vec<String>,
    pub office_codes: Vec<String>,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: chrono::DateTime<chrono::Utc>,
    pub description: String,
    /// Code of the organization that declared it.
    pub declared_by: String,
    /// Hours the committee has added to the linked items' deadlines.
    pub extension_hours: f64,
    /// Linked items you can see.
    pub items: usize,
    /// Delay cases grouped under it, still active.
    pub active_cases: i64,
    /// In plain words, as the candidates' page says it.
    pub label: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// How many hours to add to the deadlines of the incident's items.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"hours": 48}))]
pub struct ExtendRequest {
    #[schema(minimum = 1, maximum = 168)]
    pub hours: i32,
}

pub fn view(file: IncidentFile) -> IncidentView {
    let i = file.incident;
    IncidentView {
        label: format!("Chậm do {}", crate::domain::incidents::label(i.kind, true)),
        id: i.public_id,
        kind: i.kind,
        state: i.state,
        provinces: i.provinces.into_vec(),
        wards: i.wards.into_vec(),
        office_codes: i.office_codes.into_vec(),
        starts_at: i.starts_at.and_utc(),
        ends_at: i.ends_at.and_utc(),
        description: i.description,
        declared_by: file.declared_by_code,
        extension_hours: f64::from(i.extension_minutes) / 60.0,
        items: file.items,
        active_cases: file.active_cases,
        created_at: i.created_at.and_utc(),
        closed_at: i.closed_at.map(|t| t.and_utc()),
    }
}

/// Declare an area incident (a carrier, or a steering committee in its province).
///
/// The items in the area whose deadline falls in the window are linked (a
/// carrier's: those it carries); their delay cases are grouped under it and
/// the organizations concerned get one mail, not one per item.
#[utoipa::path(
    tag = "incidents",
    request_body = IncidentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = IncidentView),
        (status = 403, description = "Not a carrier, overseer or admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No area, a bad window, a province outside the committee's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/incidents")]
pub async fn create_incident(state: web::Data<AppState>, caller: Caller, ValidJson(request): ValidJson<IncidentRequest>) -> Result<HttpResponse, ApiError> {
    let command = DeclareIncident {
        kind: request.kind,
        provinces: request.provinces,
        wards: request.wards,
        office_codes: request.office_codes,
        starts_at: request.starts_at,
        ends_at: request.ends_at,
        description: request.description,
    };
    let clock = state.clock.clone();
    let file = state.db(move |conn| Ok(incidents::declare(conn, clock.as_ref(), &caller, command)?)).await?;
    Ok(HttpResponse::Created().json(view(file)))
}

/// The incidents you can see, newest first.
#[utoipa::path(tag = "incidents", security(("bearer" = [])), responses((status = 200, body = Vec<IncidentView>)))]
#[get("/incidents")]
pub async fn list_incidents(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Vec<IncidentView>>, ApiError> {
    let files = state.db(move |conn| Ok(incidents::list(conn, &caller)?)).await?;
    Ok(web::Json(files.into_iter().map(view).collect()))
}

/// Read an incident.
#[utoipa::path(
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    security(("bearer" = [])),
    responses((status = 200, body = IncidentView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/incidents/{id}")]
pub async fn find_incident(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<web::Json<IncidentView>, ApiError> {
    let id = id.into_inner();
    let file = state.db(move |conn| Ok(incidents::find(conn, &caller, &id)?)).await?;
    Ok(web::Json(view(file)))
}

/// Extend the deadlines of the incident's items (the steering committee).
///
/// Each linked item still on its way gets `hours` more: its `must_arrive_by`
/// and its effective deadline.
#[utoipa::path(
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    request_body = ExtendRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = IncidentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/incidents/{id}/extend")]
pub async fn extend_incident(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ValidJson(request): ValidJson<ExtendRequest>,
) -> Result<web::Json<IncidentView>, ApiError> {
    let id = id.into_inner();
    let clock = state.clock.clone();
    let file = state.db(move |conn| Ok(incidents::extend(conn, clock.as_ref(), &caller, &id, request.hours)?)).await?;
    Ok(web::Json(view(file)))
}

/// Close an incident: its grouped cases follow the ladder again.
#[utoipa::path(
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = IncidentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already closed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/incidents/{id}/close")]
pub async fn close_incident(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<web::Json<IncidentView>, ApiError> {
    let id = id.into_inner();
    let clock = state.clock.clone();
    let file = state.db(move |conn| Ok(incidents::close(conn, clock.as_ref(), &caller, &id)?)).await?;
    Ok(web::Json(view(file)))
}
