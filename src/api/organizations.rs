//! Organizations: carriers, education bodies and overseers.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::ValidJson;
use super::pagination::{take_page, Listing, Page, PageParams};
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::administration::{self, CreateOrganization};
use crate::domain::OrgKind;
use crate::store::organizations::Organization;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create_organization).service(list_organizations).service(find_organization);
}

/// A new organization.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"code": "SGD-PHUTHO", "name": "Sở GD&ĐT Phú Thọ", "kind": "education", "province": "Phú Thọ"}))]
pub struct NewOrganizationRequest {
    /// Short unique code, 2-32 letters, digits, `-` or `_` (upper-cased).
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    /// Province code (`phu-tho`), name (`Phú Thọ`) or a former province merged into it (`Vĩnh Phúc`).
    pub province: String,
    /// A provincial Department of Education (kind `education`), the steering
    /// committee's standing body: it reads every item leaving or reaching its
    /// province, as the committee does.
    #[serde(default)]
    pub reads_province: bool,
}

impl From<NewOrganizationRequest> for CreateOrganization {
    fn from(r: NewOrganizationRequest) -> Self {
        CreateOrganization { code: r.code, name: r.name, kind: r.kind, province: r.province, reads_province: r.reads_province }
    }
}

/// An organization.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "5d0c…", "code": "VNPOST", "name": "Tổng công ty Bưu điện Việt Nam", "kind": "carrier", "province": "ha-noi", "created_at": "2026-06-01T02:00:00Z"}))]
pub struct OrganizationView {
    pub id: String,
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    /// Province code.
    pub province: String,
    /// Reads every item of its province (a provincial Department of Education).
    pub reads_province: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Organization> for OrganizationView {
    fn from(o: Organization) -> Self {
        OrganizationView { id: o.id, code: o.code, name: o.name, kind: o.kind, province: o.province, reads_province: o.reads_province, created_at: o.created_at.and_utc() }
    }
}

/// Register an organization (admin).
#[utoipa::path(
    tag = "organizations",
    request_body = NewOrganizationRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = OrganizationView),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken; `existing_id` names the holder", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations")]
pub async fn create_organization(
    state: web::Data<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<NewOrganizationRequest>,
) -> Result<HttpResponse, ApiError> {
    let clock = state.clock.clone();
    let command = CreateOrganization::from(request);
    let org = state.db(move |conn| Ok(administration::create_organization(conn, &*clock, &caller, command)?)).await?;
    Ok(HttpResponse::Created().json(OrganizationView::from(org)))
}

/// Filters of the organization list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct OrganizationFilter {
    /// Only organizations of this kind.
    pub kind: Option<OrgKind>,
}

/// List organizations (any client), ordered by code.
///
/// Every client may read the directory: carriers and senders name each other by code.
#[utoipa::path(
    tag = "organizations",
    params(OrganizationFilter, PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of organizations", body = Page<OrganizationView>))
)]
#[get("/organizations")]
pub async fn list_organizations(
    state: web::Data<AppState>,
    _caller: Caller,
    filter: web::Query<OrganizationFilter>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<OrganizationView>>, ApiError> {
    let limit = page.limit()?;
    let after = page.position(Listing::Organizations)?;
    let kind = filter.kind;
    let rows = state.db(move |conn| Ok(administration::list_organizations(conn, kind, after.as_deref(), limit + 1)?)).await?;
    let (rows, next_cursor) = take_page(rows, limit, Listing::Organizations, |o| o.code.clone());
    Ok(web::Json(Page { items: rows.into_iter().map(OrganizationView::from).collect(), next_cursor }))
}

/// Read one organization by id.
#[utoipa::path(
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrganizationView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id}")]
pub async fn find_organization(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<OrganizationView>, ApiError> {
    let id = id.into_inner();
    let org = state.db(move |conn| Ok(administration::find_organization(conn, &id)?)).await?;
    Ok(web::Json(org.into()))
}
